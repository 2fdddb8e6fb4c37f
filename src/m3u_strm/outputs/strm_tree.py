"""``.strm`` trees from the catalogue: movies, series and (optionally) live channels, each file holding a gateway URL.

Each part is its own manifest scope (``movies``, ``series``, ``live``), so generating movies alone never cleans up
series files. The same movie or episode offered by several providers is written once: the provider with the higher
priority wins (then the lower id), and the others count as duplicates. Live channels are merged already; two that
share a name both get a file (``Name (2).strm``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from m3u_strm.db.models import Provider, VodEpisode, VodMovie, VodSeries
from m3u_strm.outputs import catalogue
from m3u_strm.outputs.links import PlayLinks
from m3u_strm.outputs.paths import episode_relpath, live_relpath, movie_relpath, split_title_year
from m3u_strm.outputs.strm_files import StrmFile, TreeReport, write_tree

__all__ = ["StrmRequest", "generate_strm"]

_BATCH = 2000


@dataclass(frozen=True, slots=True)
class StrmRequest:
    root: Path
    movies: bool = True
    series: bool = True
    live: bool = False
    genre_folders: bool = False
    clean: bool = True


@dataclass
class StrmSummary:
    root: Path
    parts: dict[str, TreeReport] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "output_dir": str(self.root),
            "parts": {
                scope: {
                    "created": r.created,
                    "updated": r.updated,
                    "unchanged": r.unchanged,
                    "removed": r.removed,
                    "renamed_collisions": r.renamed_collisions,
                    "duplicates": self.duplicates.get(scope, 0),
                    "errors": r.errors[:50],
                }
                for scope, r in self.parts.items()
            },
        }


class _Once:
    """Drops files whose path was produced already (case-insensitively), counting them."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.duplicates = 0

    def __call__(self, files: Iterator[StrmFile]) -> Iterator[StrmFile]:
        for item in files:
            key = str(item.relpath).casefold()
            if key in self.seen:
                self.duplicates += 1
                continue
            self.seen.add(key)
            yield item


def _year(value: str | None) -> int | None:
    digits = (value or "")[:4]
    return int(digits) if digits.isdigit() and 1870 < int(digits) < 2200 else None


def movie_files(session: Session, links: PlayLinks, *, genre_folders: bool) -> Iterator[StrmFile]:
    query = (
        select(VodMovie.id, VodMovie.name, VodMovie.year, VodMovie.category, VodMovie.url)
        .join(Provider, Provider.id == VodMovie.provider_id)
        .where(VodMovie.removed_at.is_(None), Provider.enabled.is_(True))
        .order_by(Provider.priority.desc(), Provider.id, VodMovie.id)
        .execution_options(yield_per=_BATCH)
    )
    for movie_id, name, year, category, url in session.execute(query):
        title, named_year = split_title_year(name)
        path = movie_relpath(title, year or named_year, genre=category if genre_folders else None)
        yield StrmFile(path, links.pick(links.movie(movie_id), url))


def episode_files(session: Session, links: PlayLinks, *, genre_folders: bool) -> Iterator[StrmFile]:
    query = (
        select(
            VodEpisode.id,
            VodEpisode.name,
            VodEpisode.season,
            VodEpisode.episode_num,
            VodEpisode.url,
            VodSeries.name,
            VodSeries.release_date,
            VodSeries.category,
        )
        .join(
            VodSeries, (VodSeries.provider_id == VodEpisode.provider_id) & (VodSeries.item_key == VodEpisode.series_key)
        )
        .join(Provider, Provider.id == VodEpisode.provider_id)
        .where(VodEpisode.removed_at.is_(None), VodSeries.removed_at.is_(None), Provider.enabled.is_(True))
        .order_by(Provider.priority.desc(), Provider.id, VodEpisode.id)
        .execution_options(yield_per=_BATCH)
    )
    for episode_id, title, season, number, url, series, released, category in session.execute(query):
        if season is None or number is None:
            continue  # a media server cannot place it; it stays playable from the catalogue
        show, named_year = split_title_year(series)
        path = episode_relpath(show, _year(released) or named_year, season, number, title,
                               genre=category if genre_folders else None)  # fmt: skip
        yield StrmFile(path, links.pick(links.episode(episode_id), url))


def live_files(session: Session, links: PlayLinks) -> Iterator[StrmFile]:
    for channel in catalogue.playlist_channels(session, links):
        yield StrmFile(live_relpath(channel.group, channel.name), channel.url)


def generate_strm(
    session: Session, links: PlayLinks, request: StrmRequest, *, progress: Callable[[str, int], None] | None = None
) -> StrmSummary:
    """Write the requested parts of the tree under ``request.root``; see the module docstring."""
    parts: dict[str, Callable[[], Iterator[StrmFile]]] = {}
    if request.movies:
        parts["movies"] = lambda: movie_files(session, links, genre_folders=request.genre_folders)
    if request.series:
        parts["series"] = lambda: episode_files(session, links, genre_folders=request.genre_folders)
    if request.live:
        parts["live"] = lambda: live_files(session, links)
    summary = StrmSummary(request.root)
    for scope, files in parts.items():
        once = _Once()
        tick = (lambda n, scope=scope: progress(scope, n)) if progress else None
        # Two live channels may share a name (an admin split one): both stay, the writer numbers the second.
        chosen = files() if scope == "live" else once(files())
        summary.parts[scope] = write_tree(request.root, chosen, scope=scope, clean=request.clean, progress=tick)
        summary.duplicates[scope] = once.duplicates
    return summary
