"""The ``m3u-strm`` command line. Every command calls the same service functions as the API."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from m3u_strm import __version__
from m3u_strm.cli.activity import activity_command
from m3u_strm.cli.channels import app as channels_app
from m3u_strm.cli.common import cli_errors, console, db_session, err_console, print_json, ready_engine
from m3u_strm.cli.guide import app as guide_app
from m3u_strm.cli.monitor import check_command, jobs_command, probe_command
from m3u_strm.cli.output import output_app, strm_app
from m3u_strm.cli.provider import app as provider_app
from m3u_strm.cli.user import token_app, user_app
from m3u_strm.config import get_settings
from m3u_strm.db.models import ProviderSync
from m3u_strm.errors import NotFoundError
from m3u_strm.ingest.inspect import inspect_source
from m3u_strm.ingest.providers import get_provider, list_providers
from m3u_strm.ingest.sync import sync_provider

app = typer.Typer(help="M3U-STRM-Processor: a self-hosted IPTV manager with viewing analytics.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(provider_app, name="provider")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(db_app, name="db")
app.add_typer(channels_app, name="channels")
app.add_typer(output_app, name="output")
app.add_typer(strm_app, name="strm")
app.add_typer(guide_app, name="guide")
app.command("check")(check_command)
app.command("activity")(activity_command)
app.command("jobs")(jobs_command)
app.command("probe")(probe_command)
log = logging.getLogger(__name__)


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit")] = False,
) -> None:
    if version:
        console.print(__version__)
        raise typer.Exit()


@db_app.command("upgrade")
@cli_errors
def db_upgrade() -> None:
    """Create or migrate the database schema to the current version."""
    ready_engine()
    console.print("Database is at the current schema.")


@app.command("sync")
@cli_errors
def sync_command(
    name: Annotated[str | None, typer.Argument(help="Provider name or id (default: every enabled provider)")] = None,
) -> None:
    """Sync providers now; prints what changed. Exit code 1 if any sync failed."""
    engine = ready_engine()
    with db_session() as session:
        refs = [get_provider(session, name).id] if name else [p.id for p in list_providers(session) if p.enabled]
    if not refs:
        raise NotFoundError("No enabled provider to sync.", hint="Add one with `m3u-strm provider add`.")
    failed = 0
    for ref in refs:
        row = _sync_with_progress(engine, ref)
        failed += row.status != "success"
        _print_sync(row)
    if failed:
        raise typer.Exit(1)


def _sync_with_progress(engine: Engine, ref: int) -> ProviderSync:
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,} rows"),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(f"provider {ref}: starting", total=None)

        def report(phase: str, rows: int) -> None:
            progress.update(task, description=f"provider {ref}: {phase}", completed=rows)

        return asyncio.run(sync_provider(engine, ref, trigger="cli", progress=report))


def _print_sync(row: ProviderSync) -> None:
    if row.status != "success":
        err_console.print(f"[bold red]Sync {row.id} failed:[/] {row.error_message}", soft_wrap=True)
        return
    seconds = (row.duration_ms or 0) / 1000
    console.print(f"Sync {row.id} of provider {row.provider_id}: {row.entries_seen:,} entries in {seconds:.1f} s")
    table = Table("", "added", "removed", "updated")
    for kind in ("streams", "movies", "series", "episodes"):
        table.add_row(kind, *(str(getattr(row, f"{kind}_{what}")) for what in ("added", "removed", "updated")))
    console.print(table)
    if row.epg_programmes:
        console.print(f"Guide: {row.epg_channels:,} channels, {row.epg_programmes:,} programmes")
    if row.skipped:
        console.print("Skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(row.skipped.items())))
    for warning in row.warnings[:10]:
        console.print(f"[yellow]warning:[/] {warning}", soft_wrap=True)


@app.command("inspect")
@cli_errors
def inspect_command(
    location: Annotated[str, typer.Argument(help="Playlist or XMLTV file path or URL")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Parse a playlist or guide without storing it: counts, groups, skipped lines by reason, warnings."""
    result = asyncio.run(inspect_source(location, get_settings()))
    if as_json:
        print_json(result.to_dict())
        return
    console.print(f"[bold]{result.source}[/] ({result.kind}, {result.bytes_read:,} bytes)")
    for key, value in result.counts.items():
        console.print(f"  {key}: {value:,}")
    if result.groups:
        console.print("Groups: " + ", ".join(f"{g} ({n})" for g, n in result.groups))
    for reason, count in sorted(result.skipped.items()):
        lines = result.skipped_lines.get(reason, [])
        where = f" (lines {', '.join(map(str, lines[:10]))})" if lines else ""
        console.print(f"  skipped {reason}: {count}{where}")
    for reason, count in sorted(result.repaired.items()):
        console.print(f"  repaired {reason}: {count} (imported)")
    if result.epg_urls:
        console.print(f"Guide URLs in header: {len(result.epg_urls)}")
    for warning in result.warnings[:20]:
        console.print(f"[yellow]warning:[/] {warning}", soft_wrap=True)


@app.command("serve")
@cli_errors
def serve_command(
    host: Annotated[str | None, typer.Option(help="Address to bind (default from settings: 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings: 8000)")] = None,
) -> None:
    """Start the web server; with no provider yet, start the demo provider too."""
    from m3u_strm.cli.serve import serve

    serve(host, port)


def main() -> None:
    app()
