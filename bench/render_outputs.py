"""How fast are the output renderers at full size, next to a baseline measured in the same run?

Builds (deterministically) ``--channels`` channels and ``--programmes`` programmes spread over them, with some
hostile text (``&``, ``<``, quotes, non-ASCII), and times, best of ``--runs`` with ``time.perf_counter``:

guide (XMLTV)
  (a) baseline: lxml's incremental writer (``etree.xmlfile``) writing the same elements, the library we would
      otherwise use;
  (b) ours: :func:`m3u_strm.outputs.guide.iter_guide`, every chunk consumed.
playlist (M3U)
  (c) baseline: the safe M3U writer it reuses (:func:`m3u_strm.ingest.m3u_writer.write_m3u`) over entries built
      beforehand;
  (d) ours: :func:`m3u_strm.outputs.playlist.render_playlist`, every chunk consumed.

Then prints ``ours / lxml`` (target <= 1.0: hand-written escaping must not be slower than the library) and
``ours / writer`` for the playlist (target <= 3: building entries and the logo and blank-name checks, urlsplit
foremost, cost at most twice the writing itself), with PASS/FAIL, and the peak memory
``tracemalloc`` traces while one more guide is rendered from a generator (target: under 16 MB, i.e. streaming).
Exits 1 when a target is missed.

    .venv/bin/python bench/render_outputs.py [--channels 20000] [--programmes 500000] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from lxml import etree

from m3u_strm.ingest.m3u import M3UEntry, PlaylistHeader
from m3u_strm.ingest.m3u_writer import write_m3u
from m3u_strm.outputs.guide import GuideChannel, GuideProgramme, iter_guide, xmltv_time
from m3u_strm.outputs.playlist import PlaylistChannel, render_playlist

LXML_TARGET = 1.0
PLAYLIST_WRITER_TARGET = 3.0
PEAK_TARGET_BYTES = 16 * 1024 * 1024

_WORDS = ("News", "Sport", "Movies", "Kids", "Music", "Drama", "Comedy", "Docs", "Life", "Plus")
_TITLES = ("Tom & Jerry", "<Live> Football", 'The "Big" Match', "Кино вечером", "أخبار", "Café Culture", "Show")
_T0 = datetime(2024, 6, 1, tzinfo=UTC)


def make_channels(count: int) -> list[GuideChannel]:
    return [
        GuideChannel(f"ch{index}.example", (f"{_WORDS[index % 10]} {index}",), f"http://logos.example/{index}.png")
        for index in range(count)
    ]


def make_programmes(channels: int, count: int, *, seed: int = 20240601) -> Iterator[GuideProgramme]:
    rnd = random.Random(seed)
    per_channel = max(1, count // channels)
    for index in range(count):
        channel, slot = divmod(index, per_channel)
        start = _T0 + timedelta(minutes=30 * slot)
        yield GuideProgramme(
            f"ch{channel % channels}.example",
            start,
            start + timedelta(minutes=30),
            rnd.choice(_TITLES),
            description=f"Episode {slot} of {rnd.choice(_TITLES)}: a description of ordinary length & detail.",
            categories=(rnd.choice(_WORDS),),
            episode_num=f"0.{slot}.",
        )


def ours_guide(channels: list[GuideChannel], programmes: list[GuideProgramme]) -> int:
    return sum(len(chunk) for chunk in iter_guide(channels, programmes))


class _CountingSink:
    """A write-only file that counts bytes, so neither side pays for keeping the document."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)


def lxml_guide(channels: list[GuideChannel], programmes: list[GuideProgramme]) -> int:
    sink = _CountingSink()
    with etree.xmlfile(sink, encoding="UTF-8", buffered=True) as xf:
        xf.write_declaration()
        with xf.element("tv", {"generator-info-name": "bench"}):
            for channel in channels:
                element = etree.Element("channel", id=channel.xmltv_id)
                etree.SubElement(element, "display-name").text = channel.display_names[0]
                etree.SubElement(element, "icon", src=channel.icon or "")
                xf.write(element)
            for programme in programmes:
                attrs = {"start": xmltv_time(programme.start), "channel": programme.channel}
                if programme.stop is not None:
                    attrs["stop"] = xmltv_time(programme.stop)
                element = etree.Element("programme", attrs)
                etree.SubElement(element, "title").text = programme.title
                etree.SubElement(element, "desc").text = programme.description
                for category in programme.categories:
                    etree.SubElement(element, "category").text = category
                etree.SubElement(element, "episode-num", system="xmltv_ns").text = programme.episode_num
                xf.write(element)
    return sink.size


def make_playlist(count: int) -> list[PlaylistChannel]:
    return [
        PlaylistChannel(
            index,
            f"{_TITLES[index % len(_TITLES)]} {index}",
            f"http://192.168.1.5:8000/play/pb_token/live/{index}",
            tvg_id=f"ch{index}.example",
            logo=f"http://logos.example/{index}.png",
            group=f"{_WORDS[index % 10]} | Group",
            chno=index,
            suffix=" (FHD)" if index % 3 == 0 else None,
        )
        for index in range(count)
    ]


def ours_playlist(channels: list[PlaylistChannel]) -> int:
    return sum(len(chunk) for chunk in render_playlist(channels, epg_url="http://gw/epg.xml"))


def writer_entries(channels: list[PlaylistChannel]) -> list[M3UEntry]:
    return [
        M3UEntry(
            f"{c.name}{c.suffix or ''}",
            c.url,
            attrs={
                "tvg-id": c.tvg_id or "",
                "tvg-name": c.name,
                "tvg-logo": c.logo or "",
                "group-title": c.group or "",
                "tvg-chno": str(c.chno),
            },
        )
        for c in channels
    ]


def writer_playlist(entries: list[M3UEntry]) -> int:
    return sum(map(len, write_m3u(entries, PlaylistHeader(epg_urls=["http://gw/epg.xml"]))))


def best_of(runs: int, function: Callable[[], int]) -> tuple[float, int]:
    best, result = float("inf"), 0
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_streaming_bytes(channels: list[GuideChannel], count: int) -> int:
    """Peak traced memory while a guide is rendered from a programme generator and thrown away chunk by chunk."""
    tracemalloc.start()
    try:
        deque(iter_guide(channels, make_programmes(len(channels), count)), maxlen=0)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=20_000)
    parser.add_argument("--programmes", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    channels = make_channels(args.channels)
    programmes = list(make_programmes(args.channels, args.programmes))
    playlist = make_playlist(args.channels)
    lxml_s, lxml_bytes = best_of(args.runs, lambda: lxml_guide(channels, programmes))
    ours_s, ours_bytes = best_of(args.runs, lambda: ours_guide(channels, programmes))
    entries = writer_entries(playlist)
    writer_s, writer_chars = best_of(args.runs, lambda: writer_playlist(entries))
    playlist_s, playlist_chars = best_of(args.runs, lambda: ours_playlist(playlist))
    peak = peak_streaming_bytes(channels, args.programmes)

    print(f"{args.channels:,} channels, {args.programmes:,} programmes, best of {args.runs} runs")
    print(f"{'what':<40}{'seconds':>10}{'output':>16}")
    print(f"{'(a) guide, lxml etree.xmlfile':<40}{lxml_s:>10.3f}{lxml_bytes:>16,} bytes")
    print(f"{'(b) guide, iter_guide':<40}{ours_s:>10.3f}{ours_bytes:>16,} bytes")
    print(f"{'(c) playlist, write_m3u, entries built':<40}{writer_s:>10.3f}{writer_chars:>16,} chars")
    print(f"{'(d) playlist, render_playlist':<40}{playlist_s:>10.3f}{playlist_chars:>16,} chars")
    guide_ratio, playlist_ratio = ours_s / lxml_s, playlist_s / writer_s
    checks = [
        (f"guide ours / lxml      = {guide_ratio:5.2f}  (target <= {LXML_TARGET})", guide_ratio <= LXML_TARGET),
        (
            f"playlist ours / writer = {playlist_ratio:5.2f}  (target <= {PLAYLIST_WRITER_TARGET})",
            playlist_ratio <= PLAYLIST_WRITER_TARGET,
        ),
        (f"guide peak memory      = {peak / 1e6:5.2f} MB (target < 16 MB)", peak < PEAK_TARGET_BYTES),
    ]
    for line, ok in checks:
        print(f"{line}  {verdict(ok)}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
