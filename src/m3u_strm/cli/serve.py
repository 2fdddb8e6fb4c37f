"""``m3u-strm serve``: migrate, start the demo when there is nothing to see yet, run uvicorn."""

from __future__ import annotations

import asyncio

import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from m3u_strm.accounts.tokens import playback_token
from m3u_strm.accounts.users import find_user
from m3u_strm.api.app import create_app
from m3u_strm.cli.common import console, ready_engine
from m3u_strm.config import get_settings
from m3u_strm.demo.bootstrap import DEMO_ADMIN, DemoHandle, demo_wanted, start_demo
from m3u_strm.ingest.sync import sync_provider
from m3u_strm.log import configure_logging


def _announce_outputs(engine: Engine, base: str) -> None:
    """Where a media server finds the demo: the admin's own playlist, guide and tuner URLs."""
    with Session(engine) as session, session.begin():
        admin = find_user(session, DEMO_ADMIN)
        if admin is None:
            return
        token = playback_token(session, admin).token
    console.print(f"Playlist: {base}/output/m3u?token={token}\nGuide:    {base}/output/epg.xml?token={token}\n"
                  f"HDHomeRun tuner for Plex/Jellyfin/Emby: {base}/hdhr/{token}", soft_wrap=True)  # fmt: skip


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
        _announce_outputs(engine, settings.public_url or f"http://{host}:{port}")
        configure_logging(settings.log_level)  # the demo's uvicorn muted the access log; route it back
    try:
        uvicorn.run(create_app(settings, engine), host=host, port=port, log_config=None, access_log=True)
    finally:
        if demo is not None:
            demo.stop()
