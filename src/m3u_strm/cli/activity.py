"""``m3u-strm activity``: who is watching what now, read from the viewing sessions in the database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from m3u_strm.cli.common import cli_errors, console, db_session, print_json, ready_engine
from m3u_strm.playback.activity import stored_activity


@cli_errors
def activity_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Plays in progress: user, content, provider, time, data and failovers (the server reports every 30 s)."""
    ready_engine()
    now = datetime.now(UTC)
    with db_session() as session:
        plays = stored_activity(session, now)
    if as_json:
        print_json([play.as_dict() for play in plays])
        return
    if not plays:
        console.print("Nobody is watching right now.")
        return
    table = Table(title=f"{len(plays)} play(s) in progress")
    for column in ("user", "watching", "provider", "for", "data", "failovers", "source", "client"):
        table.add_column(column)
    for play in plays:
        minutes = int((play.seconds or 0) // 60)
        table.add_row(
            play.username or str(play.user_id), f"{play.content_kind} {play.content_id}: {play.title or '?'}",
            play.provider or "-", f"{minutes} min", f"{play.bytes_sent / 1e6:.1f} MB", str(play.failovers),
            play.source, (play.client or "")[:30],
        )  # fmt: skip
    console.print(table)
