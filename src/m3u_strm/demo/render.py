"""The fake provider's answers, rendered from its catalogue: M3U playlists, XMLTV guides, JSON arrays, media, logos.

Large answers are generators of small strings that :func:`chunked` joins into ~64 KiB pieces, so a playlist of a
million channels is never held whole::

    StreamingResponse(chunked(m3u_lines(catalogue, PlaylistStyle(base, None), f"{base}/epg.xml")))
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from m3u_strm.chunks import batched_text
from m3u_strm.demo.catalogue import CategoryKind, FakeCatalogue
from m3u_strm.demo.names import LIVE_CHANNELS
from m3u_strm.demo.xtream_wire import dumps_php

TS_PACKET = 188
_EPG_NAMES = {epg: display for channels in LIVE_CHANNELS.values() for _, display, epg in channels}
_KINDS: tuple[CategoryKind, ...] = ("live", "vod", "series")
_PROGRAMME_TITLES = ("Morning News", "Live: Premier League", "The Late Show", "Documentary: Oceans", "Film: Heat")


def chunked(pieces: Iterable[str]) -> Iterator[bytes]:
    """Join small strings into ~64 KiB chunks: few enough sends to be fast, small enough to keep memory flat."""
    return (text.encode("utf-8") for text in batched_text(pieces))


def _attr(value: str | None) -> str:
    return (value or "").replace('"', "'")


@dataclass(frozen=True)
class PlaylistStyle:
    base: str
    credentials: tuple[str, str] | None  # Xtream-style URLs with credentials, else public /stream/ URLs
    plus: bool = True  # m3u_plus attributes, or bare "#EXTINF:-1,Name"
    live_ext: str = "ts"

    def url(self, kind: str, item_id: int, ext: str) -> str:
        if self.credentials is None:
            return (
                f"{self.base}/stream/{item_id}.{ext}"
                if kind == "live"
                else f"{self.base}/stream/{kind}/{item_id}.{ext}"
            )
        user, password = (quote(part, safe="") for part in self.credentials)
        return f"{self.base}/{kind}/{user}/{password}/{item_id}.{ext}"

    def entry(self, name: str, url: str, *, group: str, tvg_id: str | None, logo: str | None, chno: int | None) -> str:
        if not self.plus:
            return f"#EXTINF:-1,{name}\n{url}\n"
        number = f' tvg-chno="{chno}"' if chno is not None else ""
        logo_url = f"{self.base}{logo}" if logo else ""
        return (
            f'#EXTINF:-1 tvg-id="{_attr(tvg_id)}" tvg-name="{_attr(name)}" tvg-logo="{logo_url}"{number} '
            f'group-title="{_attr(group)}",{name}\n{url}\n'
        )


def m3u_lines(catalogue: FakeCatalogue, style: PlaylistStyle, epg_url: str) -> Iterator[str]:
    """The whole playlist, line by line: live channels, then movies, then series episodes."""
    yield f'#EXTM3U x-tvg-url="{epg_url}" url-tvg="{epg_url}"\n'
    groups = {c.id: c.name for kind in _KINDS for c in catalogue.categories(kind)}
    for live in catalogue.iter_live():
        url = style.url("live", live.stream_id, style.live_ext)
        group = groups[live.category_id]
        yield style.entry(live.name, url, group=group, tvg_id=live.epg_channel_id, logo=live.icon, chno=live.num)
    for movie in catalogue.iter_movies():
        url = style.url("movie", movie.stream_id, movie.container_extension)
        yield style.entry(movie.name, url, group=groups[movie.category_id], tvg_id=None, logo=movie.icon, chno=None)
    for show in catalogue.iter_series():
        for episode in catalogue.episodes_of(show.series_id):
            url = style.url("series", episode.id, episode.container_extension)
            group = groups[show.category_id]
            yield style.entry(episode.title, url, group=group, tvg_id=None, logo=show.cover, chno=None)


def json_array(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A JSON array written record by record, as PHP's json_encode would write it whole."""
    yield "["
    first = True
    for record in records:
        yield dumps_php(record) if first else "," + dumps_php(record)
        first = False
    yield "]"


def xmltv_lines(catalogue: FakeCatalogue, base: str, now: datetime | None = None) -> Iterator[str]:
    """A small guide: each EPG id found in the catalogue, with four programmes around the current hour."""
    start = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    yield '<?xml version="1.0" encoding="UTF-8"?>\n<tv generator-info-name="m3u-strm fake provider">\n'
    seen: list[str] = []
    for live in catalogue.iter_live():
        epg = live.epg_channel_id
        if epg and epg not in seen:
            seen.append(epg)
            logo = f"\n    <icon src={quoteattr(base + live.icon)}/>" if live.icon else ""
            name = escape(_EPG_NAMES.get(epg, live.name))
            yield f"  <channel id={quoteattr(epg)}>\n    <display-name>{name}</display-name>{logo}\n  </channel>\n"
            if len(seen) == len(_EPG_NAMES):
                break
    for n, epg in enumerate(seen):
        begin = start
        for p in range(4):
            end = begin + timedelta(minutes=60 + 30 * ((n + p) % 3))
            title = escape(_PROGRAMME_TITLES[(n + p) % len(_PROGRAMME_TITLES)])
            yield (
                f'  <programme start="{begin:%Y%m%d%H%M%S} +0000" stop="{end:%Y%m%d%H%M%S} +0000" '
                f"channel={quoteattr(epg)}>\n    <title>{title}</title>\n"
                f"    <desc>Programme {p + 1} on {escape(epg)}.</desc>\n  </programme>\n"
            )
            begin = end
    yield "</tv>\n"


def media_bytes(stream_id: int, packets: int = 64) -> bytes:
    """A short body of MPEG-TS-looking packets (188 bytes, sync byte 0x47, PID 0x100) unique to the stream."""
    out = bytearray()
    for n in range(packets):
        start = 0x40 if n == 0 else 0x00  # payload_unit_start_indicator on the first packet
        header = bytes((0x47, start | 0x01, 0x00, 0x10 | (n & 0x0F)))
        pattern = stream_id.to_bytes(8, "big") + n.to_bytes(4, "big")
        out += header + (pattern * (TS_PACKET // len(pattern) + 1))[: TS_PACKET - len(header)]
    return bytes(out)


def logo_png(name: str, size: int = 16) -> bytes:
    """A tiny solid-colour PNG whose colour depends on ``name`` (so logos differ in the demo UI)."""
    colour = zlib.crc32(name.encode()).to_bytes(4, "big")[:3]
    raw = b"".join(b"\x00" + colour * size for _ in range(size))

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def gzipped(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The chunks as one gzip file (not a Content-Encoding), compressed as they pass."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    for chunk in chunks:
        if out := compressor.compress(chunk):
            yield out
    yield compressor.flush()
