"""How fast is the M3U parser, next to the floor and to the library we replaced?

Generates (deterministically) an Xtream-style playlist — ``#EXTM3U x-tvg-url=...``, then per entry
``#EXTINF:-1 tvg-id tvg-name tvg-logo group-title,Title`` and ``http://host:8080/live/user/pass/<id>.ts``, with some
titles holding commas, some ``tvg-name`` values single-quoted around double quotes, and non-ASCII group names —
writes it to a temporary file and times, best of ``--runs`` with ``time.perf_counter``:

(a) the floor: ``open(path).read().splitlines()`` (read, decode and split, all in C);
(b) ours: :func:`m3u_strm.ingest.m3u.iter_m3u` over the file read in 64 KiB chunks, every entry built and
    handed out (the report counts them);
(c) ``ipytv.playlist.loadf(path)`` (m3u-ipytv), timed once per run as well.

Then prints the ratios ``ipytv / ours`` (target >= 7) and ``ours / floor`` (target <= 2.5) with PASS/FAIL, and the
peak memory traced by ``tracemalloc`` during one more (untimed) run of ours. It is a report, not a test: it always
exits 0. Timings on a shared machine are noisy; raise ``--runs`` for steadier minima.

    .venv/bin/python bench/parse_m3u.py [--entries 100000] [--runs 5] [--skip-ipytv]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import tracemalloc
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from m3u_strm.ingest.m3u import ParseReport, iter_m3u

CHUNK_BYTES = 64 * 1024
IPYTV_TARGET = 7.0
FLOOR_TARGET = 2.5

_WORDS = ("News", "Sport", "Movies", "Kids", "Music", "Drama", "Comedy", "Docs", "Life", "Plus")
_GROUPS = ("UK | Entertainment", "US | News", "DE | Sport", "FR | Cinéma", "RU | Кино", "Kids' Zone", "AR | أخبار")


def generate_playlist(entries: int, *, seed: int = 20240601) -> bytes:
    """A ~250-bytes-per-entry Xtream-style playlist; the same bytes for the same arguments."""
    rnd = random.Random(seed)
    lines = [
        '#EXTM3U x-tvg-url="http://epg.example-provider.tv/xmltv.php, http://epg2.example.tv/guide.xml.gz" '
        'url-tvg="http://epg.example-provider.tv/xmltv.php"\n'
    ]
    for index in range(entries):
        stream_id = 10_000 + index
        word = rnd.choice(_WORDS)
        shape = rnd.random()
        if shape < 0.05:
            title = f"{word} {stream_id}, Weather & Sport HD"
            name = f'tvg-name="{title}"'
        elif shape < 0.08:
            title = f'Das "{word}" {stream_id}'
            name = f"tvg-name='{title}'"
        elif shape < 0.12:
            title = f"Канал {word} {stream_id} ÜHD"
            name = f'tvg-name="{title}"'
        else:
            title = f"UK: {word} Channel {stream_id} HD"
            name = f'tvg-name="{title}"'
        logo = f"http://logos.example-provider.tv:8080/images/logos/{word.lower()}_{stream_id}_hd_logo.png"
        lines.append(
            f'#EXTINF:-1 tvg-id="{word.lower()}{stream_id}.uk" {name} tvg-logo="{logo}" '
            f'group-title="{rnd.choice(_GROUPS)}",{title}\n'
            f"http://line.example-provider.tv:8080/live/user{stream_id % 97}/pass{stream_id % 89}/{stream_id}.ts\n"
        )
    return "".join(lines).encode("utf-8")


def read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk


def floor_split(path: Path) -> int:
    with path.open(encoding="utf-8") as handle:
        return len(handle.read().splitlines())


def ours(path: Path) -> int:
    reports: list[ParseReport] = []
    deque(iter_m3u(read_chunks(path), source="bench", report_to=reports), maxlen=0)  # consume at C speed
    return reports[0].entries


def ipytv_loadf(path: Path) -> int:
    from ipytv import playlist

    return int(playlist.loadf(str(path)).length())


def best_of(runs: int, function: Callable[[Path], int], path: Path) -> tuple[float, int]:
    best, result = float("inf"), 0
    for _ in range(runs):
        start = time.perf_counter()
        result = function(path)
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_traced_bytes(path: Path) -> int:
    tracemalloc.start()
    try:
        ours(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-ipytv", action="store_true", help="ipytv takes seconds per run")
    args = parser.parse_args()

    data = generate_playlist(args.entries)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench.m3u"
        path.write_bytes(data)
        print(f"playlist: {args.entries:,} entries, {len(data) / 1e6:.1f} MB, best of {args.runs} runs")
        # Interleave the runs so that load from other processes hits all three alike.
        timings: dict[str, list[float]] = {"floor": [], "ours": [], "ipytv": []}
        counts: dict[str, int] = {}
        functions = {"floor": floor_split, "ours": ours, "ipytv": ipytv_loadf}
        if args.skip_ipytv:
            del functions["ipytv"]
        for _ in range(args.runs):
            for name, function in functions.items():
                seconds, counts[name] = best_of(1, function, path)
                timings[name].append(seconds)
        best = {name: min(values) for name, values in timings.items() if values}
        peak = peak_traced_bytes(path)

    print(f"{'what':<34}{'seconds':>10}{'result':>12}")
    print(f"{'(a) open().read().splitlines()':<34}{best['floor']:>10.3f}{counts['floor']:>12,} lines")
    print(f"{'(b) iter_m3u, 64 KiB chunks':<34}{best['ours']:>10.3f}{counts['ours']:>12,} entries")
    if "ipytv" in best:
        print(f"{'(c) ipytv.playlist.loadf':<34}{best['ipytv']:>10.3f}{counts['ipytv']:>12,} entries")
        ratio = best["ipytv"] / best["ours"]
        print(f"ipytv / ours        = {ratio:5.2f}  (target >= {IPYTV_TARGET})  {verdict(ratio >= IPYTV_TARGET)}")
    ratio = best["ours"] / best["floor"]
    print(f"ours / bare split   = {ratio:5.2f}  (target <= {FLOOR_TARGET})  {verdict(ratio <= FLOOR_TARGET)}")
    print(f"peak traced memory of ours (tracemalloc): {peak / 1e6:.2f} MB for a {len(data) / 1e6:.1f} MB playlist")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
