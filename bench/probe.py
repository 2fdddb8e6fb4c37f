"""How fast is the PyAV quality probe, next to running ffprobe on the same stream?

Generates a PyAV-made MPEG-TS (:func:`m3u_strm.demo.media.mpegts`: 720p25 H.264 test pattern + AAC tone, 10 s by
default), serves it from a loopback HTTP server in a thread, and times, ``--runs`` times each, interleaved, after
one untimed warm-up of each:

(a) ours: :func:`m3u_strm.monitor.quality.probe` (shallow: codec, size, fps, bitrate from a 2 s sample);
(b) the baseline: ``ffprobe -v error -show_streams -of json URL`` as a subprocess (Debian's ffmpeg package) —
    what a tool shelling out to ffprobe pays per stream.

Prints the medians and the ratio ``ffprobe / ours``. Targets: our median at most 50 ms, the ratio at least 5.
Without ffprobe on the PATH it says "ffprobe not installed" and skips the ratio. Exits 1 when a target is missed.

    .venv/bin/python bench/probe.py [--runs 30] [--seconds 10] [--width 1280 --height 720]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from m3u_strm.demo.media import mpegts
from m3u_strm.monitor.quality import probe

MEDIAN_TARGET_MS = 50.0
RATIO_TARGET = 5.0


@contextmanager
def serving(body: bytes) -> Iterator[str]:
    """``http://127.0.0.1:PORT/live.ts`` answering every GET with ``body`` as video/mp2t."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "video/mp2t")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a bounded probe hangs up before the end of the body

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/live.ts"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def ours(url: str) -> str:
    result = probe(url)
    if result.outcome != "ok":
        raise SystemExit(f"probe failed: {result.error}")
    return f"{result.video_codec} {result.width}x{result.height} {result.fps:g} fps {result.bitrate_kbps} kb/s"


def ffprobe(url: str) -> str:
    command = ["ffprobe", "-v", "error", "-show_streams", "-of", "json", url]
    completed = subprocess.run(command, capture_output=True, check=True, text=True)
    return f"{len(completed.stdout):,} bytes of JSON"


def timed(function: Callable[[str], str], url: str) -> tuple[float, str]:
    start = time.perf_counter()
    said = function(url)
    return time.perf_counter() - start, said


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    args = parser.parse_args()

    body = mpegts(args.seconds, width=args.width, height=args.height)
    functions: dict[str, Callable[[str], str]] = {"ours": ours}
    if shutil.which("ffprobe"):
        functions["ffprobe"] = ffprobe
    else:
        print("ffprobe not installed: the ratio is skipped")
    print(
        f"stream: {args.width}x{args.height} H.264 + AAC, {args.seconds:g} s, {len(body) / 1e6:.1f} MB, over loopback"
    )
    timings: dict[str, list[float]] = {name: [] for name in functions}
    said: dict[str, str] = {}
    with serving(body) as url:
        for function in functions.values():
            timed(function, url)  # warm-up: first-use costs (imports, page cache) are not what we measure
        for _ in range(args.runs):  # interleaved, so that load from other processes hits both alike
            for name, function in functions.items():
                seconds, said[name] = timed(function, url)
                timings[name].append(seconds)
    median_ms = {name: statistics.median(values) * 1000 for name, values in timings.items()}

    print(f"{'what':<28}{'median ms':>10}{'min ms':>9}  result")
    for name, label in (("ours", "(a) probe(), shallow"), ("ffprobe", "(b) ffprobe -show_streams")):
        if name in timings:
            print(f"{label:<28}{median_ms[name]:>10.1f}{min(timings[name]) * 1000:>9.1f}  {said[name]}")
    ok = median_ms["ours"] <= MEDIAN_TARGET_MS
    print(f"ours, median        = {median_ms['ours']:5.1f} ms  (target <= {MEDIAN_TARGET_MS:g})  {verdict(ok)}")
    if "ffprobe" in median_ms:
        ratio = median_ms["ffprobe"] / median_ms["ours"]
        print(f"ffprobe / ours      = {ratio:5.1f}     (target >= {RATIO_TARGET:g})  {verdict(ratio >= RATIO_TARGET)}")
        ok = ok and ratio >= RATIO_TARGET
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
