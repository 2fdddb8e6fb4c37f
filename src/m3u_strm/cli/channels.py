"""``m3u-strm channels ...``: browse the merged channels and correct the merge by hand."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from m3u_strm.catalog import channels as catalogue
from m3u_strm.catalog import overrides
from m3u_strm.catalog.overrides import Actor
from m3u_strm.cli.common import cli_errors, console, db_session, print_json
from m3u_strm.config import get_settings

app = typer.Typer(help="Merged channels: list, merge, split, rules.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


@app.command("list")
@cli_errors
def list_command(
    search: Annotated[str | None, typer.Option("--search", "-s", help="Part of the channel name")] = None,
    category: Annotated[str | None, typer.Option(help="Only this category")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonOption = False,
) -> None:
    """List merged channels by number."""
    with db_session() as session:
        total, rows = catalogue.list_channels(session, search=search, category=category, limit=limit, offset=offset)
    if as_json:
        print_json({"total": total, "items": rows})
        return
    table = Table("id", "no.", "name", "category", "region", "variant", "streams", "enabled", title=f"{total} channels")
    for row in rows:
        table.add_row(str(row["id"]), str(row["number"] or ""), row["name"], row["category"] or "",
                      row["region"] or "", row["variant"] or "", str(row["stream_count"]),
                      "yes" if row["enabled"] else "no")  # fmt: skip
    console.print(table)


@app.command("streams")
@cli_errors
def streams_command(channel: Annotated[int, typer.Argument(help="Channel id")], as_json: JsonOption = False) -> None:
    """A channel's streams, best ranked first, with how each was merged."""
    with db_session() as session:
        rows = catalogue.channel_streams(session, channel)
    if as_json:
        print_json(rows)
        return
    table = Table("rank", "stream", "provider", "name", "quality", "score", "method", "confidence", "reason")
    for row in rows:
        table.add_row(str(row["rank"] or ""), str(row["id"]), row["provider"], row["name"], row["resolution"] or "",
                      str(row["quality_score"] or 0), row["merge_method"] or "", str(row["merge_confidence"] or ""),
                      row["merge_reason"] or "")  # fmt: skip
    console.print(table)


@app.command("merge")
@cli_errors
def merge_command(
    source: Annotated[int, typer.Argument(help="Channel whose streams move")],
    target: Annotated[int, typer.Argument(help="Channel they move into")],
) -> None:
    """Merge channel SOURCE into TARGET for good (it survives re-syncs)."""
    with db_session() as session:
        merged = overrides.merge_channels(session, source, target, actor=Actor(),
                                          threshold=get_settings().merge_fuzzy_threshold)  # fmt: skip
        console.print(f"Channel {source} is now part of channel {merged.id} ({merged.name}).")


@app.command("split")
@cli_errors
def split_command(
    channel: Annotated[int, typer.Argument(help="Channel id")],
    streams: Annotated[list[int], typer.Argument(help="Stream ids to move into a new channel")],
) -> None:
    """Split streams off CHANNEL into a new channel that later merges leave alone."""
    with db_session() as session:
        new = overrides.split_streams(session, channel, streams, actor=Actor(),
                                      threshold=get_settings().merge_fuzzy_threshold)  # fmt: skip
        console.print(f"Created channel {new.id} ({new.name}) with stream(s) {', '.join(map(str, streams))}.")


@app.command("reset")
@cli_errors
def reset_command(channel: Annotated[int, typer.Argument(help="Channel id")]) -> None:
    """Undo manual merges and splits of CHANNEL: its streams go back to automatic matching."""
    with db_session() as session:
        overrides.reset_channel(session, channel, actor=Actor(), threshold=get_settings().merge_fuzzy_threshold)
    console.print(f"Channel {channel}: manual placements undone.")


@app.command("set")
@cli_errors
def set_command(
    channel: Annotated[int, typer.Argument(help="Channel id")],
    name: Annotated[str | None, typer.Option(help="New name, kept through later merges")] = None,
    number: Annotated[int | None, typer.Option(help="New channel number (tvg-chno, tuner GuideNumber)")] = None,
) -> None:
    """Rename or renumber a channel."""
    with db_session() as session:
        if name is not None:
            overrides.rename_channel(session, channel, name, actor=Actor())
        if number is not None:
            overrides.renumber_channel(session, channel, number, actor=Actor())
    console.print(f"Channel {channel} updated.")


@app.command("enable")
@cli_errors
def enable_command(channel: Annotated[int, typer.Argument(help="Channel id")]) -> None:
    """Put a disabled channel back into the outputs."""
    with db_session() as session:
        overrides.set_channel_enabled(session, channel, True, actor=Actor())
    console.print(f"Channel {channel} enabled.")


@app.command("disable")
@cli_errors
def disable_command(channel: Annotated[int, typer.Argument(help="Channel id")]) -> None:
    """Leave a channel out of every output and the gateway (it stays merged, and its history stays)."""
    with db_session() as session:
        overrides.set_channel_enabled(session, channel, False, actor=Actor())
    console.print(f"Channel {channel} disabled.")


@app.command("rules")
@cli_errors
def rules_command(as_json: JsonOption = False) -> None:
    """List merge rules."""
    with db_session() as session:
        rules = [
            {
                "id": r.id,
                "pattern": r.pattern,
                "kind": r.kind,
                "field": r.field,
                "provider_id": r.provider_id,
                "channel_id": r.channel_id,
            }
            for r in overrides.list_rules(session)
        ]
    if as_json:
        print_json(rules)
        return
    table = Table("id", "pattern", "kind", "field", "provider", "channel")
    for rule in rules:
        table.add_row(*(str(rule[key] if rule[key] is not None else "any") for key in
                        ("id", "pattern", "kind", "field", "provider_id", "channel_id")))  # fmt: skip
    console.print(table)


@app.command("rule-add")
@cli_errors
def rule_add_command(
    pattern: Annotated[str, typer.Argument(help="Glob such as '*Sky Sports 1*' (or a regex with --regex)")],
    channel: Annotated[int, typer.Argument(help="Channel the matching streams belong to")],
    regex: Annotated[bool, typer.Option("--regex", help="PATTERN is a regular expression")] = False,
    tvg_id: Annotated[bool, typer.Option("--tvg-id", help="Match the tvg-id instead of the name")] = False,
    provider: Annotated[int | None, typer.Option(help="Only streams of this provider id")] = None,
) -> None:
    """Add a merge rule: streams matching PATTERN go to CHANNEL, now and after every sync."""
    with db_session() as session:
        rule = overrides.create_rule(
            session, pattern, channel, kind="regex" if regex else "glob", field="tvg_id" if tvg_id else "name",
            provider_id=provider, actor=Actor(), threshold=get_settings().merge_fuzzy_threshold,
        )  # fmt: skip
        console.print(f"Rule {rule.id} added.")


@app.command("rule-delete")
@cli_errors
def rule_delete_command(rule: Annotated[int, typer.Argument(help="Rule id")]) -> None:
    """Delete a merge rule; its streams go back to automatic matching."""
    with db_session() as session:
        overrides.delete_rule(session, rule, actor=Actor(), threshold=get_settings().merge_fuzzy_threshold)
    console.print(f"Rule {rule} deleted.")
