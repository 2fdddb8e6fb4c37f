"""The fetch phase of a sync: read a provider's catalogue and guide into a :class:`RowSpool`, touching no table.

Everything here may fail halfway (timeouts, resets, an HTML login page); since nothing is written to the database
before the whole answer has arrived, a failure leaves the stored catalogue exactly as it was.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import anyio
import httpx

from m3u_strm.config import Settings
from m3u_strm.errors import M3UStrmError
from m3u_strm.ingest.http import FetchStats, read_local, stream_bytes
from m3u_strm.ingest.m3u import M3UParser, ParseReport
from m3u_strm.ingest.rows import (
    m3u_rows,
    xtream_episode_row,
    xtream_live_row,
    xtream_movie_row,
    xtream_series_row,
)
from m3u_strm.ingest.spool import RowSpool
from m3u_strm.ingest.xtream import XtreamAccount, XtreamClient

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class ProviderSource:
    """What the fetch phase needs to know about a provider (a detached copy of the row)."""

    id: int
    name: str
    kind: str
    url: str
    username: str | None
    password: str | None
    epg_url: str | None
    user_agent: str | None
    max_connections: int | None


@dataclass
class FetchReport:
    http_status: int | None = None
    bytes_downloaded: int = 0
    entries_seen: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    account: XtreamAccount | None = None
    guide_path: Path | None = None
    refreshed_series: set[str] | None = None  # series whose episodes were fetched (None: all of them)

    def absorb(self, stats: FetchStats) -> None:
        self.bytes_downloaded += stats.bytes
        if stats.status_code is not None and (self.http_status is None or stats.status_code >= 400):
            self.http_status = stats.status_code


def _is_remote(location: str) -> bool:
    return urlsplit(location).scheme in {"http", "https"}


def _headers(source: ProviderSource, settings: Settings) -> dict[str, str]:
    return {"User-Agent": source.user_agent or settings.default_user_agent}


def playlist_parser(settings: Settings, source_name: str) -> M3UParser:
    """An M3U parser with the limits and scheme allow-list from the settings."""
    return M3UParser(
        source=source_name,
        allowed_schemes=settings.allowed_schemes,
        max_line_bytes=settings.max_line_bytes,
        max_entries=settings.max_entries,
        max_bytes=settings.max_playlist_bytes,
    )


def provider_client(settings: Settings) -> httpx.AsyncClient:
    """The HTTP client provider requests go through (timeouts from the settings; redirects followed)."""
    return httpx.AsyncClient(timeout=settings.fetch_timeout_seconds, follow_redirects=True)


def download(
    http: httpx.AsyncClient,
    url: str,
    settings: Settings,
    *,
    source: str,
    headers: dict[str, str],
    max_bytes: int,
    limit_setting: str = "max_playlist_bytes",
    stats: FetchStats | None = None,
) -> AsyncGenerator[bytes, None]:
    """:func:`stream_bytes` with the retry policy from the settings."""
    return stream_bytes(
        http, url, source=source, max_bytes=max_bytes, retries=settings.fetch_retries,
        max_retry_after=settings.fetch_max_retry_after_seconds, headers=headers, stats=stats,
        limit_setting=limit_setting,
    )  # fmt: skip


def _absorb_parse(report: FetchReport, parsed: ParseReport) -> None:
    report.entries_seen += parsed.entries
    report.skipped.update(parsed.skipped)
    report.skipped.update({f"repaired_{reason}": count for reason, count in parsed.repaired.items()})
    report.warnings.extend(parsed.warnings[:50])


def _spool_entries(parser: M3UParser, chunks: Iterable[bytes], spool: RowSpool) -> None:
    for chunk in chunks:
        for entry in parser.feed(chunk):
            for kind, row in m3u_rows(entry):
                spool.add(kind, row)
    for entry in parser.close():
        for kind, row in m3u_rows(entry):
            spool.add(kind, row)


async def fetch_m3u(
    http: httpx.AsyncClient, source: ProviderSource, settings: Settings, spool: RowSpool, report: FetchReport
) -> None:
    parser = playlist_parser(settings, source.name)
    if _is_remote(source.url):
        stats = FetchStats()
        try:
            async for chunk in download(
                http, source.url, settings, source=source.name, headers=_headers(source, settings),
                max_bytes=settings.max_playlist_bytes, stats=stats,
            ):  # fmt: skip
                _spool_entries(parser, (chunk,), spool)
            _spool_entries(parser, (), spool)
        finally:
            report.absorb(stats)
    else:
        local = read_local(source.url, max_bytes=settings.max_playlist_bytes)
        await anyio.to_thread.run_sync(_spool_entries, parser, local, spool)
        report.bytes_downloaded += parser.report.bytes_read
    _absorb_parse(report, parser.report)


async def fetch_xtream(
    http: httpx.AsyncClient,
    source: ProviderSource,
    settings: Settings,
    spool: RowSpool,
    report: FetchReport,
    *,
    known_series: dict[str, str],
) -> None:
    """Read an Xtream account: live, VOD, series, and episodes of series that are new or changed."""
    client = XtreamClient(
        http, source.url, source.username or "", source.password or "", live_format=settings.xtream_live_format,
        source=source.name, max_json_bytes=settings.max_json_bytes, retries=settings.fetch_retries,
        max_retry_after=settings.fetch_max_retry_after_seconds,
    )  # fmt: skip
    try:
        report.account = await client.authenticate()
        live_names = {c.id: c.name for c in await client.live_categories()}
        async for live in client.live_streams():
            spool.add(
                "streams",
                xtream_live_row(live, client.live_url(live.stream_id), live_names.get(live.category_id or "")),
            )
        vod_names = {c.id: c.name for c in await client.vod_categories()}
        async for movie in client.vod_streams():
            url = client.movie_url(movie.stream_id, movie.container_extension)
            spool.add("movies", xtream_movie_row(movie, url, vod_names.get(movie.category_id or "")))
        series_names = {c.id: c.name for c in await client.series_categories()}
        stale: list[tuple[int, str | None]] = []
        async for series in client.series():
            category = series_names.get(series.category_id or "")
            row = xtream_series_row(series, category)
            spool.add("series", row)
            if known_series.get(row["item_key"]) != row["content_hash"]:
                stale.append((series.series_id, category))
        report.refreshed_series = {f"series:{series_id}" for series_id, _ in stale}
        await _fetch_episodes(client, stale, spool, source.max_connections or 2)
    finally:
        report.account = client.account
        report.bytes_downloaded += client.bytes_read
        report.http_status = client.last_status
        report.skipped.update(client.skipped)
    report.entries_seen = spool.total


async def _fetch_episodes(
    client: XtreamClient, stale: list[tuple[int, str | None]], spool: RowSpool, concurrency: int
) -> None:
    limiter = asyncio.Semaphore(max(1, concurrency))

    async def one(series_id: int, category: str | None) -> None:
        async with limiter:
            episodes = await client.series_info(series_id)
        for episode in episodes:
            url = client.episode_url(episode.episode_id, episode.container_extension)
            spool.add("episodes", xtream_episode_row(episode, url, category))

    async with asyncio.TaskGroup() as group:
        for series_id, category in stale:
            group.create_task(one(series_id, category))


def _local_guide(location: str, report: FetchReport) -> Path | None:
    path = Path(location.removeprefix("file://")).expanduser()
    if path.is_file():
        return path
    report.warnings.append(f"Guide not updated: the guide file {str(path)!r} does not exist.")
    return None


def guide_location(source: ProviderSource) -> str | None:
    if source.epg_url:
        return source.epg_url
    if source.kind == "xtream" and source.username and source.password:
        query = urlencode({"username": source.username, "password": source.password})
        return f"{source.url.rstrip('/')}/xmltv.php?{query}"
    return None


async def fetch_guide(
    http: httpx.AsyncClient, source: ProviderSource, settings: Settings, spool: RowSpool, report: FetchReport
) -> None:
    """Download the provider's guide to the spool; a failure is a warning, never a failed sync."""
    location = guide_location(source)
    if location is None:
        return
    if not _is_remote(location):
        report.guide_path = await anyio.to_thread.run_sync(_local_guide, location, report)
        return
    path = spool.temp_file("guide.xml")
    stats = FetchStats()
    try:
        with path.open("wb") as handle:
            async for chunk in download(
                http, location, settings, source=f"{source.name} guide", headers=_headers(source, settings),
                max_bytes=settings.max_xmltv_bytes, limit_setting="max_xmltv_bytes", stats=stats,
            ):  # fmt: skip
                handle.write(chunk)
        report.guide_path = path
    except M3UStrmError as exc:
        report.warnings.append(f"Guide not updated: {exc}")
    finally:
        report.bytes_downloaded += stats.bytes
