"""The one-shot processor: a playlist in, a ``.strm`` tree out, nothing stored.

``m3u-strm strm process`` and ``POST /api/process-m3u/`` are the tool this project grew from. Entries are sorted by
their URL the way sync sorts them (``/movie/`` → ``Movies/``, ``/series/`` → ``TV Shows/``, the rest live). Live
entries that are the same channel are merged (the same matching as the catalogue, with the threshold given as a
fraction) and one stream is kept per channel according to ``prefer``:

* ``best`` — the highest quality guessed from the name and URL;
* ``4k`` / ``hd`` / ``sd`` — the stream closest to that quality (the better one on a tie);
* ``all`` — every stream, each file named with its quality (``BBC One (1080p).strm``).

The files hold the playlist's own URLs — there is no gateway for a playlist that is not stored — so the caller
is warned when they carry credentials. Files are written with the same atomic, incremental writer as the catalogue
trees, in a manifest scope of their own (``process``): ``clean`` removes only files an earlier run wrote there.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from m3u_strm.catalog.match import MergeCandidate, match_streams
from m3u_strm.catalog.quality import quality_from_name
from m3u_strm.config import Settings
from m3u_strm.ingest.fetch import download, playlist_parser, provider_client
from m3u_strm.ingest.http import read_local
from m3u_strm.ingest.m3u import M3UEntry
from m3u_strm.ingest.rows import m3u_rows
from m3u_strm.outputs.paths import (
    LIVE_DIR,
    STRM_SUFFIX,
    episode_relpath,
    live_relpath,
    movie_relpath,
    safe_component,
    split_title_year,
)
from m3u_strm.outputs.strm_files import StrmFile, write_tree
from m3u_strm.privacy.redaction import redact

__all__ = ["Prefer", "ProcessOptions", "ProcessReport", "process_playlist", "select_streams"]

log = logging.getLogger(__name__)

Prefer = Literal["best", "4k", "hd", "sd", "all"]
_TARGET_SCORE = {"4k": 900, "hd": 650, "sd": 300}  # "hd" sits between 720p (600) and 1080p (700)


@dataclass(frozen=True, slots=True)
class ProcessOptions:
    merge: bool = True
    prefer: Prefer = "best"
    by_category: bool = False
    fuzzy_threshold: float = 0.85  # 0..1, as the original tool took it
    clean: bool = False


@dataclass
class ProcessReport:
    source: str
    output_dir: str
    entries: int = 0
    files_created: int = 0
    files_updated: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    duplicates_merged: int = 0
    categories: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    direct_urls_with_credentials: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class _Live:
    index: int
    entry: M3UEntry
    score: int
    tier: str | None


def select_streams(entries: list[M3UEntry], options: ProcessOptions) -> tuple[list[tuple[str, _Live]], int]:
    """Group live entries into channels and keep the streams ``prefer`` asks for: (display name, stream) pairs and
    the number of entries merged away."""
    lives = [_live(i, entry) for i, entry in enumerate(entries)]
    if not options.merge:
        return [(entry.entry.title, entry) for entry in lives], 0
    result = match_streams(
        (MergeCandidate(live.index, 0, live.entry.title, live.entry.tvg_id) for live in lives),
        threshold=options.fuzzy_threshold * 100,
    )
    chosen: list[tuple[str, _Live]] = []
    for group in result.groups:
        members = [lives[i] for i in group.stream_ids]
        chosen.extend((group.name.display or members[0].entry.title, live) for live in _prefer(members, options.prefer))
    chosen.sort(key=lambda pair: pair[1].index)
    return chosen, len(lives) - len(chosen)


def _live(index: int, entry: M3UEntry) -> _Live:
    guess = quality_from_name(entry.title, entry.url)
    return _Live(index, entry, guess.score, guess.tier)


def _prefer(members: list[_Live], prefer: Prefer) -> list[_Live]:
    if prefer == "all":
        return members
    if prefer == "best":
        return [min(members, key=lambda live: (-live.score, live.index))]
    target = _TARGET_SCORE[prefer]
    return [min(members, key=lambda live: (abs(live.score - target), -live.score, live.index))]


def _live_files(chosen: list[tuple[str, _Live]], options: ProcessOptions) -> Iterator[StrmFile]:
    for name, live in chosen:
        suffix = (live.tier or "stream") if options.prefer == "all" else None
        if options.by_category:
            yield StrmFile(live_relpath(live.entry.group, name, suffix=suffix), live.entry.url)
        else:
            stem = f"{name} ({suffix})" if suffix else name
            yield StrmFile(PurePosixPath(LIVE_DIR, safe_component(stem + STRM_SUFFIX)), live.entry.url)


Classified = tuple[M3UEntry, list[tuple[str, dict[str, Any]]]]


def _vod_files(entries: Iterable[Classified], options: ProcessOptions) -> Iterator[StrmFile]:
    for entry, rows in entries:
        genre = entry.group if options.by_category else None
        series = next((str(row["name"]) for kind, row in rows if kind == "series"), entry.title)
        for kind, row in rows:
            if kind == "movies":
                title, year = split_title_year(row["name"])
                yield StrmFile(movie_relpath(title, year, genre=genre), entry.url)
            elif kind == "episodes" and row["season"] is not None and row["episode_num"] is not None:
                show, year = split_title_year(series)
                path = episode_relpath(show, year, row["season"], row["episode_num"], entry.title, genre=genre)
                yield StrmFile(path, entry.url)


async def _chunks(source: str, settings: Settings, http: httpx.AsyncClient | None) -> AsyncIterator[bytes]:
    if urlsplit(source).scheme not in {"http", "https"}:
        for chunk in read_local(source, max_bytes=settings.max_playlist_bytes):
            yield chunk
        return
    client = http or provider_client(settings)
    try:
        headers = {"User-Agent": settings.default_user_agent}
        async for chunk in download(client, source, settings, source=redact(source), headers=headers,
                                    max_bytes=settings.max_playlist_bytes):  # fmt: skip
            yield chunk
    finally:
        if http is None:
            await client.aclose()


async def _read_entries(source: str, settings: Settings, http: httpx.AsyncClient | None,
                        report: ProcessReport) -> list[M3UEntry]:  # fmt: skip
    parser = playlist_parser(settings, report.source)
    entries: list[M3UEntry] = []
    async for chunk in _chunks(source, settings, http):
        entries.extend(parser.feed(chunk))
    entries.extend(parser.close())
    report.entries = parser.report.entries
    report.skipped = {reason: n for reason, n in parser.report.skipped.items() if n}
    return entries


async def process_playlist(
    source: str, output_dir: Path, options: ProcessOptions, settings: Settings, *, http: httpx.AsyncClient | None = None
) -> ProcessReport:
    """Parse ``source`` (URL or path), write its ``.strm`` tree under ``output_dir``; see the module docstring."""
    report = ProcessReport(source=redact(source), output_dir=str(output_dir))
    entries = await _read_entries(source, settings, http, report)
    classified: list[Classified] = [(entry, list(m3u_rows(entry))) for entry in entries]
    kinds = Counter(rows[-1][0] for _, rows in classified)  # an episode's rows end with the episode
    report.counts = {"live": kinds["streams"], "movies": kinds["movies"], "episodes": kinds["episodes"]}
    live = [entry for entry, rows in classified if rows[-1][0] == "streams"]
    chosen, report.duplicates_merged = select_streams(live, options)
    vod = [(entry, rows) for entry, rows in classified if rows[-1][0] != "streams"]
    files = [*_live_files(chosen, options), *_vod_files(vod, options)]
    report.categories = sorted({entry.group for entry in entries if entry.group})
    report.direct_urls_with_credentials = any(redact(item.content) != item.content for item in files)
    if report.direct_urls_with_credentials:
        log.warning("The .strm files written from %s hold URLs with credentials in them.", report.source)
    tree = write_tree(output_dir, files, scope="process", clean=options.clean)
    report.files_created, report.files_updated = tree.created, tree.updated
    report.files_unchanged, report.files_removed = tree.unchanged, tree.removed
    report.errors = tree.errors
    return report
