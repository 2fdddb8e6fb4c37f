"""How fast is cross-provider matching on 100,000 streams, next to comparing every pair with difflib?

Builds (deterministically, seed 20240611) a catalogue of ~20,000 distinct channels from the real names in
``/work/shared/data/real_m3u`` (iptv-org and Free-TV; ``$M3U_STRM_SHARED_DATA`` elsewhere), topped up with
numbered, regional and +1 siblings of real names, and gives it to five providers that each write every channel
their own way — ``UK: Name HD``, ``|UK| NAME FHD``, ``UK ▎ Name ᴴᴰ``, ``[UK] Name (Backup)`` (one in ten with a
letter missing), the bare name with ``(1080p) [Geo-blocked]`` — two of them with EPG ids. Then:

(a) ours: :func:`m3u_strm.catalog.match.match_streams` over all 100,000 streams, timed in a child process that
    also reports its own peak RSS (VmHWM; the parent's is not counted);
(b) the baseline: ``difflib.SequenceMatcher(None, a, b).ratio()`` over every pair of a 1,000-name sample (499,500
    pairs), extrapolated to every pair of 100,000 names (~5.0e9 pairs) — what matching without normalisation and
    blocking would cost.

(c) the whole merge service, :func:`m3u_strm.catalog.merge.merge_catalogue`, on a fresh SQLite file holding the
    same 100,000 streams: load, match, create the channels, write every stream's link and rank — then once more
    with nothing changed, which must write nothing (in the same process, as a server's next merge would be: it
    reuses the names the first merge normalised).

Targets: (a) and (c) at most 10 s, (a) at most 1 GB peak RSS. Prints the absolute figures and the ratio (b)/(a);
exits 1 when a target is missed.

    .venv/bin/python bench/merge.py [--streams 100000] [--channels 20000] [--sample 1000]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import difflib
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from m3u_strm.catalog.match import MergeCandidate, match_streams
from m3u_strm.catalog.merge import merge_catalogue
from m3u_strm.db.engine import build_engine
from m3u_strm.db.migrate import upgrade
from m3u_strm.db.models import Provider, Stream

SEED = 20240611
TIME_TARGET_S = 10.0
MEMORY_TARGET_MB = 1024.0
PROVIDERS = 5
_EXTINF_NAME = re.compile(r",([^,\r\n]+)\s*$")
_TVG_ID = re.compile(r'tvg-id="([^"]*)"')
_SIBLINGS = (" 2", " 3", " East", " West", " +1", " Extra", " News", " Plus", " Kids", " Movies")
_COUNTRIES = ("UK", "US", "CA", "DE", "FR", "IT", "ES", "NL", "PL", "TR", "AR", "IN", "BR", "MX", "AU")


def shared_data_dir() -> Path:
    beside_repo = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return Path(os.environ.get("M3U_STRM_SHARED_DATA", beside_repo))


def real_channels() -> list[tuple[str, str]]:
    """(title, tvg-id) of every #EXTINF in the real playlists, first occurrence of each title, sorted."""
    seen: dict[str, str] = {}
    for path in sorted((shared_data_dir() / "real_m3u").rglob("*.m3u*")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            name = _EXTINF_NAME.search(line) if line.startswith("#EXTINF") else None
            if name:
                tvg = _TVG_ID.search(line)
                seen.setdefault(name[1].strip(), tvg[1] if tvg else "")
    return sorted(seen.items())


def catalogue(channels: int, rnd: random.Random) -> list[tuple[str, str, str]]:
    """(display, country, tvg-id) for ``channels`` channels: the real titles, then siblings of random real ones."""
    real = real_channels()
    rows = [(re.sub(r"\s*[(\[].*$", "", title) or title, _country_of(tvg, rnd), tvg) for title, tvg in real]
    while len(rows) < channels:
        title, country, tvg = rnd.choice(rows[: len(real)])
        sibling = rnd.choice(_SIBLINGS)
        rows.append((f"{title}{sibling}", country, f"{tvg}{sibling.strip()}" if tvg else ""))
    return rows[:channels]


def _country_of(tvg: str, rnd: random.Random) -> str:
    suffix = tvg.split("@")[0].rsplit(".", 1)[-1].upper() if "." in tvg else ""
    return "UK" if suffix == "GB" else suffix if len(suffix) == 2 else rnd.choice(_COUNTRIES)


def provider_name(provider: int, display: str, country: str, rnd: random.Random) -> str:
    """How provider 1..5 writes a channel: its own prefix and tags, and now and then noise."""
    quality = rnd.choice(("", " HD", " FHD", " SD", " 4K", " HEVC"))
    noise = rnd.choice(("",) * 8 + (" (Backup)", " [Geo-blocked]", " VIP"))
    if provider == 1:
        return f"{country}: {display}{quality}{noise}"
    if provider == 2:
        return f"|{country}| {display.upper()}{quality}"
    if provider == 3:
        return f"{country} ▎ {display}{' ᴴᴰ' if quality else ''}"
    if provider == 4:
        return f"[{country}] {typo(display, rnd)}{noise or ' (Backup)'}"
    return f"{display} ({rnd.choice(('1080p', '720p', '576p'))}){rnd.choice(('', ' [Geo-blocked]', ' [Not 24/7]'))}"


def typo(display: str, rnd: random.Random) -> str:
    """One name in ten loses a letter of its longest word, as hand-typed panel names do."""
    words = display.split()
    longest = max(range(len(words)), key=lambda index: len(words[index]), default=0)
    if not words or len(words[longest]) < 6 or rnd.random() >= 0.1:
        return display
    word = words[longest]
    cut = rnd.randrange(1, len(word) - 1)
    words[longest] = word[:cut] + word[cut + 1 :]
    return " ".join(words)


def candidates(streams: int, channels: int) -> list[MergeCandidate]:
    rnd = random.Random(SEED)
    rows = catalogue(channels, rnd)
    result = []
    for index in range(streams):
        provider = index % PROVIDERS + 1
        display, country, tvg = rows[(index // PROVIDERS) % len(rows)]
        tvg_id = tvg if provider in (1, 5) else None
        result.append(MergeCandidate(index + 1, provider, provider_name(provider, display, country, rnd), tvg_id))
    return result


def peak_rss_kb() -> int:
    # VmHWM belongs to this process image; ru_maxrss would carry the parent's peak across fork and exec.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def child(streams: int, channels: int) -> None:
    """Runs in the child process: build the candidates, time the match, report seconds, groups and peak RSS."""
    items = candidates(streams, channels)
    started = time.perf_counter()
    result = match_streams(items)
    elapsed = time.perf_counter() - started
    methods: dict[str, int] = {}
    for link in result.links.values():
        methods[link.method] = methods.get(link.method, 0) + 1
    print(f"seconds {elapsed:.3f}")
    print(f"groups {len(result.groups)}")
    print("methods " + " ".join(f"{name}={count}" for name, count in sorted(methods.items())))
    print(f"peak_kb {peak_rss_kb()}")


def service_child(streams: int, channels: int, database_url: str | None) -> None:
    """Runs in a child process: the merge service over a SQLite file (or the given database), first merge and an
    unchanged re-merge."""
    with tempfile.TemporaryDirectory(prefix="bench-merge-") as tmp:
        engine = build_engine(database_url or f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        _store(engine, candidates(streams, channels))
        for label in ("first", "again"):
            with Session(engine) as session, session.begin():
                started = time.perf_counter()
                merged = merge_catalogue(session)
            print(f"{label} {time.perf_counter() - started:.3f}")
            print(f"{label}_written {merged.streams_updated + merged.channels_created + merged.channels_updated}")
        print(f"peak_kb {peak_rss_kb()}")


def _store(engine: Engine, items: list[MergeCandidate]) -> None:
    with engine.begin() as connection:
        connection.execute(insert(Provider), [{"id": n, "name": f"p{n}", "kind": "m3u", "url": f"http://p{n}.example/l"}
                                              for n in range(1, PROVIDERS + 1)])  # fmt: skip
        rows = [
            {
                "provider_id": c.provider_id,
                "item_key": f"k{c.stream_id}",
                "content_hash": "0",
                "name": c.name,
                "url": f"http://p{c.provider_id}.example/live/{c.stream_id}.ts",
                "url_hash": str(c.stream_id),
                "tvg_id": c.tvg_id,
            }
            for c in items
        ]
        connection.execute(insert(Stream), rows)


def run_child(streams: int, channels: int, mode: str = "--child", database_url: str | None = None) -> dict[str, str]:
    command = [sys.executable, __file__, mode, "--streams", str(streams), "--channels", str(channels)]
    if database_url:
        command += ["--database-url", database_url]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"the timed child failed:\n{result.stderr[-2000:]}")
    return dict(line.split(" ", 1) for line in result.stdout.strip().splitlines())


def difflib_seconds_per_pair(names: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    pairs = 0
    for first, second in _all_pairs(names):
        difflib.SequenceMatcher(None, first, second).ratio()
        pairs += 1
    return (time.perf_counter() - started) / pairs, pairs


def _all_pairs(names: list[str]) -> Iterator[tuple[str, str]]:
    for index, first in enumerate(names):
        for second in names[index + 1 :]:
            yield first, second


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=100_000)
    parser.add_argument("--channels", type=int, default=20_000)
    parser.add_argument("--sample", type=int, default=1_000, help="names in the difflib sample")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--service-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument(
        "--postgres", metavar="URL", help="also time (c) on a scratch database of this PostgreSQL server"
    )
    args = parser.parse_args()
    if args.child:
        child(args.streams, args.channels)
        return 0
    if args.service_child:
        service_child(args.streams, args.channels, args.database_url)
        return 0

    report = run_child(args.streams, args.channels)
    ours, peak_mb = float(report["seconds"]), int(report["peak_kb"]) / 1024
    names = [item.name for item in random.Random(SEED).sample(candidates(args.streams, args.channels), args.sample)]
    per_pair, sampled = difflib_seconds_per_pair(names)
    all_pairs = args.streams * (args.streams - 1) // 2
    baseline = per_pair * all_pairs

    print(f"streams: {args.streams:,} from {PROVIDERS} providers, {args.channels:,} channels -> "
          f"{int(report['groups']):,} groups ({report['methods']})")  # fmt: skip
    print(f"(a) match_streams                  {ours:10.2f} s   target <= {TIME_TARGET_S:.0f} s: "
          f"{verdict(ours <= TIME_TARGET_S)}")  # fmt: skip
    print(f"    peak RSS of the matching child {peak_mb:10.1f} MB  target <= {MEMORY_TARGET_MB:.0f} MB: "
          f"{verdict(peak_mb <= MEMORY_TARGET_MB)}")  # fmt: skip
    print(f"(b) difflib, {sampled:,} pairs measured: {per_pair * 1e6:.2f} us/pair -> all {all_pairs:,} pairs "
          f"{baseline:,.0f} s ({baseline / 3600:.1f} h)")  # fmt: skip
    print(f"difflib-extrapolated / ours = {baseline / ours:,.0f}x")
    service = run_child(args.streams, args.channels, "--service-child")
    first, again = float(service["first"]), float(service["again"])
    print(f"(c) merge_catalogue on SQLite      {first:10.2f} s   target <= {TIME_TARGET_S:.0f} s: "
          f"{verdict(first <= TIME_TARGET_S)}  ({service['first_written']} rows written, "
          f"peak RSS {int(service['peak_kb']) / 1024:.0f} MB)")  # fmt: skip
    print(f"    re-merge, nothing changed      {again:10.2f} s   rows written: {service['again_written']} "
          f"(must be 0: {verdict(service['again_written'] == '0')}); first/ours(a) = {first / ours:.1f}x")  # fmt: skip
    if args.postgres:
        _postgres_service(args)
    ok = ours <= TIME_TARGET_S and peak_mb <= MEMORY_TARGET_MB and first <= TIME_TARGET_S
    return 0 if ok and service["again_written"] == "0" else 1


def _postgres_service(args: argparse.Namespace) -> None:
    """(c) on PostgreSQL, for information: the target is the embedded default's (SQLite)."""
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    name = f"bench_merge_{os.getpid()}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
        service = run_child(args.streams, args.channels, "--service-child", url)
        print(f"(c) on PostgreSQL                  {float(service['first']):10.2f} s   re-merge "
              f"{float(service['again']):.2f} s, rows written {service['again_written']}")  # fmt: skip
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
