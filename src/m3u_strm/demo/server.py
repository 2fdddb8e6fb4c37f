"""Runs the fake provider for real: uvicorn in a background thread on a loopback port, and the command line::

    with FakeProviderServer(build_catalogue(live=50)) as provider:
        httpx.get(provider.m3u_url)

``python -m m3u_strm.demo.fake_provider --live 5000`` serves until interrupted and prints the base URL first.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import threading
import time
from types import TracebackType
from urllib.parse import urlencode

import uvicorn
from starlette.applications import Starlette

from m3u_strm.demo.catalogue import FakeCatalogue, build_catalogue
from m3u_strm.demo.fake_provider import DEFAULT_PASSWORD, DEFAULT_USERNAME, ProviderState, create_app
from m3u_strm.demo.faults import Faults


class FakeProviderServer:
    """Runs the fake provider with uvicorn in a daemon thread on ``127.0.0.1`` and a free port.

    Safe next to another uvicorn server in the same process (the product's ``serve`` with the demo): it has its own
    event loop, installs no signal handlers and leaves logging configuration alone.
    """

    def __init__(
        self,
        app_or_catalogue: Starlette | FakeCatalogue | None = None,
        *,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if isinstance(app_or_catalogue, Starlette):
            self.app = app_or_catalogue
        else:
            self.app = create_app(app_or_catalogue, username=username, password=password, faults=faults)
        self._host, self._port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def provider(self) -> ProviderState:
        provider: ProviderState = self.app.state.provider
        return provider

    @property
    def faults(self) -> Faults:
        return self.provider.faults

    @property
    def username(self) -> str:
        return self.provider.username

    @property
    def password(self) -> str:
        return self.provider.password

    @property
    def catalogue(self) -> FakeCatalogue:
        return self.provider.catalogue

    @catalogue.setter
    def catalogue(self, value: FakeCatalogue) -> None:
        self.provider.catalogue = value

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the fake provider is not running; call start() first")
        port: int = self._socket.getsockname()[1]
        return port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def m3u_url(self) -> str:
        query = urlencode({"username": self.username, "password": self.password, "type": "m3u_plus", "output": "ts"})
        return f"{self.base_url}/get.php?{query}"

    @property
    def public_m3u_url(self) -> str:
        return f"{self.base_url}/playlist.m3u"

    @property
    def xmltv_url(self) -> str:
        return f"{self.base_url}/xmltv.php?" + urlencode({"username": self.username, "password": self.password})

    def start(self, timeout: float = 10.0) -> FakeProviderServer:
        """Start serving; returns once the port accepts connections."""
        if self._thread is not None:
            return self
        self.provider.closing.clear()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        sock.set_inheritable(True)
        config = uvicorn.Config(
            self.app, lifespan="off", log_config=None, access_log=False, loop="asyncio",
            timeout_graceful_shutdown=1, timeout_keep_alive=5,
        )  # fmt: skip
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fake-provider", daemon=True)
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the fake provider did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, also when a stalled response is pending: graceful first, then forced."""
        server, thread, sock = self._server, self._thread, self._socket
        if server is not None and thread is not None:
            self.provider.closing.set()
            server.should_exit = True
            thread.join(timeout=2.0)
            if thread.is_alive():
                server.force_exit = True
                thread.join(timeout=timeout)
        if sock is not None:
            sock.close()
        self._server = self._thread = None
        self._socket = None

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m m3u_strm.demo.fake_provider --live 5000``: serve until interrupted; prints the base URL first."""
    parser = argparse.ArgumentParser(description="Serve the fake IPTV provider on loopback.")
    for name, default in (("live", 300), ("movies", 100), ("series", 20), ("episodes-per-series", 6), ("seed", 0)):
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--type-drift", action="store_true")
    parser.add_argument("--username", default=DEFAULT_USERNAME)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    catalogue = build_catalogue(
        live=args.live, movies=args.movies, series=args.series, episodes_per_series=args.episodes_per_series,
        seed=args.seed, type_drift=args.type_drift,
    )  # fmt: skip
    with FakeProviderServer(catalogue, username=args.username, password=args.password, port=args.port) as server:
        print(server.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
