"""HLS for the fake provider, Xtream style: live and VOD media playlists, a master playlist, and their segments.

The rules:

* **Segments** are :data:`SEGMENT_SECONDS` of real MPEG-TS made with PyAV (:func:`m3u_strm.demo.media.hls`: test
  pattern and tone, or a broken ``kind``). One segment is encoded per media kind and rendition and cached; each
  segment served is that body *remuxed* (not encoded again, a few milliseconds) with its timestamps moved to where
  it sits in the stream, so timestamps run on from one segment to the next as a player or a quality probe expects.
* **Live**: the media sequence number is wall-clock time over :data:`SEGMENT_SECONDS`; a playlist lists the
  :data:`LIVE_WINDOW` newest segments and so slides forward with time. A segment stays available for
  :data:`LIVE_RETAIN` segments after its time (404 after that, and for segments more than one ahead). MPEG-TS
  timestamps wrap after about 26 hours, so they start again every :data:`TIMESTAMP_CYCLE` segments, with
  ``#EXT-X-DISCONTINUITY`` before that segment and ``#EXT-X-DISCONTINUITY-SEQUENCE`` counting those that have
  slid out of the window.
* **VOD**: :data:`VOD_SEGMENTS` segments, ``#EXT-X-PLAYLIST-TYPE:VOD`` and ``#EXT-X-ENDLIST``.
* **Master**: one ``#EXT-X-STREAM-INF`` per rendition in :data:`RENDITIONS` (``BANDWIDTH`` measured from the
  encoded segment, ``RESOLUTION`` as encoded: a ``placeholder`` is always tiny).

URLs are relative, resolved against the playlist's own URL (``<kind>`` is ``live``, ``movie`` or ``series``)::

    /<kind>/<user>/<pass>/<id>.m3u8            media playlist of the "low" rendition, segments "<id>/<n>.ts"
    /live/<user>/<pass>/<id>/master.m3u8       master playlist: "low.m3u8", "high.m3u8"
    /live/<user>/<pass>/<id>/<rendition>.m3u8  media playlist of that rendition, segments "<rendition>-<n>.ts"
    /<kind>/<user>/<pass>/<id>/<n>.ts          a segment ("<rendition>-<n>.ts" for another rendition)

>>> print(live_playlist(now=20.0, prefix="1/"), end="")  # doctest: +ELLIPSIS
#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-DISCONTINUITY-SEQUENCE:0
#EXTINF:2.000,
1/7.ts
...
1/10.ts
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from functools import lru_cache

import av

from m3u_strm.demo.media import PLACEHOLDER_SIZE, MediaKind, hls

__all__ = [
    "LIVE_WINDOW", "RENDITIONS", "SEGMENT_SECONDS", "VOD_SEGMENTS", "Rendition", "SegmentName", "live_playlist",
    "live_segment_available", "live_sequence", "master_playlist", "parse_segment", "segment_bytes", "vod_playlist",
]  # fmt: skip

SEGMENT_SECONDS = 2.0
LIVE_WINDOW = 4
LIVE_RETAIN = 30
VOD_SEGMENTS = 5
TIMESTAMP_CYCLE = 3600  # segments: two hours of timestamps, far below MPEG-TS's 2**33 / 90 kHz wrap
_SEGMENT_NAME = re.compile(r"(?:(?P<rendition>[a-z]+)-)?(?P<number>\d{1,12})\.ts")


@dataclass(frozen=True, slots=True)
class Rendition:
    name: str
    width: int
    height: int
    video_kbps: int | None  # None: the encoder picks by quality (a steady picture stays steady)


RENDITIONS = (Rendition("low", 640, 360, 800), Rendition("high", 1280, 720, 2500))
_BY_NAME = {rendition.name: rendition for rendition in RENDITIONS}
DEFAULT_RENDITION = RENDITIONS[0]
#: The plain live ``.ts`` of the fake provider: quality-based encoding, so a frozen picture decodes as frozen (a
#: bitrate target makes the encoder refine a still picture after each key frame, which reads as movement).
LIVE_TS = Rendition("ts", 640, 360, None)


@dataclass(frozen=True, slots=True)
class SegmentName:
    """A segment's file name taken apart: ``"7.ts"`` is segment 7 of the default rendition."""

    rendition: Rendition
    number: int


def rendition(name: str) -> Rendition | None:
    return _BY_NAME.get(name)


def parse_segment(file: str) -> SegmentName | None:
    """``"12.ts"`` or ``"high-12.ts"``; ``None`` for any other name (an unknown rendition included)."""
    match = _SEGMENT_NAME.fullmatch(file)
    if match is None:
        return None
    chosen = _BY_NAME.get(match["rendition"]) if match["rendition"] else DEFAULT_RENDITION
    return SegmentName(chosen, int(match["number"])) if chosen else None


def live_sequence(now: float) -> int:
    """The newest live segment at wall-clock time ``now`` (seconds since the epoch)."""
    return int(now // SEGMENT_SECONDS)


def live_segment_available(number: int, now: float) -> bool:
    newest = live_sequence(now)
    return newest - LIVE_RETAIN <= number <= newest + 1


def _header(first: int) -> str:
    return (
        f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{math.ceil(SEGMENT_SECONDS)}\n"
        f"#EXT-X-MEDIA-SEQUENCE:{first}\n"
    )


def _entry(prefix: str, number: int) -> str:
    return f"#EXTINF:{SEGMENT_SECONDS:.3f},\n{prefix}{number}.ts\n"


def live_playlist(*, now: float, prefix: str) -> str:
    """The live media playlist at ``now``: the newest :data:`LIVE_WINDOW` segments, named ``<prefix><n>.ts``."""
    newest = live_sequence(now)
    first = max(0, newest - LIVE_WINDOW + 1)
    lines = [_header(first), f"#EXT-X-DISCONTINUITY-SEQUENCE:{max(0, first - 1) // TIMESTAMP_CYCLE}\n"]
    for number in range(first, newest + 1):
        if number and number % TIMESTAMP_CYCLE == 0:
            lines.append("#EXT-X-DISCONTINUITY\n")
        lines.append(_entry(prefix, number))
    return "".join(lines)


def vod_playlist(prefix: str) -> str:
    """A VOD media playlist of :data:`VOD_SEGMENTS` segments named ``<prefix><n>.ts``."""
    entries = "".join(_entry(prefix, number) for number in range(VOD_SEGMENTS))
    return f"{_header(0)}#EXT-X-PLAYLIST-TYPE:VOD\n{entries}#EXT-X-ENDLIST\n"


def master_playlist(kind: MediaKind) -> str:
    """Every rendition, best last (as panels list them); encodes the segments on first use to measure them."""
    lines = ["#EXTM3U\n#EXT-X-VERSION:3\n"]
    for choice in RENDITIONS:
        width, height = PLACEHOLDER_SIZE if kind == "placeholder" else (choice.width, choice.height)
        bandwidth = math.ceil(len(_encoded(kind, choice)) * 8 / SEGMENT_SECONDS)
        lines.append(f"#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={width}x{height}\n{choice.name}.m3u8\n")
    return "".join(lines)


def segment_bytes(kind: MediaKind, choice: Rendition, number: int) -> bytes:
    """Segment ``number`` of a stream: the cached encoded segment with its timestamps moved to its place."""
    return _placed(kind, choice, number % TIMESTAMP_CYCLE)


@lru_cache(maxsize=16)
def _encoded(kind: MediaKind, choice: Rendition) -> bytes:
    package = hls(SEGMENT_SECONDS, 1, width=choice.width, height=choice.height, kind=kind,
                  video_kbps=choice.video_kbps)  # fmt: skip
    return package.segments[0]


@lru_cache(maxsize=64)
def _placed(kind: MediaKind, choice: Rendition, slot: int) -> bytes:
    """Remux the encoded segment so that it starts ``slot`` segments into the stream's timeline."""
    out = io.BytesIO()
    options = {"output_ts_offset": f"{slot * SEGMENT_SECONDS:.6f}"}
    with (
        av.open(io.BytesIO(_encoded(kind, choice)), "r") as source,
        av.open(out, "w", format="mpegts", container_options=options) as target,
    ):
        streams = {stream.index: target.add_stream_from_template(stream) for stream in source.streams}
        for packet in source.demux():
            if packet.dts is None:  # the demuxer's empty flush packets
                continue
            packet.stream = streams[packet.stream.index]
            target.mux(packet)
    return out.getvalue()
