"""The M3U playlist we serve to players (TiviMate, Jellyfin, Emby, Plex via xTeVe-style tuners).

Rules:

* Every URL is the caller's: it is already our gateway URL (``{base_url}/play/{token}/live/{channel_id}``), never a
  provider's, and is written as given.
* The header is ``#EXTM3U x-tvg-url="<epg_url>"`` (plain ``#EXTM3U`` without a guide URL).
* Each channel is one ``#EXTINF:-1`` line with ``tvg-id``, ``tvg-name``, ``tvg-logo``, ``group-title`` and
  ``tvg-chno`` (each only when it has a value), then the title, then the URL. The title is ``name + suffix``
  (``"BBC One" + " (FHD)"``); ``tvg-name`` falls back to the name without the suffix, so guide matching by name
  still finds the channel; a name that is blank once cleaned falls back to ``tvg_name``, then to ``Channel <chno>``
  (or ``Channel <channel_id>``), because an empty title would make players show the URL.
* Logos: only ``http`` and ``https`` URLs with a host survive (:func:`safe_logo`); ``javascript:``, ``data:``,
  ``file:`` and URLs holding control characters are dropped (FAULTS 26).
* Escaping is not done here: :mod:`m3u_strm.ingest.m3u_writer` strips newlines and control characters and quotes
  attribute values, so no name can start a new ``#EXTINF`` line or break out of its attribute.
* Output is streamed in chunks of about 64 KiB; nothing holds the whole playlist.

>>> chunks = render_playlist([PlaylistChannel(1, "News", "http://gw/play/t/live/1", chno=1)], epg_url=None)
>>> print("".join(chunks), end="")
#EXTM3U
#EXTINF:-1 tvg-name="News" tvg-chno="1",News
http://gw/play/t/live/1
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from m3u_strm.chunks import CHUNK_CHARS, batched_text
from m3u_strm.ingest.m3u import M3UEntry, PlaylistHeader
from m3u_strm.ingest.m3u_text import clean_text
from m3u_strm.ingest.m3u_writer import write_m3u

__all__ = ["PlaylistChannel", "render_playlist", "safe_logo"]

_LOGO_SCHEMES = frozenset({"http", "https"})
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class PlaylistChannel:
    """One playlist line as the player sees it; ``url`` is already the gateway URL."""

    channel_id: int
    name: str
    url: str
    tvg_id: str | None = None
    tvg_name: str | None = None
    logo: str | None = None
    group: str | None = None
    chno: int | None = None
    suffix: str | None = None  # multi-quality variants: " (FHD)" gives "BBC One (FHD)"


def safe_logo(url: str | None) -> str | None:
    """The logo URL when players may fetch it (``http``/``https`` with a host), else ``None``.

    A logo is fetched by every player that shows the playlist, so a ``javascript:`` or ``file:`` URL from a
    provider must never reach it (FAULTS 26).

    >>> safe_logo(" https://logos.example/bbc1.png "), safe_logo("javascript:alert(1)"), safe_logo("data:image/png,x")
    ('https://logos.example/bbc1.png', None, None)
    """
    if not url:
        return None
    url = url.strip()
    if _CONTROL.search(url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    if parts.scheme.lower() not in _LOGO_SCHEMES or not host:
        return None
    return url


def render_playlist(channels: Iterable[PlaylistChannel], *, epg_url: str | None) -> Iterator[str]:
    """The playlist as text chunks of about 64 KiB, channels consumed lazily (for a ``StreamingResponse``)."""
    header = PlaylistHeader(epg_urls=[epg_url] if epg_url else [])
    lines = write_m3u((_entry(channel) for channel in channels), header)
    return batched_text(lines, CHUNK_CHARS)


def _entry(channel: PlaylistChannel) -> M3UEntry:
    candidates = (
        ("tvg-id", channel.tvg_id),
        ("tvg-name", _visible(channel.tvg_name) or channel.name),
        ("tvg-logo", safe_logo(channel.logo)),
        ("group-title", channel.group),
        ("tvg-chno", None if channel.chno is None else str(channel.chno)),
    )
    attrs = {key: shown for key, value in candidates if (shown := _visible(value))}  # blank ones are left out
    return M3UEntry(title=_title(channel), url=channel.url, attrs=attrs)


def _title(channel: PlaylistChannel) -> str:
    number = channel.channel_id if channel.chno is None else channel.chno
    name = _visible(channel.name) or _visible(channel.tvg_name) or f"Channel {number}"
    return f"{name}{channel.suffix or ''}"


def _visible(text: str | None) -> str | None:
    """``text`` when something is left of it once the writer and parser have cleaned it, else ``None``."""
    return text if text and clean_text(text) else None
