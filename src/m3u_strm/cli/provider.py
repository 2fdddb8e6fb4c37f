"""``m3u-strm provider ...``: add, list, remove providers and read their sync log."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from m3u_strm.cli.common import cli_errors, console, db_session, print_json, read_secret_stdin
from m3u_strm.db.models import ProviderSync
from m3u_strm.errors import InputError
from m3u_strm.ingest import providers as provider_service

app = typer.Typer(help="Manage IPTV providers.", no_args_is_help=True)


@app.command("add")
@cli_errors
def add_provider(
    name: Annotated[str, typer.Argument(help="A name for the provider")],
    m3u: Annotated[str | None, typer.Option("--m3u", help="Playlist URL or file path")] = None,
    xtream: Annotated[str | None, typer.Option("--xtream", help="Xtream host, e.g. http://host:8080")] = None,
    username: Annotated[str | None, typer.Option(help="Xtream username")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the Xtream password from stdin")
    ] = False,
    epg: Annotated[str | None, typer.Option("--epg", help="XMLTV guide URL or path")] = None,
    priority: Annotated[int, typer.Option(help="Higher wins ties between streams")] = 0,
    max_connections: Annotated[int | None, typer.Option(help="Connection limit of the account")] = None,
    user_agent: Annotated[str | None, typer.Option(help="User-Agent to send")] = None,
) -> None:
    """Add an M3U or Xtream Codes provider."""
    if (m3u is None) == (xtream is None):
        raise InputError("Give exactly one of --m3u URL_OR_PATH or --xtream HOST.")
    password = read_secret_stdin("password") if password_stdin else None
    if xtream and password is None:
        password = typer.prompt("Xtream password", hide_input=True)
    spec = provider_service.ProviderSpec(
        name=name, kind="m3u" if m3u else "xtream", url=m3u or xtream, username=username, password=password,
        epg_url=epg, priority=priority, max_connections=max_connections, user_agent=user_agent,
    )  # fmt: skip
    with db_session() as session:
        provider = provider_service.create_provider(session, spec)
        console.print(f"Added provider [bold]{provider.name}[/] (id {provider.id}).")
        console.print(f"Sync it with `m3u-strm sync {provider.name!r}`.")


@app.command("list")
@cli_errors
def list_providers(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """List providers (credentials masked)."""
    with db_session() as session:
        rows = [provider_service.public_view(p) for p in provider_service.list_providers(session)]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "name", "kind", "url", "priority", "max conn", "enabled", "last sync", "status")
    for row in rows:
        last = row["last_sync_at"].strftime("%Y-%m-%d %H:%M") if row["last_sync_at"] else "never"
        table.add_row(str(row["id"]), row["name"], row["kind"], row["url"], str(row["priority"]),
                      str(row["max_connections"] or "-"), "yes" if row["enabled"] else "no", last,
                      row["last_sync_status"] or "-")  # fmt: skip
    console.print(table)


@app.command("remove")
@cli_errors
def remove_provider(name: Annotated[str, typer.Argument(help="Provider name or id")]) -> None:
    """Remove a provider and its catalogue."""
    with db_session() as session:
        provider = provider_service.get_provider(session, name)
        provider_service.delete_provider(session, provider)
        console.print(f"Removed provider {provider.name}.")


@app.command("syncs")
@cli_errors
def provider_syncs(
    name: Annotated[str, typer.Argument(help="Provider name or id")],
    limit: Annotated[int, typer.Option(help="How many recent syncs")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Show a provider's sync log: duration, counts, errors."""
    with db_session() as session:
        provider = provider_service.get_provider(session, name)
        rows = list(session.scalars(
            select(ProviderSync).where(ProviderSync.provider_id == provider.id)
            .order_by(ProviderSync.started_at.desc(), ProviderSync.id.desc()).limit(limit)
        ))  # fmt: skip
    if as_json:
        print_json([{c.name: getattr(r, c.name) for c in ProviderSync.__table__.columns} for r in rows])
        return
    table = Table(
        "id", "started", "status", "secs", "entries", "streams +/-/~", "movies +/-/~", "episodes +/-/~", "error"
    )
    for r in rows:
        table.add_row(
            str(r.id), r.started_at.strftime("%Y-%m-%d %H:%M:%S"), r.status,
            f"{(r.duration_ms or 0) / 1000:.1f}", str(r.entries_seen),
            f"{r.streams_added}/{r.streams_removed}/{r.streams_updated}",
            f"{r.movies_added}/{r.movies_removed}/{r.movies_updated}",
            f"{r.episodes_added}/{r.episodes_removed}/{r.episodes_updated}", r.error_message or "",
        )  # fmt: skip
    console.print(table)
