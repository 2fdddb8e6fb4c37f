"""Benchmark: provider sync over loopback into SQLite, and peak memory on a 1,000,000-entry playlist.

Targets (issue #2): a full sync of a 100,000-entry provider in at most 15 s; an unchanged re-sync in at most 5 s;
peak RSS while syncing 1,000,000 entries at most 300 MB.

Absolute times drift on shared machines, so each figure is also printed as a ratio against a baseline measured in
the same run: downloading the same playlist over the same loopback connection without parsing or storing it
(for time), and an idle Python process that has imported the package (for memory).

    .venv/bin/python bench/sync.py [--entries 100000] [--big 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from m3u_strm.config import Settings
from m3u_strm.db.engine import build_engine
from m3u_strm.db.migrate import upgrade
from m3u_strm.demo.catalogue import build_catalogue
from m3u_strm.demo.fake_provider import FakeProviderServer
from m3u_strm.ingest.providers import ProviderSpec, create_provider
from m3u_strm.ingest.sync import sync_provider

CHILD = """
import asyncio, sys
from m3u_strm.config import Settings
from m3u_strm.db.engine import build_engine
from m3u_strm.db.migrate import upgrade
from sqlalchemy.orm import Session
from m3u_strm.ingest.providers import ProviderSpec, create_provider
from m3u_strm.ingest.sync import sync_provider
url, db = sys.argv[1], sys.argv[2]
if url == "idle":
    raise SystemExit(0)
engine = build_engine("sqlite:///" + db)
upgrade(engine)
with Session(engine) as s, s.begin():
    pid = create_provider(s, ProviderSpec(name="big", kind="m3u", url=url)).id
settings = Settings(database_url="sqlite:///" + db, demo=False)
row = asyncio.run(sync_provider(engine, pid, settings=settings))
print(row.status, row.entries_seen, row.error_message or "")
"""


async def _download(url: str) -> int:
    total = 0
    async with httpx.AsyncClient(timeout=120) as client, client.stream("GET", url) as response:
        async for chunk in response.aiter_bytes():
            total += len(chunk)
    return total


def _timed_sync(engine_url: str, provider_id: int, settings: Settings) -> tuple[float, str, int]:
    engine = build_engine(engine_url)
    started = time.perf_counter()
    row = asyncio.run(sync_provider(engine, provider_id, settings=settings))
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed, row.status, row.streams_added + row.movies_added + row.episodes_added


def _child_peak_rss_mb(args: list[str]) -> tuple[float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=False)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak < before:  # pragma: no cover - ru_maxrss is the max over all children
        peak = before
    return peak / 1024, (result.stdout + result.stderr).strip()[-300:]


def bench_speed(entries: int, workdir: Path) -> None:
    catalogue = build_catalogue(live=entries, movies=0, series=0, seed=1)
    with FakeProviderServer(catalogue, username="bench", password="bench-password") as server:
        url = server.m3u_url
        download_times = []
        for _ in range(2):
            started = time.perf_counter()
            size = asyncio.run(_download(url))
            download_times.append(time.perf_counter() - started)
        baseline = min(download_times)
        db_url = f"sqlite:///{workdir / 'speed.db'}"
        engine = build_engine(db_url)
        upgrade(engine)
        with Session(engine) as session, session.begin():
            provider_id = create_provider(session, ProviderSpec(name="bench", kind="m3u", url=url)).id
        engine.dispose()
        settings = Settings(database_url=db_url, demo=False, data_dir=workdir)
        first, status1, added = _timed_sync(db_url, provider_id, settings)
        second, status2, _ = _timed_sync(db_url, provider_id, settings)
    print(f"playlist: {entries:,} entries, {size / 1e6:.1f} MB over loopback")
    print(f"baseline download only        {baseline:7.2f} s")
    print(f"full sync  ({status1}, {added:,} added)  {first:7.2f} s   ratio {first / baseline:5.1f}x   target <= 15 s: "
          f"{'PASS' if first <= 15 else 'FAIL'}")  # fmt: skip
    print(f"unchanged re-sync ({status2})      {second:7.2f} s   ratio {second / baseline:5.1f}x   target <= 5 s: "
          f"{'PASS' if second <= 5 else 'FAIL'}")  # fmt: skip


def bench_memory(entries: int, workdir: Path) -> None:
    catalogue = build_catalogue(live=entries, movies=0, series=0, seed=2)
    idle, _ = _child_peak_rss_mb(["idle", "-"])
    with FakeProviderServer(catalogue, username="bench", password="bench-password") as server:
        peak, output = _child_peak_rss_mb([server.m3u_url, str(workdir / "memory.db")])
    print(f"memory: sync of {entries:,} entries -> {output}")
    print(f"idle process peak RSS         {idle:7.1f} MB")
    print(f"syncing process peak RSS      {peak:7.1f} MB   ratio {peak / idle:5.1f}x   target <= 300 MB: "
          f"{'PASS' if peak <= 300 else 'FAIL'}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000, help="entries for the memory run (0 to skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_speed(args.entries, Path(tmp))
        if args.big:
            bench_memory(args.big, Path(tmp))


if __name__ == "__main__":
    main()
