"""Benchmark: health checks of 10,000 streams over loopback, against the floor and against the seed's checker.

Targets (issue #4): checking N streams that each answer after ``latency`` with MPEG-TS bytes, at concurrency C,
takes at most 1.15 x the floor N x latency / C (10,000 x 100 ms / 200 = 5 s, so 5.75 s); the checking process's
peak RSS stays at most 250 MB. The seed's algorithm shape runs on the same server in the same run for the ratio:
``HEAD`` requests, a semaphore of 50, batches of 500 (each batch gathered before the next starts).

The server is a process of its own (a raw ASGI app on uvicorn, as a provider would be another machine); each check
runs in a child process that reports its own peak RSS (VmHWM). The checks run on uvloop when it is installed,
as they do inside ``m3u-strm serve`` (uvicorn runs its event loop on uvloop); ``--loop asyncio`` measures the
plain loop. Each stream answers with a 12 KB TS body; the checker reads the first KB and hangs up.

A third run, a bare httpx streamed GET per stream in the same worker pool (first chunk read, no verdict), is the
floor of any httpx-based checker on this machine: ``check_many / bare`` is the checker's own cost. On a small
machine the client's CPU per request (httpx + anyio, about 0.6-0.8 ms) is what keeps both above N x latency / C.

    .venv/bin/python bench/health.py [--streams 10000] [--concurrency 200] [--latency 0.1] [--loop uvloop]
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
from collections.abc import Iterator

TIME_FACTOR = 1.15
RSS_TARGET_MB = 250

SERVER = """
import asyncio, socket, sys
import uvicorn
latency = float(sys.argv[1])
body = b"".join(bytes((0x47, 0x41, 0x00, 0x10 | n % 16)) + bytes(184) for n in range(64))
async def app(scope, receive, send):
    await asyncio.sleep(latency)
    headers = [(b"content-type", b"video/mp2t"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False, backlog=4096, timeout_keep_alive=30)
uvicorn.Server(config).run(sockets=[sock])
"""

CHILD = """
import asyncio, sys, time
from collections import Counter
import httpx
from m3u_strm.monitor.health import CheckTarget, check_many
def peak_kb():
    # VmHWM belongs to this process image; ru_maxrss would carry the parent's peak across fork and exec.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
shape, base, streams, concurrency, loop = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
async def ours():
    outcomes = Counter()
    targets = (CheckTarget(n, n % 7, f"{base}/live/{n}.ts") for n in range(streams))
    await check_many(targets, concurrency=concurrency, timeout=30, on_result=lambda t, r: outcomes.update([r.outcome]))
    return outcomes
async def seed():
    # The seed's shape: HEAD only, a semaphore of 50, batches of 500 gathered one after the other.
    outcomes, semaphore = Counter(), asyncio.Semaphore(50)
    async with httpx.AsyncClient(timeout=30) as client:
        async def head(url):
            async with semaphore:
                try:
                    return "alive" if (await client.head(url)).status_code < 400 else "dead"
                except httpx.HTTPError:
                    return "dead"
        for start in range(0, streams, 500):
            batch = [f"{base}/live/{n}.ts" for n in range(start, min(start + 500, streams))]
            outcomes.update(await asyncio.gather(*(head(url) for url in batch)))
    return outcomes
async def bare():
    # The floor of any checker built on httpx: a streamed GET per stream, first chunk read, then hang up; the same
    # worker pool and pools of 25 connections as check_many, no verdict, no limits per provider.
    outcomes, numbers = Counter(), iter(range(streams))
    pools = max(1, concurrency // 25)
    limits = httpx.Limits(max_connections=-(-concurrency // pools), max_keepalive_connections=-(-concurrency // pools))
    clients = [httpx.AsyncClient(limits=limits, timeout=30) for _ in range(pools)]
    async def worker(client):
        for n in numbers:
            async with client.stream("GET", f"{base}/live/{n}.ts") as response:
                async for chunk in response.aiter_bytes():
                    outcomes.update(["alive" if chunk[:1] == b"G" else "dead"])
                    break
    await asyncio.gather(*(worker(clients[k % pools]) for k in range(concurrency)))
    for client in clients:
        await client.aclose()
    return outcomes
run = asyncio.run
if loop == "uvloop":
    try:
        import uvloop
        run = uvloop.run
    except ImportError:
        loop = "asyncio (uvloop missing)"
started = time.perf_counter()
outcomes = run({"ours": ours, "seed": seed, "bare": bare}[shape]())
print("elapsed", time.perf_counter() - started)
print("peak_kb", peak_kb())
print("loop", loop)
print("outcomes", dict(outcomes))
"""


@contextlib.contextmanager
def server_process(latency: float) -> Iterator[str]:
    """Serve every ``/live/<n>.ts`` after ``latency`` seconds in a child process; yields its base URL."""
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(latency)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        yield server.stdout.readline().strip()
    finally:
        server.terminate()
        server.wait(timeout=10)


def run_child(shape: str, base: str, streams: int, concurrency: int, loop: str) -> dict[str, str]:
    """One run in a fresh process: its wall time, peak RSS, event loop and outcome counts."""
    command = [sys.executable, "-c", CHILD, shape, base, str(streams), str(concurrency), loop]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    report = dict(line.split(" ", 1) for line in result.stdout.strip().splitlines() if " " in line)
    if "elapsed" not in report:
        raise SystemExit(f"the {shape} run failed:\n{result.stderr[-2000:]}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--skip-seed", action="store_true", help="skip the seed-shaped baseline (about 20 s)")
    args = parser.parse_args()
    floor = args.streams * args.latency / args.concurrency
    with server_process(args.latency) as base:
        ours = run_child("ours", base, args.streams, args.concurrency, args.loop)
        bare = run_child("bare", base, args.streams, args.concurrency, args.loop)
        seed = None if args.skip_seed else run_child("seed", base, args.streams, 50, args.loop)
    elapsed, peak_mb = float(ours["elapsed"]), int(ours["peak_kb"]) / 1024
    time_ok, rss_ok = elapsed <= TIME_FACTOR * floor, peak_mb <= RSS_TARGET_MB
    print(f"health checks: {args.streams:,} streams, {args.latency * 1000:.0f} ms each, concurrency "
          f"{args.concurrency}, loop {ours['loop']}")  # fmt: skip
    print(f"floor N x latency / C         {floor:7.2f} s")
    print(f"check_many (GET, sniff)       {elapsed:7.2f} s   ratio {elapsed / floor:5.2f}x floor   target <= "
          f"{TIME_FACTOR:.2f}x: {'PASS' if time_ok else 'FAIL'}   outcomes {ours['outcomes']}")  # fmt: skip
    print(f"peak RSS of the checker       {peak_mb:7.1f} MB   target <= {RSS_TARGET_MB} MB: "
          f"{'PASS' if rss_ok else 'FAIL'}")  # fmt: skip
    bare_elapsed = float(bare["elapsed"])
    print(f"bare httpx GET, first chunk   {bare_elapsed:7.2f} s   ratio {bare_elapsed / floor:5.2f}x floor   "
          f"check_many / bare {elapsed / bare_elapsed:5.2f}x (the checker's own cost)")  # fmt: skip
    if seed is not None:
        seed_elapsed = float(seed["elapsed"])
        print(f"seed shape (HEAD, 50, x500)   {seed_elapsed:7.2f} s   seed / ours {seed_elapsed / elapsed:5.2f}x   "
              f"outcomes {seed['outcomes']}")  # fmt: skip
    if not (time_ok and rss_ok):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
