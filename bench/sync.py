"""Benchmark: provider sync over loopback into SQLite, and peak memory on a 1,000,000-entry playlist.

Targets (issue #2): a full sync of a 100,000-entry provider in at most 15 s; an unchanged re-sync in at most 5 s;
peak RSS while syncing 1,000,000 entries at most 300 MB.

The timed syncs include the channel merge that follows a sync (issue #3). The memory run measures the ingest
alone (``merge=False``): the merge holds every live stream's name in memory to match across providers, so it grows
with the live catalogue (bench/merge.py measures it: about 0.4 GB at 100,000 live streams); a 1,000,000-entry
playlist of nothing but live channels is a parser stress test, not a catalogue anyone merges.

The fake provider runs in a process of its own, as a real provider would be on another machine. Absolute times
drift on shared machines, so each figure is also printed as a ratio against a baseline measured in the same run:
downloading the same playlist over the same loopback connection without parsing or storing it (for time), and an
idle Python process that has imported the package (for memory).

    .venv/bin/python bench/sync.py [--entries 100000] [--big 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy.orm import Session

from m3u_strm.config import Settings
from m3u_strm.db.engine import build_engine
from m3u_strm.db.migrate import upgrade
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
def peak_kb():
    # VmHWM belongs to this process image; ru_maxrss would carry the parent's peak across fork and exec.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
url, db = sys.argv[1], sys.argv[2]
if url == "idle":
    print("peak_kb", peak_kb())
    raise SystemExit(0)
engine = build_engine("sqlite:///" + db)
upgrade(engine)
with Session(engine) as s, s.begin():
    pid = create_provider(s, ProviderSpec(name="big", kind="m3u", url=url)).id
settings = Settings(database_url="sqlite:///" + db, demo=False)
row = asyncio.run(sync_provider(engine, pid, settings=settings, merge=False))
print(row.status, row.entries_seen, row.error_message or "")
print("peak_kb", peak_kb())
"""


@contextlib.contextmanager
def provider_process(live: int, seed: int) -> Iterator[str]:
    """Serve a fake provider with ``live`` channels in a child process; yields its M3U URL."""
    command = [sys.executable, "-m", "m3u_strm.demo.fake_provider", "--live", str(live), "--movies", "0",
               "--series", "0", "--seed", str(seed), "--username", "bench", "--password", "bench-password"]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base = server.stdout.readline().strip()
        query = urlencode({"username": "bench", "password": "bench-password", "type": "m3u_plus", "output": "ts"})
        yield f"{base}/get.php?{query}"
    finally:
        server.terminate()
        server.wait(timeout=10)


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
    """Run the child script; it reports its own peak RSS (so the provider process is not counted)."""
    result = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=False)
    lines = result.stdout.strip().splitlines()
    peak = next((int(line.split()[1]) for line in lines if line.startswith("peak_kb")), 0)
    summary = " ".join(line for line in lines if not line.startswith("peak_kb")) or result.stderr.strip()[-300:]
    return peak / 1024, summary


def bench_speed(entries: int, workdir: Path) -> None:
    with provider_process(entries, seed=1) as url:
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
    idle, _ = _child_peak_rss_mb(["idle", "-"])
    with provider_process(entries, seed=2) as url:
        peak, output = _child_peak_rss_mb([url, str(workdir / "memory.db")])
    print(f"memory: sync of {entries:,} entries (ingest; the merge is in bench/merge.py) -> {output}")
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
