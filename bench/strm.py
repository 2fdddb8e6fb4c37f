"""How fast is the atomic, incremental ``.strm`` tree writer, next to a naive one?

Generates (deterministically) 50,000 VOD items — two thirds movies, one third episodes of ~400 series — with the
titles providers really send (years in brackets, colons, slashes, non-ASCII, the odd duplicate), turns them into
paths with :mod:`m3u_strm.outputs.paths`, and times in one temporary directory each:

(a) the baseline: a naive writer — ``mkdir(parents=True, exist_ok=True)`` and ``write_text`` per file, no temp
    file, no flush, no comparison — into a tree of its own;
(b) ours, first run: :func:`m3u_strm.outputs.strm_files.write_tree` into an empty root (temp files, one
    ``syncfs`` per 500 files, renames, manifest);
(c) ours, second run over the same items: everything unchanged, nothing rewritten.

Targets: (b) <= 20 s and (c) <= 3 s (absolute, on this disk); the ratios (b)/(a) and (c)/(a) are printed so that
runs on different machines compare. Exits 1 when a target is missed.

    .venv/bin/python bench/strm.py [--items 50000] [--dir /path/on/the/disk/to/measure]
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

from m3u_strm.outputs.paths import episode_relpath, movie_relpath, split_title_year
from m3u_strm.outputs.strm_files import StrmFile, TreeReport, write_tree

FIRST_RUN_TARGET = 20.0
SECOND_RUN_TARGET = 3.0

_WORDS = ("Night", "Return", "Empire", "Shadow", "Legend", "Storm", "City", "Dream", "Fire", "Secret", "Last", "Road")
_ODD = ("Amélie", "Léon: The Professional", "AC/DC: Live", "Crouching Tiger, Hidden Dragon", "Das Boot", "Кино",
        "天气之子", "What If...?", "Mission: Impossible", "Se7en", "Spider-Man: No Way Home", "WALL·E")  # fmt: skip


def movie_title(rnd: random.Random, index: int) -> str:
    base = rnd.choice(_ODD) if rnd.random() < 0.02 else f"The {rnd.choice(_WORDS)} of {rnd.choice(_WORDS)} {index}"
    year = rnd.randint(1950, 2024)
    shape = rnd.random()
    return f"{base} ({year})" if shape < 0.6 else f"{base} - {year}" if shape < 0.8 else f"{base} [{year}]"


def generate_items(count: int, *, seed: int = 20240601) -> list[StrmFile]:
    """``count`` items, two thirds movies, the rest episodes; the same list for the same arguments."""
    rnd = random.Random(seed)
    items: list[StrmFile] = []
    movies = count * 2 // 3
    for index in range(movies):
        title, year = split_title_year(movie_title(rnd, index))
        url = f"http://gateway.local:8080/play/3f9c2a7b1d/movie/{100_000 + index}"
        items.append(StrmFile(movie_relpath(title, year), url))
    for index in range(count - movies):
        show = index // 40
        series = f"{_WORDS[show % len(_WORDS)]} {_WORDS[show * 7 % len(_WORDS)]}: Chronicles {show}"
        season, episode = 1 + (index % 40) // 10, 1 + index % 10
        title = rnd.choice(["", f"Episode {episode}", f"{series} - S{season:02d}E{episode:02d}", "Pilot / Part 1"])
        url = f"http://gateway.local:8080/play/3f9c2a7b1d/episode/{500_000 + index}"
        items.append(StrmFile(episode_relpath(series, 2000 + show % 24, season, episode, title), url))
    return items


def naive_write(root: Path, items: list[StrmFile]) -> float:
    start = time.perf_counter()
    for item in items:
        path = root / item.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(item.content + "\n", encoding="utf-8")
    return time.perf_counter() - start


def ours(root: Path, items: list[StrmFile]) -> tuple[float, TreeReport]:
    start = time.perf_counter()
    report = write_tree(root, items, scope="vod")
    return time.perf_counter() - start, report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--dir", type=Path, default=None, help="where to create the temporary trees")
    args = parser.parse_args()

    items = generate_items(args.items)
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        base = Path(directory)
        naive = naive_write(base / "naive", items)
        shutil.rmtree(base / "naive")
        first, first_report = ours(base / "ours", items)
        second, second_report = ours(base / "ours", items)

    print(f"items: {args.items:,} ({first_report.renamed_collisions} renamed collisions)")
    print(f"{'what':<40}{'seconds':>10}  report")
    print(f"{'(a) naive: mkdir + write_text per file':<40}{naive:>10.3f}")
    print(f"{'(b) write_tree, empty root':<40}{first:>10.3f}  created {first_report.created:,}")
    print(f"{'(c) write_tree, nothing changed':<40}{second:>10.3f}  unchanged {second_report.unchanged:,}")
    print(f"first run / naive   = {first / naive:5.2f}")
    print(f"second run / naive  = {second / naive:5.2f}")
    first_ok, second_ok = first <= FIRST_RUN_TARGET, second <= SECOND_RUN_TARGET
    print(f"first run  {first:6.2f} s  (target <= {FIRST_RUN_TARGET:.0f} s)  {verdict(first_ok)}")
    print(f"second run {second:6.2f} s  (target <= {SECOND_RUN_TARGET:.0f} s)  {verdict(second_ok)}")
    consistent = second_report.unchanged == first_report.created and not first_report.errors
    if not consistent:
        print(f"FAIL: the second run rewrote files or the first had errors: {first_report.errors[:3]}")
    return 0 if first_ok and second_ok and consistent else 1


if __name__ == "__main__":
    raise SystemExit(main())
