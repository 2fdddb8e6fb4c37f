"""A loopback HTTP server for the monitoring tests: real sockets, real media, and the ways providers misbehave.

Routes are added with :meth:`MediaServer.add`; each answers GET and HEAD with its status, Content-Type and body,
optionally after a delay (a slow start) or by resetting the connection instead of answering. The server also
records every request's headers, so a test can see what a client sent. :func:`silent_listener` is a port that
accepts connections and never answers (the TCP handshake completes in the kernel's backlog).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True, slots=True)
class Route:
    body: bytes = b""
    content_type: str = "video/mp2t"
    status: int = 200
    delay_seconds: float = 0.0
    reset: bool = False


@dataclass
class MediaServer:
    """Routes by path, the requests seen, and the base URL once serving."""

    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    base_url: str = ""

    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.base_url + path


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, *, with_body: bool) -> None:
        media = self.server.media
        path = self.path.split("?", 1)[0]
        media.requests.append((path, dict(self.headers.items())))
        route = media.routes.get(path, Route(b"not found", "text/plain", 404))
        time.sleep(route.delay_seconds)
        if route.reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        if with_body:
            self.wfile.write(route.body)

    def finish(self) -> None:
        with contextlib.suppress(OSError):  # the reset route closed the socket under the handler
            super().finish()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, media: MediaServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.media = media

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up early (a bounded probe does) are not errors here


@contextmanager
def serve() -> Iterator[MediaServer]:
    media = MediaServer()
    server = _Server(media)
    media.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="media-server", daemon=True)
    thread.start()
    try:
        yield media
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def silent_listener() -> Iterator[str]:
    """``http://127.0.0.1:PORT/`` of a socket that accepts connections and never says a word."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port: int = probe_socket.getsockname()[1]
    return port
