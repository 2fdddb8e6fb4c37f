"""``m3u-strm guide refresh``: fetch providers' programme guides now, without a catalogue sync."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.table import Table

from m3u_strm.cli.common import cli_errors, console, db_session, print_json, ready_engine
from m3u_strm.config import get_settings
from m3u_strm.errors import NotFoundError
from m3u_strm.ingest.guide_refresh import GuideRefreshRun, providers_with_guides, run_guide_refresh
from m3u_strm.ingest.providers import get_provider

app = typer.Typer(help="Programme guides (XMLTV) of the providers.", no_args_is_help=True)


@app.command("refresh")
@cli_errors
def refresh_command(
    provider: Annotated[str | None, typer.Option(help="Only this provider (name or id)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Fetch guides now: every enabled provider with a guide source, or --provider. Only the guide is fetched (no
    catalogue sync); a failed fetch keeps the stored guide. Exit code 1 if any guide was not refreshed."""
    engine = ready_engine()
    with db_session() as session:
        ids = [get_provider(session, provider).id] if provider else [p.id for p in providers_with_guides(session)]
    if not ids:
        raise NotFoundError(
            "No enabled provider has a guide source.",
            hint="Give one an EPG URL (`m3u-strm provider add --epg ...`); Xtream accounts have their own.",
        )
    run = asyncio.run(run_guide_refresh(engine, get_settings(), ids, trigger="cli"))
    if as_json:
        print_json({"run_id": run.run_id, "status": run.status, **run.counts(), "why": run.failed | run.skipped})
    else:
        _print_run(run)
    if run.failed or run.skipped:
        raise typer.Exit(1)


def _print_run(run: GuideRefreshRun) -> None:
    table = Table("provider", "outcome", "programmes / why", title=f"Guide refresh run {run.run_id}")
    for name, programmes in run.refreshed.items():
        table.add_row(name, "refreshed", f"{programmes:,}")
    for outcome, problems in (("failed", run.failed), ("skipped", run.skipped)):
        for name, why in problems.items():
            table.add_row(name, f"[red]{outcome}[/]", why)
    console.print(table)
