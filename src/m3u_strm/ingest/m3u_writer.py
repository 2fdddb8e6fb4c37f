"""Write M3U playlists that :mod:`m3u_strm.ingest.m3u` — and IPTV players — read back.

Nothing a provider put into a title or an attribute can break out of its place (FAULTS row 26):

* titles, attribute and directive values lose CR, LF and every other control character (each becomes a space) and
  are stripped, so a title can never start a new ``#EXTINF`` line; control characters in a URL are
  percent-encoded;
* attribute values are written in double quotes; a value holding ``"`` but no ``'`` is written in single quotes;
  a value holding both has its ``"`` replaced by ``'`` — the one lossy case;
* attribute and option keys keep only characters the parser accepts in a key (no whitespace, ``=``, ``,`` or
  quotes); attribute and ``#EXTVLCOPT`` keys are lower-cased; a key left empty is dropped with its value;
* ``entry.group`` wins: it replaces a non-empty ``group-title`` attribute, and is written as ``#EXTGRP`` when the
  entry has none;
* the header's ``epg_urls`` are written as ``x-tvg-url`` unless an EPG attribute (``x-tvg-url``, ``url-tvg``,
  ``tvg-url``) is already among its attributes.

For entries whose text is NFC, stripped, free of control characters and has a non-empty title, and whose URL has an
allowed scheme and no ``|`` header suffix, ``parse_m3u(render_m3u(entries))`` returns the same title, url,
duration, attrs, group, vlc_options and kodi_props (a Hypothesis property in ``tests/ingest``).

>>> from m3u_strm.ingest.m3u import M3UEntry
>>> print(render_m3u([M3UEntry('News, "Live"', "http://h/1.ts", attrs={"tvg-name": 'News, "Live"'})]), end="")
#EXTM3U
#EXTINF:-1 tvg-name='News, "Live"',News, "Live"
http://h/1.ts
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from m3u_strm.ingest.m3u import M3UEntry, PlaylistHeader

__all__ = ["render_m3u", "write_m3u"]

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_NOT_IN_KEY = re.compile(r"""[\s=,"']""")
_EPG_ATTRS = ("x-tvg-url", "url-tvg", "tvg-url")


def write_m3u(entries: Iterable[M3UEntry], header: PlaylistHeader | None = None) -> Iterator[str]:
    """Yield the playlist line by line (each ending in ``\\n``); entries are consumed lazily."""
    yield _header_line(header)
    for entry in entries:
        yield from _entry_lines(entry)


def render_m3u(entries: Iterable[M3UEntry], header: PlaylistHeader | None = None) -> str:
    """The whole playlist as one string."""
    return "".join(write_m3u(entries, header))


def _header_line(header: PlaylistHeader | None) -> str:
    if header is None:
        return "#EXTM3U\n"
    attrs = dict(header.attrs)
    if header.epg_urls and not any(key in attrs for key in _EPG_ATTRS):
        attrs["x-tvg-url"] = ",".join(header.epg_urls)
    return f"#EXTM3U{_attributes(attrs)}\n"


def _entry_lines(entry: M3UEntry) -> Iterator[str]:
    attrs = entry.attrs
    group = _text(entry.group) if entry.group else ""
    if group and attrs.get("group-title") and attrs["group-title"] != group:
        attrs = {**attrs, "group-title": group}
    yield f"#EXTINF:{_duration(entry.duration)}{_attributes(attrs)},{_text(entry.title)}\n"
    if group and not attrs.get("group-title"):
        yield f"#EXTGRP:{group}\n"
    for key, value in entry.vlc_options.items():
        if key := _key(key).lower():
            yield f"#EXTVLCOPT:{key}={_text(value)}\n"
    for key, value in entry.kodi_props.items():
        if key := _key(key):
            yield f"#KODIPROP:{key}={_text(value)}\n"
    yield f"{_url(entry.url)}\n"


def _attributes(attrs: dict[str, str]) -> str:
    written = []
    for key, value in attrs.items():
        if key := _key(key).lower():
            written.append(f" {key}={_quoted(_text(value, strip=False))}")
    return "".join(written)


def _quoted(value: str) -> str:
    if '"' not in value:
        return f'"{value}"'
    if "'" not in value:
        return f"'{value}'"
    return '"{}"'.format(value.replace('"', "'"))


def _duration(duration: float) -> str:
    if not math.isfinite(duration):
        return "-1"
    if duration.is_integer():
        return str(int(duration))
    return format(Decimal(repr(duration)), "f")  # shortest round-trip digits, never an exponent


def _text(text: str, *, strip: bool = True) -> str:
    cleaned = _CONTROL.sub(" ", text) if _CONTROL.search(text) else text
    return cleaned.strip() if strip else cleaned


def _key(key: str) -> str:
    return _NOT_IN_KEY.sub("", _CONTROL.sub("", key))


def _url(url: str) -> str:
    return _CONTROL.sub(lambda match: quote(match.group()), url.strip())
