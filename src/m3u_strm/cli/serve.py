"""``m3u-strm serve``: migrate, start the demo when there is nothing to see yet, run uvicorn."""

from __future__ import annotations

import asyncio

import uvicorn

from m3u_strm.api.app import create_app
from m3u_strm.cli.common import console, ready_engine
from m3u_strm.config import get_settings
from m3u_strm.demo.bootstrap import DemoHandle, demo_wanted, start_demo
from m3u_strm.ingest.sync import sync_provider
from m3u_strm.log import configure_logging


def _announce_demo(demo: DemoHandle, base: str) -> None:
    console.print(f"[bold]Demo:[/] a fake IPTV provider is serving on {demo.server.base_url} (loopback only).")
    if demo.admin_password:
        console.rule("[bold yellow]Admin account created — the password is shown only this once")
        console.print(f"  username: [bold]admin[/]\n  password: [bold]{demo.admin_password}[/]")
        console.print("  Only its hash is stored. More accounts: `m3u-strm user create NAME [--admin]`.")
        console.rule()
    console.print(f"API docs: {base}/docs  —  log in with POST {base}/api/auth/token", soft_wrap=True)


def serve(host: str | None, port: int | None) -> None:
    settings = get_settings()
    engine = ready_engine()
    host = host or settings.host
    port = port or settings.port
    demo: DemoHandle | None = None
    if demo_wanted(engine, settings):
        demo = start_demo(engine, settings)
        row = asyncio.run(sync_provider(engine, demo.provider_id, trigger="demo"))
        console.print(f"Demo provider synced: {row.status}, {row.entries_seen:,} entries.")
        _announce_demo(demo, f"http://{host}:{port}")
        configure_logging(settings.log_level)  # the demo's uvicorn muted the access log; route it back
    try:
        uvicorn.run(create_app(settings, engine), host=host, port=port, log_config=None, access_log=True)
    finally:
        if demo is not None:
            demo.stop()
