"""Benchmark: health checks of 10,000 streams over loopback, against the floor and against the seed's checker.

Targets (issue #4): checking N streams that each answer after ``latency`` with MPEG-TS bytes, at concurrency C,
takes at most 1.15 x the floor N x latency / C (10,000 x 100 ms / 200 = 5 s, so 5.75 s); the checking process's
peak RSS stays at most 250 MB. The seed's algorithm shape runs on the same server in the same run for the ratio:
``HEAD`` requests, a semaphore of 50, batches of 500 (each batch gathered before the next starts).

The server is a process of its own (a raw ASGI app on uvicorn, as a provider would be another machine); each check
runs in a child process that reports its own peak RSS (VmHWM) and CPU time. The checks run on uvloop when it is
installed, as they do inside ``m3u-strm serve`` (uvicorn runs its event loop on uvloop); ``--loop asyncio``
measures the plain loop. Each stream answers with a 12 KB TS body; the checker reads the first KB and hangs up.

Two more runs in the same worker-pool shape (C workers pulling stream numbers), no verdict, no limits per provider:

* **raw**: ``asyncio.open_connection``, a hand-written ``GET`` with ``Connection: close``, ``readuntil`` the end of
  the headers, read 1 KB, hang up. The floor of any asyncio client on this machine: ``check_many / raw`` is what
  the checker costs above it (h11's parsing, the verdict, the limits, the results).
* **bare httpx**: a streamed ``GET`` per stream, first chunk read. What the checker cost when it was built on httpx
  (httpx + httpcore + anyio spend about 0.7 ms of CPU per request, which alone keeps it above N x latency / C).

The CPU per request is printed too: on a busy machine the wall times of the CPU-hungrier runs suffer first.

    .venv/bin/python bench/health.py [--streams 10000] [--concurrency 200] [--latency 0.1] [--loop uvloop]
"""

from __future__ import annotations

import argparse
import contextlib
import os
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
    # What an httpx-based checker costs at least: a streamed GET per stream, first chunk read, then hang up; C workers
    # over pools of 25 connections (httpcore scans its whole pool on every request), no verdict, no limits.
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
async def raw():
    # The floor of any asyncio client: open a connection, write a GET, read the headers and 1 KB, close. No parser,
    # no verdict, no limits per provider: what is left above N x latency / C is the loop's and the server's cost.
    from urllib.parse import urlsplit
    address, numbers, outcomes = urlsplit(base), iter(range(streams)), Counter()
    async def worker():
        for n in numbers:
            reader, writer = await asyncio.open_connection(address.hostname, address.port)
            writer.write(f"GET /live/{n}.ts HTTP/1.1\\r\\nHost: {address.netloc}\\r\\nUser-Agent: bench\\r\\n"
                         "Accept: */*\\r\\nConnection: close\\r\\n\\r\\n".encode())
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            body = await reader.read(1024)
            outcomes.update(["alive" if head.startswith(b"HTTP/1.1 200") and body[:1] == b"G" else "dead"])
            writer.transport.abort()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return outcomes
run = asyncio.run
if loop == "uvloop":
    try:
        import uvloop
        run = uvloop.run
    except ImportError:
        loop = "asyncio (uvloop missing)"
started, cpu_started = time.perf_counter(), time.process_time()
outcomes = run({"ours": ours, "seed": seed, "bare": bare, "raw": raw}[shape]())
print("elapsed", time.perf_counter() - started)
print("cpu_us", (time.process_time() - cpu_started) / streams * 1e6)
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
    load = os.getloadavg()[0]
    with server_process(args.latency) as base:
        ours = run_child("ours", base, args.streams, args.concurrency, args.loop)
        raw = run_child("raw", base, args.streams, args.concurrency, args.loop)
        bare = run_child("bare", base, args.streams, args.concurrency, args.loop)
        seed = None if args.skip_seed else run_child("seed", base, args.streams, 50, args.loop)
    elapsed, peak_mb = float(ours["elapsed"]), int(ours["peak_kb"]) / 1024
    time_ok, rss_ok = elapsed <= TIME_FACTOR * floor, peak_mb <= RSS_TARGET_MB
    print(f"health checks: {args.streams:,} streams, {args.latency * 1000:.0f} ms each, concurrency "
          f"{args.concurrency}, loop {ours['loop']}; load average before the runs {load:.2f}, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    print(f"floor N x latency / C         {floor:7.2f} s")
    print(f"check_many (GET, sniff)       {elapsed:7.2f} s   ratio {elapsed / floor:5.2f}x floor   target <= "
          f"{TIME_FACTOR:.2f}x: {'PASS' if time_ok else 'FAIL'}   {_cpu(ours)}")  # fmt: skip
    print(f"{'':29s} outcomes {ours['outcomes']}")
    print(f"peak RSS of the checker       {peak_mb:7.1f} MB   target <= {RSS_TARGET_MB} MB: "
          f"{'PASS' if rss_ok else 'FAIL'}")  # fmt: skip
    for name, run in (("raw asyncio GET, 1 KB", raw), ("bare httpx GET, first chunk", bare)):
        other = float(run["elapsed"])
        print(f"{name:29s} {other:7.2f} s   ratio {other / floor:5.2f}x floor   check_many / this "
              f"{elapsed / other:5.2f}x   {_cpu(run)}")  # fmt: skip
    if seed is not None:
        seed_elapsed = float(seed["elapsed"])
        print(f"seed shape (HEAD, 50, x500)   {seed_elapsed:7.2f} s   seed / ours {seed_elapsed / elapsed:5.2f}x   "
              f"outcomes {seed['outcomes']}")  # fmt: skip
    if not (time_ok and rss_ok):
        raise SystemExit(1)


def _cpu(report: dict[str, str]) -> str:
    return f"CPU {float(report['cpu_us']):4.0f} us/check"


if __name__ == "__main__":
    main()
