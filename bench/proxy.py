"""Benchmark: the playback gateway against nginx ``proxy_pass``, same machine, same upstream, same clients.

Targets (issue #5): 100 concurrent clients pulling one channel as fast as they can get at least 0.5 x the aggregate
throughput nginx gives them; the gateway's time to first byte is at most 5 ms (median) over a direct connection.

Set-up, all on loopback:

* the upstream is an nginx (one worker) serving a large MPEG-TS file (a PyAV clip looped) — fast enough that
  neither proxy waits for it;
* nginx as the proxy: a second nginx (one worker) with ``proxy_pass`` to the upstream; each client is one upstream
  connection there;
* the gateway: ``create_app`` on uvicorn (uvloop, httptools) in a child process with a SQLite database holding one
  provider whose playlist lists the upstream file, synced and merged as in production; every client plays the
  channel through ``/play/<token>/live/<id>``, so they share one upstream;
* the clients: 100 asyncio connections in a child process, counting bytes into a reused buffer (nothing kept),
  reconnecting when a body ends; bytes are counted over a measured window after a warm-up.

Time to first byte: sequential plays, each of a different channel (so each one is resolved and opens its upstream
afresh), from connect to the first body byte, through the gateway and directly to the same upstream URLs; the
overhead is the difference of the medians.

Needs Debian's ``nginx`` (``make bench-deps`` installs it).

    .venv/bin/python bench/proxy.py [--clients 100] [--seconds 8] [--samples 40]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

THROUGHPUT_TARGET = 0.5
TTFB_TARGET_MS = 5.0
FILE_MB = 768

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {root}/{name}.pid;
error_log {root}/{name}.error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 30;
    client_body_temp_path {root}/{name}-body;
    proxy_temp_path {root}/{name}-proxy;
    fastcgi_temp_path {root}/{name}-fastcgi;
    uwsgi_temp_path {root}/{name}-uwsgi;
    scgi_temp_path {root}/{name}-scgi;
    types {{ video/mp2t ts; }}
    server {{
        listen 127.0.0.1:{port};
        {body}
    }}
}}
"""

CLIENTS = """
import asyncio, sys, time
try:
    import uvloop
    run = uvloop.run
except ImportError:
    run = asyncio.run
host, port, path, clients, warmup, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), \\
    float(sys.argv[5]), float(sys.argv[6])
request = (f"GET {path} HTTP/1.1\\r\\nHost: {host}:{port}\\r\\nUser-Agent: bench\\r\\n"
           "Connection: close\\r\\n\\r\\n").encode()
counted = [0]
window = [False]
class Reader(asyncio.BufferedProtocol):
    def __init__(self, done):
        self.buffer = memoryview(bytearray(1 << 20))
        self.done = done
    def connection_made(self, transport):
        transport.write(request)
    def get_buffer(self, hint):
        return self.buffer
    def buffer_updated(self, n):
        if window[0]:
            counted[0] += n
    def connection_lost(self, exc):
        self.done.set_result(None) if not self.done.done() else None
async def client(stop):
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        done = loop.create_future()
        transport, _ = await loop.create_connection(lambda: Reader(done), host, port)
        stop_wait = asyncio.ensure_future(stop.wait())
        await asyncio.wait([done, stop_wait], return_when=asyncio.FIRST_COMPLETED)
        stop_wait.cancel()
        transport.close()
async def main():
    stop = asyncio.Event()
    tasks = [asyncio.ensure_future(client(stop)) for _ in range(clients)]
    await asyncio.sleep(warmup)
    window[0] = True
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    window[0] = False
    elapsed = time.perf_counter() - started
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(counted[0] / elapsed)
run(main())
"""

GATEWAY = """
import sys
import uvicorn
from m3u_strm.api.app import create_app
from m3u_strm.config import get_settings
app = create_app(get_settings())
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", loop="uvloop", http="httptools",
            access_log=False)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_port(port: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port}")


@contextlib.contextmanager
def nginx(root: Path, name: str, body: str) -> Iterator[int]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise SystemExit("nginx is not installed: run `make bench-deps`")
    port = free_port()
    conf = root / f"{name}.conf"
    conf.write_text(NGINX_CONF.format(root=root, name=name, port=port, body=body))
    process = subprocess.Popen([binary, "-c", str(conf), "-e", str(root / f"{name}.error.log")])
    try:
        wait_port(port)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def make_media(root: Path) -> Path:
    from m3u_strm.demo.media import mpegts

    clip = mpegts(4.0, width=640, height=360)
    path = root / "media" / "channel.ts"
    path.parent.mkdir(mode=0o755)
    with path.open("wb") as out:
        for _ in range(FILE_MB * 1024 * 1024 // len(clip) + 1):
            out.write(clip)
    return path


def prepare_database(root: Path, upstream_url: str, channels: int) -> tuple[dict[str, str], str, list[int]]:
    """A SQLite database with one provider listing ``channels`` channels on the upstream file, synced and merged;
    the environment, a playback token and the channel ids."""
    env = {
        **os.environ,
        "M3U_STRM_DATA_DIR": str(root / "data"),
        "M3U_STRM_DEMO": "false",
        "M3U_STRM_SCHEDULER": "false",
        "M3U_STRM_PLAYBACK_GRACE_SECONDS": "0",
        "M3U_STRM_LOG_LEVEL": "WARNING",
    }
    playlist = root / "provider.m3u"
    lines = [
        f'#EXTINF:-1 tvg-id="bench{n}.uk" group-title="News",UK: Bench {n} HD\n{upstream_url}?channel={n}\n'
        for n in range(channels)
    ]
    playlist.write_text("#EXTM3U\n" + "".join(lines))
    script = f"""
import anyio
from sqlalchemy import select
from sqlalchemy.orm import Session
from m3u_strm.accounts import tokens
from m3u_strm.accounts.users import create_user
from m3u_strm.config import get_settings
from m3u_strm.db.engine import get_engine
from m3u_strm.db.migrate import upgrade
from m3u_strm.db.models import Channel
from m3u_strm.ingest.providers import ProviderSpec, create_provider
from m3u_strm.ingest.sync import sync_provider
settings = get_settings()
settings.ensure_data_dir()
engine = get_engine(settings)
upgrade(engine)
with Session(engine) as session, session.begin():
    create_provider(session, ProviderSpec(name="bench", kind="m3u", url={str(playlist)!r}))
    user = create_user(session, "bench", "bench password 123", role="viewer")
    token = tokens.playback_token(session, user).token
anyio.run(lambda: sync_provider(engine, "bench", settings=settings))
with Session(engine) as session:
    print(token, *session.scalars(select(Channel.id).order_by(Channel.id)))
"""
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"preparing the database failed:\n{result.stderr[-3000:]}")
    token, *ids = result.stdout.split()
    return env, token, [int(channel) for channel in ids]


@contextlib.contextmanager
def gateway(env: dict[str, str]) -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", GATEWAY, str(port)], env=env)
    try:
        wait_port(port)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def throughput(port: int, path: str, clients: int, seconds: float) -> float:
    command = [sys.executable, "-c", CLIENTS, "127.0.0.1", str(port), path, str(clients), "2", str(seconds)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=seconds + 120)
    if result.returncode:
        raise SystemExit(f"the clients failed:\n{result.stderr[-3000:]}")
    return float(result.stdout.strip())


def first_byte_ms(port: int, paths: list[str], samples: int) -> list[float]:
    """Sequential requests, each to the next path: connect, ask, wait for the first body byte, hang up."""
    times = []
    for sample in range(samples + 3):
        path = paths[sample % len(paths)]
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        started = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(request)
            received = b""
            while b"\r\n\r\n" not in received or received.endswith(b"\r\n\r\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    raise SystemExit(f"no body from {path}: {received[:200]!r}")
                received += chunk
            if not received.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"{path} answered {received[:600]!r}")
            times.append((time.perf_counter() - started) * 1000)
        time.sleep(0.02)
    return times[3:]  # the first plays warm up the connection pool and the database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # nginx workers run as an unprivileged user when started by root
        media = make_media(root)
        with nginx(root, "upstream", f"location / {{ root {media.parent}; }}") as upstream_port:
            upstream_url = f"http://127.0.0.1:{upstream_port}/channel.ts"
            env, token, channels = prepare_database(root, upstream_url, args.samples)
            proxy_body = f"location / {{ proxy_pass http://127.0.0.1:{upstream_port}; proxy_http_version 1.1; }}"
            with nginx(root, "proxy", proxy_body) as proxy_port:
                nginx_rate = throughput(proxy_port, "/channel.ts", args.clients, args.seconds)
            plays = [f"/play/{token}/live/{channel}.ts" for channel in channels]
            with gateway(env) as gateway_port:
                ours = throughput(gateway_port, plays[0], args.clients, args.seconds)
                # Each play a channel nobody watches: the gateway resolves it and opens its upstream afresh.
                through = first_byte_ms(gateway_port, plays, args.samples)
            direct = first_byte_ms(
                upstream_port, [f"/channel.ts?channel={n}" for n in range(args.samples)], args.samples
            )
    ratio = ours / nginx_rate
    overhead = statistics.median(through) - statistics.median(direct)
    print(f"proxy throughput: {args.clients} clients, one channel, {args.seconds:.0f} s measured")
    print(f"nginx proxy_pass              {nginx_rate / 1e6:9.1f} MB/s")
    print(f"gateway (one shared upstream) {ours / 1e6:9.1f} MB/s")
    print(f"gateway / nginx               {ratio:9.2f}   target >= {THROUGHPUT_TARGET}  "
          f"{'PASS' if ratio >= THROUGHPUT_TARGET else 'FAIL'}")  # fmt: skip
    p90 = statistics.quantiles(through, n=10)[-1]
    print(f"time to first byte, median of {args.samples}: direct {statistics.median(direct):.2f} ms, "
          f"gateway {statistics.median(through):.2f} ms (p90 {p90:.2f} ms)")  # fmt: skip
    print(f"overhead                      {overhead:9.2f} ms target <= {TTFB_TARGET_MS}  "
          f"{'PASS' if overhead <= TTFB_TARGET_MS else 'FAIL'}")  # fmt: skip
    print(json.dumps({"ratio": round(ratio, 3), "ttfb_overhead_ms": round(overhead, 2)}))


if __name__ == "__main__":
    main()
