"""``m3u-strm output ...`` and ``m3u-strm strm ...``: write playlists, guides and ``.strm`` trees to disk."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select
from sqlalchemy.orm import Session

from m3u_strm.cli.common import cli_errors, console, db_session, err_console, print_json
from m3u_strm.config import get_settings
from m3u_strm.db.models import User
from m3u_strm.errors import InputError
from m3u_strm.outputs import catalogue
from m3u_strm.outputs.files import write_file_atomically
from m3u_strm.outputs.guide import iter_guide
from m3u_strm.outputs.links import DIRECT_URL_WARNING, PlayLinks, links_for_user
from m3u_strm.outputs.playlist import render_playlist
from m3u_strm.outputs.process import ProcessOptions, process_playlist
from m3u_strm.outputs.strm_tree import StrmRequest, generate_strm

output_app = typer.Typer(help="Write the merged playlist and guide to files.", no_args_is_help=True)
strm_app = typer.Typer(help="Write .strm trees for Jellyfin, Emby and Plex.", no_args_is_help=True)

UserOption = Annotated[
    str | None, typer.Option("--user", help="Whose playback token the URLs carry (default: the only admin)")
]
BaseUrlOption = Annotated[
    str | None, typer.Option("--base-url", help="How players reach this server (default: the public_url setting)")
]
DirectOption = Annotated[
    bool, typer.Option("--direct", help="Write provider URLs instead of gateway URLs (exposes credentials)")
]


def _links(session: Session, user: str | None, base_url: str | None, direct: bool) -> PlayLinks:
    settings = get_settings()
    direct = direct or settings.output_direct_urls
    if direct:
        err_console.print(f"[yellow]Warning:[/] {DIRECT_URL_WARNING}", markup=True, soft_wrap=True)
    if user is None:
        admins = list(session.scalars(select(User.username).where(User.role == "admin", User.is_active.is_(True))))
        if len(admins) != 1:
            raise InputError("Say whose playback token the URLs should carry.", hint="Add --user NAME.")
        user = admins[0]
    return links_for_user(session, user, settings, base_url=base_url, direct=direct)


@output_app.command("m3u")
@cli_errors
def output_m3u(
    file: Annotated[Path, typer.Argument(help="Playlist file to write (replaced atomically)")],
    user: UserOption = None,
    base_url: BaseUrlOption = None,
    quality: Annotated[Literal["best", "all"], typer.Option(help="best: one entry per channel; all: every stream")] = (
        "best"
    ),
    category: Annotated[str | None, typer.Option(help="Only this category")] = None,
    direct: DirectOption = False,
) -> None:
    """Write the merged M3U playlist."""
    with db_session() as session:
        links = _links(session, user, base_url, direct)
        epg_url = f"{links.base_url}/output/epg.xml?token={links.token}"
        channels = catalogue.playlist_channels(session, links, category=category, every_stream=quality == "all")
        text = (chunk.encode() for chunk in render_playlist(channels, epg_url=epg_url))
        size = write_file_atomically(file, text)
    console.print(f"Wrote {file} ({size:,} bytes).")


@output_app.command("xmltv")
@cli_errors
def output_xmltv(
    file: Annotated[Path, typer.Argument(help="Guide file to write; gzip-compressed when it ends in .gz")],
) -> None:
    """Write the XMLTV guide of the merged channels."""
    with db_session() as session:
        channels, targets = catalogue.guide_channels(session)
        chunks = iter_guide(channels, catalogue.guide_programmes(session, targets))
        size = write_file_atomically(file, chunks, compress=file.suffix == ".gz")
    console.print(f"Wrote {file}: {len(channels):,} channels ({size:,} bytes).")


@strm_app.command("generate")
@cli_errors
def strm_generate(
    outdir: Annotated[Path | None, typer.Argument(help="Output root (default: the strm_dir setting)")] = None,
    movies: Annotated[bool, typer.Option("--movies", help="Write movies")] = False,
    series: Annotated[bool, typer.Option("--series", help="Write series")] = False,
    live: Annotated[bool, typer.Option("--live", help="Write live channels")] = False,
    genre_folders: Annotated[bool | None, typer.Option("--genre-folders/--no-genre-folders")] = None,
    clean: Annotated[bool, typer.Option("--clean/--no-clean", help="Remove files this tool wrote before")] = True,
    user: UserOption = None,
    base_url: BaseUrlOption = None,
    direct: DirectOption = False,
) -> None:
    """Write the .strm tree (movies and series unless --movies/--series/--live pick parts)."""
    settings = get_settings()
    if not (movies or series or live):
        movies = series = True
    root = (outdir or settings.resolved_strm_dir).resolve()
    genre = settings.strm_genre_folders if genre_folders is None else genre_folders
    request = StrmRequest(root, movies, series, live, genre, clean)
    with db_session() as session, _progress() as progress:
        tasks: dict[str, object] = {}

        def tick(scope: str, done: int) -> None:
            if scope not in tasks:
                tasks[scope] = progress.add_task(scope, total=None)
            progress.update(tasks[scope], completed=done)  # type: ignore[arg-type]

        summary = generate_strm(session, _links(session, user, base_url, direct), request, progress=tick)
    _print_summary(summary.to_dict())


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=True)  # fmt: skip


def _print_summary(summary: dict[str, object]) -> None:
    console.print(f"Output: {summary['output_dir']}")
    parts = summary["parts"]
    assert isinstance(parts, dict)
    for scope, part in parts.items():
        console.print(f"  {scope}: {part['created']} created, {part['updated']} updated, {part['unchanged']} "
                      f"unchanged, {part['removed']} removed, {part['duplicates']} duplicates skipped")  # fmt: skip
        for error in part["errors"]:
            err_console.print(f"    {error}", soft_wrap=True)


@strm_app.command("process")
@cli_errors
def strm_process(
    source: Annotated[str, typer.Argument(help="Playlist URL or file")],
    outdir: Annotated[Path, typer.Argument(help="Output root")],
    merge: Annotated[bool, typer.Option("--merge/--no-merge", help="Merge the same channel's streams")] = True,
    prefer: Annotated[Literal["best", "4k", "hd", "sd", "all"], typer.Option(help="Which stream to keep")] = "best",
    by_category: Annotated[bool, typer.Option("--by-category", help="One folder per group-title")] = False,
    fuzzy_threshold: Annotated[float, typer.Option(min=0.0, max=1.0, help="Name similarity to merge at")] = 0.85,
    clean: Annotated[bool, typer.Option("--clean", help="Remove files an earlier run wrote and this one did not")] = (
        False
    ),
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One shot: write .strm files for a playlist without storing a provider."""
    options = ProcessOptions(merge, prefer, by_category, fuzzy_threshold, clean)
    report = asyncio.run(process_playlist(source, outdir.resolve(), options, get_settings()))
    if as_json:
        print_json(report.to_dict())
        return
    console.print(f"{report.entries:,} entries read from {report.source}")
    console.print(
        f"{report.files_created:,} files created, {report.files_updated:,} updated, "
        f"{report.files_unchanged:,} unchanged, {report.files_removed:,} removed in {report.output_dir}"
    )
    console.print(f"{report.duplicates_merged:,} duplicates merged; {len(report.categories)} categories")  # fmt: skip
    if report.direct_urls_with_credentials:
        err_console.print("[yellow]Warning:[/] the files hold the playlist's own URLs, credentials included; "
                          "keep the folder private.", markup=True)  # fmt: skip
    for error in report.errors[:20]:
        err_console.print(f"  {error}", soft_wrap=True)
