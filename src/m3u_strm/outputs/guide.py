"""The XMLTV guide we serve next to the playlist, written as a stream of bytes.

Rules (checked by ``tv_validate_file`` from xmltv-util in ``tests/outputs/test_guide.py``):

* **Document.** UTF-8, an XML declaration, ``<!DOCTYPE tv SYSTEM "xmltv.dtd">`` and ``<tv generator-info-name>``;
  all ``<channel>`` elements come before all ``<programme>`` elements, as the DTD requires.
* **Channels.** ``<channel id>`` with its display names (blank ones dropped; the id itself when none is left, since
  the DTD wants at least one) and an ``<icon src>`` when :func:`~m3u_strm.outputs.playlist.safe_logo` keeps it.
  A channel whose id is blank or was already written is skipped.
* **Programmes.** Children in DTD order: ``title``, ``sub-title``, ``desc``, ``category``\\*, ``icon``,
  ``episode-num``. A programme is skipped when its title is blank (the DTD requires one) or its channel was not
  among the channels written (``tv_validate_file`` rejects unknown ids, and players could not place it anyway).
  Blank sub-titles, descriptions and categories are left out (an empty ``<desc>`` is an error to the validator).
* **Times** are ``YYYYMMDDHHMMSS +0000``, converted to UTC; a naive datetime is a bug in the caller and raises
  ``ValueError``. A ``stop`` that is not after ``start`` is left out rather than written as a negative duration.
* **Episode numbers** are stored as free text. A value in the ``xmltv_ns`` grammar (``season.episode.part``,
  zero-based, each part optionally ``n/total``: ``1.4.``, ``0/3.12/24.0/1``) is written with
  ``system="xmltv_ns"``, anything else (``S02E05``) with ``system="onscreen"`` — the same choice the reader in
  :mod:`m3u_strm.ingest.xmltv` makes when it picks a value, so a guide survives a round trip.
* **Text.** Stripped; characters XML 1.0 forbids (C0 controls other than tab and line feed, lone surrogates,
  U+FFFE/U+FFFF) are removed, and so are DEL and the C1 controls (U+0080-U+009F), which XML allows but which are
  never text and which ``tv_validate_file`` reports as mis-encoded. A carriage return becomes a line feed.
  ``& < >`` are escaped everywhere, ``"`` too in attributes, where tab and line feed become spaces.
* **Streaming.** :func:`iter_guide` yields chunks of about 64 KiB and consumes channels and programmes lazily;
  memory does not grow with the guide, except for the set of channel ids written.

>>> from datetime import UTC, datetime
>>> channels = [GuideChannel("bbc1.uk", ("BBC One",))]
>>> programmes = [GuideProgramme("bbc1.uk", datetime(2024, 6, 1, 18, tzinfo=UTC), None, "News & Sport")]
>>> print(b"".join(iter_guide(channels, programmes)).decode(), end="")
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE tv SYSTEM "xmltv.dtd">
<tv generator-info-name="M3U-STRM-Processor">
  <channel id="bbc1.uk">
    <display-name>BBC One</display-name>
  </channel>
  <programme start="20240601180000 +0000" channel="bbc1.uk">
    <title>News &amp; Sport</title>
  </programme>
</tv>
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from m3u_strm.chunks import CHUNK_CHARS, batched_text
from m3u_strm.outputs.playlist import safe_logo

__all__ = [
    "GuideChannel",
    "GuideProgramme",
    "episode_system",
    "iter_guide",
    "write_guide",
    "xml_attr",
    "xml_text",
    "xmltv_time",
]

_NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_XMLTV_NS = re.compile(r"\s*\d*(?:\s*/\s*\d+)?\s*\.\s*\d*(?:\s*/\s*\d+)?\s*\.\s*\d*(?:\s*/\s*\d+)?\s*")


@dataclass(frozen=True, slots=True)
class GuideChannel:
    """A ``<channel>``; ``xmltv_id`` is the ``tvg-id`` our playlist gives the same channel."""

    xmltv_id: str
    display_names: tuple[str, ...]
    icon: str | None = None


@dataclass(frozen=True, slots=True)
class GuideProgramme:
    """A ``<programme>`` on the channel whose ``xmltv_id`` is ``channel``; times are timezone-aware."""

    channel: str
    start: datetime
    stop: datetime | None
    title: str
    sub_title: str | None = None
    description: str | None = None
    categories: tuple[str, ...] = ()
    episode_num: str | None = None
    icon: str | None = None


def write_guide(
    out: BinaryIO,
    channels: Iterable[GuideChannel],
    programmes: Iterable[GuideProgramme],
    *,
    generator: str = "M3U-STRM-Processor",
) -> None:
    """Write the guide to a binary file object, chunk by chunk."""
    for chunk in iter_guide(channels, programmes, generator=generator):
        out.write(chunk)


def iter_guide(
    channels: Iterable[GuideChannel],
    programmes: Iterable[GuideProgramme],
    *,
    generator: str = "M3U-STRM-Processor",
) -> Iterator[bytes]:
    """The guide as UTF-8 chunks of about 64 KiB (for a ``StreamingResponse``); the same bytes as :func:`write_guide`.

    ``programmes`` is not touched until every channel is written, so it may be a query that runs after the
    channel query.
    """
    return (text.encode() for text in batched_text(_guide_parts(channels, programmes, generator), CHUNK_CHARS))


def xml_text(value: str) -> str:
    """``value`` as XML character data: stripped, characters XML cannot carry removed, ``& < >`` escaped.

    >>> xml_text(" <b>Tom & Jerry</b>\\x07 ")
    '&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;'
    """
    if _NOT_XML_TEXT.search(value):
        value = _NOT_XML_TEXT.sub("", value)
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = value.strip()
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    return value


def xml_attr(value: str) -> str:
    """``value`` for a double-quoted attribute: :func:`xml_text`, ``"`` escaped, tab and line breaks as spaces."""
    value = xml_text(value)
    if '"' in value:
        value = value.replace('"', "&quot;")
    if "\n" in value or "\t" in value:
        value = value.replace("\n", " ").replace("\t", " ")
    return value


def xmltv_time(moment: datetime) -> str:
    """``YYYYMMDDHHMMSS +0000`` in UTC.

    >>> from datetime import timedelta, timezone
    >>> xmltv_time(datetime(2024, 3, 31, 2, 30, tzinfo=timezone(timedelta(hours=2))))
    '20240331003000 +0000'
    """
    if moment.utcoffset() is None:
        raise ValueError(f"XMLTV times need a timezone; got the naive datetime {moment.isoformat()}")
    utc = moment.astimezone(UTC)
    return f"{utc.year:04d}{utc.month:02d}{utc.day:02d}{utc.hour:02d}{utc.minute:02d}{utc.second:02d} +0000"


def episode_system(episode_num: str) -> str:
    """``xmltv_ns`` when the value follows that grammar, else ``onscreen``.

    >>> episode_system("1.4.0/1"), episode_system("S02E05")
    ('xmltv_ns', 'onscreen')
    """
    return "xmltv_ns" if _XMLTV_NS.fullmatch(episode_num) else "onscreen"


# --- the document, as a stream of str parts ------------------------------------------------------------------


def _guide_parts(
    channels: Iterable[GuideChannel], programmes: Iterable[GuideProgramme], generator: str
) -> Iterator[str]:
    yield (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">\n'
        f'<tv generator-info-name="{xml_attr(generator)}">\n'
    )
    written: set[str] = set()
    for channel in channels:
        channel_id = xml_attr(channel.xmltv_id)
        if channel_id and channel_id not in written:
            written.add(channel_id)
            yield _channel_xml(channel_id, channel)
    for programme in programmes:
        if (part := _programme_xml(programme, written)) is not None:
            yield part
    yield "</tv>\n"


def _channel_xml(channel_id: str, channel: GuideChannel) -> str:
    names = [name for name in map(xml_text, channel.display_names) if name]
    lines = [f'  <channel id="{channel_id}">\n']
    lines.extend(f"    <display-name>{name}</display-name>\n" for name in dict.fromkeys(names or [channel_id]))
    if icon := _icon(channel.icon):
        lines.append(icon)
    lines.append("  </channel>\n")
    return "".join(lines)


def _programme_xml(programme: GuideProgramme, channels: set[str]) -> str | None:
    channel_id = xml_attr(programme.channel)
    title = xml_text(programme.title)
    if not title or channel_id not in channels:
        return None
    start = xmltv_time(programme.start)
    stop = ""
    if programme.stop is not None:
        stop_time = xmltv_time(programme.stop)  # first, so a naive stop fails as a naive start does
        if programme.stop > programme.start:
            stop = f' stop="{stop_time}"'
    lines = [f'  <programme start="{start}"{stop} channel="{channel_id}">\n', f"    <title>{title}</title>\n"]
    if programme.sub_title and (sub_title := xml_text(programme.sub_title)):
        lines.append(f"    <sub-title>{sub_title}</sub-title>\n")
    if programme.description and (description := xml_text(programme.description)):
        lines.append(f"    <desc>{description}</desc>\n")
    categories = [category for category in map(xml_text, programme.categories) if category]
    lines.extend(f"    <category>{category}</category>\n" for category in dict.fromkeys(categories))
    if icon := _icon(programme.icon):
        lines.append(icon)
    if programme.episode_num and (episode := xml_text(programme.episode_num)):
        lines.append(f'    <episode-num system="{episode_system(episode)}">{episode}</episode-num>\n')
    lines.append("  </programme>\n")
    return "".join(lines)


def _icon(url: str | None) -> str | None:
    safe = safe_logo(url)
    return f'    <icon src="{xml_attr(safe)}"/>\n' if safe else None
