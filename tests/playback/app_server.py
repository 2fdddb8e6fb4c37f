"""The product's app served by uvicorn on loopback with its lifespan on (the session writer runs), in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from m3u_strm.api.app import create_app
from m3u_strm.config import Settings


@dataclass
class AppServer:
    app: FastAPI
    base_url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        """Shut down as `serve` does on SIGTERM: the lifespan's shutdown runs (plays end, sessions close)."""
        self.server.should_exit = True
        self.thread.join(timeout=15)


@contextmanager
def serve_app(settings: Settings, engine: Engine) -> Iterator[AppServer]:
    app = create_app(settings, engine)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="on", log_config=None, access_log=False, timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="gateway-app", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.01)
    running = AppServer(app, f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread)
    try:
        yield running
    finally:
        running.stop()
        sock.close()
