"""A deterministic, generated IPTV catalogue for the fake provider: live channels, movies, series and episodes.

Items are made on demand from their slot number with a cheap integer hash, so a catalogue of a million channels
costs nothing until it is iterated, and the same ``seed`` always gives the same names and ids::

    >>> catalogue = build_catalogue(live=3, movies=0, series=0)
    >>> [item.stream_id for item in catalogue.iter_live()]
    [1, 2, 3]

Names look like real provider lists: country prefixes in several spellings (``UK: BBC One HD``, ``|US| ESPN FHD``,
``[DE] Das Erste``), quality tags, backups, titles with commas and quotes, non-Latin scripts. :func:`mutate` derives
a changed catalogue (channels added, removed, renamed) for sync tests. With ``type_drift=True`` the Xtream JSON
records (:mod:`m3u_strm.demo.xtream_wire`) carry the type drift real panels send (numbers as strings, ``""`` for
numbers, null categories) plus a few records broken beyond repair, which a client must skip: see
:meth:`FakeCatalogue.is_broken`. The name tables live in :mod:`m3u_strm.demo.names`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

from m3u_strm.demo.names import (
    LIVE_CHANNELS,
    MOVIE_GENRES,
    MOVIE_NAME_STYLES,
    MOVIES,
    NAME_STYLES,
    NAME_SUFFIXES,
    QUALITY_TAGS,
    SERIES,
    SERIES_GENRES,
)

CategoryKind = Literal["live", "vod", "series"]
ItemKind = Literal["live", "vod", "series"]

MOVIE_ID_BASE = 10_000_000
EPISODE_ID_BASE = 20_000_000
MAX_EPISODES_PER_SERIES = 1_000
_MASK64 = (1 << 64) - 1
_KIND_SALT = {"live": 0x11, "vod": 0x22, "series": 0x33, "episode": 0x44, "drift": 0x55}
CONTAINERS = ("mkv", "mp4", "mp4", "avi")


@dataclass(frozen=True)
class FakeCategory:
    id: int
    name: str
    kind: CategoryKind


@dataclass(frozen=True)
class FakeLive:
    stream_id: int
    name: str
    category_id: int
    epg_channel_id: str | None
    icon: str | None  # a path on the provider ("/logos/x.png"); the server prefixes its base URL
    num: int


@dataclass(frozen=True)
class FakeMovie:
    stream_id: int
    name: str
    category_id: int
    container_extension: str
    rating: float
    year: int
    icon: str | None


@dataclass(frozen=True)
class FakeSeries:
    series_id: int
    name: str
    category_id: int
    cover: str | None
    plot: str
    rating: float


@dataclass(frozen=True)
class FakeEpisode:
    id: int
    series_id: int
    season: int
    episode_num: int
    title: str
    container_extension: str
    duration_secs: int


def _mix(seed: int, salt: int, index: int) -> int:
    """splitmix64 of (seed, salt, index): a fast, well-spread, platform-independent hash."""
    z = (seed * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9 + index * 0x94D049BB133111EB) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


@dataclass(frozen=True)
class _Overlay:
    """Changes applied to one kind by :func:`mutate`: slots added at the end, removed, renamed (slot → times)."""

    extra: int = 0
    removed: frozenset[int] = frozenset()
    renamed: dict[int, int] = field(default_factory=dict)


def _categories() -> tuple[FakeCategory, ...]:
    found: list[FakeCategory] = []
    for country, channels in LIVE_CHANNELS.items():
        for genre in dict.fromkeys(genre for genre, _, _ in channels):
            found.append(FakeCategory(len(found) + 1, f"{country} | {genre}", "live"))
    found += [FakeCategory(100 + i, name, "vod") for i, name in enumerate(MOVIE_GENRES)]
    found += [FakeCategory(200 + i, name, "series") for i, name in enumerate(SERIES_GENRES)]
    return tuple(found)


_CATEGORIES = _categories()
_LIVE_CATEGORY = {c.name: c.id for c in _CATEGORIES if c.kind == "live"}
# Providers carry many more UK and US channels than Greek ones: countries repeat on the wheel by weight.
_COUNTRY_WEIGHTS = {"UK": 8, "US": 8, "DE": 4, "FR": 4, "ES": 2, "IT": 2, "TR": 2, "GR": 1, "AR": 2}
_COUNTRIES = tuple(country for country, weight in _COUNTRY_WEIGHTS.items() for _ in range(weight))


@dataclass(frozen=True)
class FakeCatalogue:
    """A provider's whole catalogue, generated lazily. Build it with :func:`build_catalogue`."""

    live: int = 300
    movies: int = 100
    series: int = 20
    episodes_per_series: int = 6
    seed: int = 0
    type_drift: bool = False
    overlays: dict[str, _Overlay] = field(default_factory=dict)

    # -- categories ------------------------------------------------------------------------------------------
    def categories(self, kind: CategoryKind) -> list[FakeCategory]:
        return [c for c in _CATEGORIES if c.kind == kind]

    # -- slots -----------------------------------------------------------------------------------------------
    def _overlay(self, kind: ItemKind) -> _Overlay:
        return self.overlays.get(kind, _Overlay())

    def _base(self, kind: ItemKind) -> int:
        return {"live": self.live, "vod": self.movies, "series": self.series}[kind]

    def _slots(self, kind: ItemKind) -> Iterator[int]:
        overlay = self._overlay(kind)
        for slot in range(self._base(kind) + overlay.extra):
            if slot not in overlay.removed:
                yield slot

    def count(self, kind: ItemKind) -> int:
        overlay = self._overlay(kind)
        return self._base(kind) + overlay.extra - len(overlay.removed)

    def _has_slot(self, kind: ItemKind, slot: int) -> bool:
        overlay = self._overlay(kind)
        return 0 <= slot < self._base(kind) + overlay.extra and slot not in overlay.removed

    def _renamed(self, kind: ItemKind, slot: int, name: str) -> str:
        times = self._overlay(kind).renamed.get(slot, 0)
        return name if times == 0 else f"{name} (Alt {times})"

    # -- live ------------------------------------------------------------------------------------------------
    @property
    def live_count(self) -> int:
        return self.count("live")

    def live_at(self, slot: int) -> FakeLive:
        """The live channel in ``slot`` (its stream id is ``slot + 1``), whether or not it was removed."""
        h = _mix(self.seed, _KIND_SALT["live"], slot)
        country = _COUNTRIES[h % len(_COUNTRIES)]
        genre, display, epg = LIVE_CHANNELS[country][(h >> 8) % len(LIVE_CHANNELS[country])]
        style = NAME_STYLES[(h >> 16) % len(NAME_STYLES)]
        quality = QUALITY_TAGS[(h >> 20) % len(QUALITY_TAGS)]
        suffix = NAME_SUFFIXES[(h >> 24) % len(NAME_SUFFIXES)]
        name = style.format(cc=country, name=f"{display}{quality}{suffix}")
        return FakeLive(
            stream_id=slot + 1,
            name=self._renamed("live", slot, name),
            category_id=_LIVE_CATEGORY[f"{country} | {genre}"],
            epg_channel_id=None if (h >> 30) % 10 == 0 else epg,
            icon=None if (h >> 34) % 8 == 0 else f"/logos/{epg}.png",
            num=slot + 1,
        )

    def iter_live(self, category_id: int | None = None) -> Iterator[FakeLive]:
        for slot in self._slots("live"):
            item = self.live_at(slot)
            if category_id is None or item.category_id == category_id:
                yield item

    def live_by_id(self, stream_id: int) -> FakeLive | None:
        slot = stream_id - 1
        return self.live_at(slot) if self._has_slot("live", slot) else None

    # -- movies ----------------------------------------------------------------------------------------------
    def movie_at(self, slot: int) -> FakeMovie:
        h = _mix(self.seed, _KIND_SALT["vod"], slot)
        title, year, genre = MOVIES[_permuted(self.seed, slot, len(MOVIES))]
        cycle = slot // len(MOVIES)
        name = MOVIE_NAME_STYLES[min(cycle, len(MOVIE_NAME_STYLES) - 1)].format(title=title, year=year, cycle=cycle)
        stream_id = MOVIE_ID_BASE + slot + 1
        return FakeMovie(
            stream_id=stream_id,
            name=self._renamed("vod", slot, name),
            category_id=100 + MOVIE_GENRES.index(genre),
            container_extension=CONTAINERS[(h >> 8) % len(CONTAINERS)],
            rating=round(4.0 + (h % 56) / 10, 1),
            year=year,
            icon=None if (h >> 16) % 10 == 0 else f"/logos/movie-{stream_id}.png",
        )

    def iter_movies(self, category_id: int | None = None) -> Iterator[FakeMovie]:
        for slot in self._slots("vod"):
            item = self.movie_at(slot)
            if category_id is None or item.category_id == category_id:
                yield item

    def movie_by_id(self, stream_id: int) -> FakeMovie | None:
        slot = stream_id - MOVIE_ID_BASE - 1
        return self.movie_at(slot) if self._has_slot("vod", slot) else None

    # -- series and episodes ---------------------------------------------------------------------------------
    def series_at(self, slot: int) -> FakeSeries:
        h = _mix(self.seed, _KIND_SALT["series"], slot)
        title, genre, plot = SERIES[_permuted(self.seed + 1, slot, len(SERIES))]
        cycle = slot // len(SERIES)
        name = title if cycle == 0 else f"{title} ({2000 + cycle})"
        return FakeSeries(
            series_id=slot + 1,
            name=self._renamed("series", slot, name),
            category_id=200 + SERIES_GENRES.index(genre),
            cover=None if (h >> 16) % 10 == 0 else f"/logos/series-{slot + 1}.png",
            plot=plot,
            rating=round(5.0 + (h % 46) / 10, 1),
        )

    def iter_series(self, category_id: int | None = None) -> Iterator[FakeSeries]:
        for slot in self._slots("series"):
            item = self.series_at(slot)
            if category_id is None or item.category_id == category_id:
                yield item

    def series_by_id(self, series_id: int) -> FakeSeries | None:
        slot = series_id - 1
        return self.series_at(slot) if self._has_slot("series", slot) else None

    def episodes_of(self, series_id: int) -> list[FakeEpisode]:
        """Episodes of one series, spread over one to three seasons; ``[]`` for an unknown series."""
        show = self.series_by_id(series_id)
        if show is None:
            return []
        h = _mix(self.seed, _KIND_SALT["episode"], series_id)
        seasons = min(1 + h % 3, max(1, self.episodes_per_series))
        per_season = -(-self.episodes_per_series // seasons)
        episodes = []
        for n in range(self.episodes_per_series):
            season, number = 1 + n // per_season, 1 + n % per_season
            episodes.append(
                FakeEpisode(
                    id=EPISODE_ID_BASE + (series_id - 1) * MAX_EPISODES_PER_SERIES + n + 1,
                    series_id=series_id,
                    season=season,
                    episode_num=number,
                    title=f"{show.name} S{season:02d} E{number:02d}",
                    container_extension=CONTAINERS[(h >> (8 + n % 40)) % len(CONTAINERS)],
                    duration_secs=1200 + (_mix(h, 1, n) % 2400),
                )
            )
        return episodes

    def iter_episodes(self) -> Iterator[FakeEpisode]:
        for show in self.iter_series():
            yield from self.episodes_of(show.series_id)

    # -- type drift ------------------------------------------------------------------------------------------
    def drift(self, kind: str, item_id: int) -> int:
        """A per-record number choosing how this record drifts (only used with ``type_drift``)."""
        return _mix(self.seed, _KIND_SALT["drift"] + len(kind), item_id)

    def is_broken(self, kind: Literal["live", "vod", "series", "episode"], item_id: int) -> bool:
        """Whether the record is sent broken beyond repair (no usable id or name): about 1 in 40, drift only."""
        return self.type_drift and self.drift(kind, item_id) % 40 == 7


def _permuted(seed: int, slot: int, size: int) -> int:
    """Visit every entry of a table of ``size`` once per cycle, in a seed-dependent order."""
    order = _PERMUTATIONS.get((seed, size))
    if order is None:
        order = random.Random(seed).sample(range(size), size)
        _PERMUTATIONS[(seed, size)] = order
    return order[slot % size]


_PERMUTATIONS: dict[tuple[int, int], list[int]] = {}


def build_catalogue(
    *,
    live: int = 300,
    movies: int = 100,
    series: int = 20,
    episodes_per_series: int = 6,
    seed: int = 0,
    type_drift: bool = False,
) -> FakeCatalogue:
    """A deterministic catalogue: the same arguments always give the same ids, names and categories."""
    if min(live, movies, series, episodes_per_series) < 0:
        raise ValueError("catalogue sizes must not be negative")
    if episodes_per_series > MAX_EPISODES_PER_SERIES:
        raise ValueError(f"at most {MAX_EPISODES_PER_SERIES} episodes per series")
    return FakeCatalogue(live, movies, series, episodes_per_series, seed, type_drift)


def mutate(
    catalogue: FakeCatalogue,
    *,
    add: int = 0,
    remove: int = 0,
    rename: int = 0,
    kinds: tuple[ItemKind, ...] = ("live",),
    seed: int = 1,
) -> FakeCatalogue:
    """A changed copy: for each of ``kinds``, ``add`` new items (new ids), ``remove`` and ``rename`` existing ones.

    Removed and renamed items are picked deterministically from ``seed``; the rest keep their ids and names, so a
    sync of the result must report exactly these adds, removals and updates. Mutations can be chained.
    """
    overlays = dict(catalogue.overlays)
    for kind in kinds:
        overlays[kind] = _mutated(catalogue, kind, add, remove, rename, seed)
    return replace(catalogue, overlays=overlays)


def _mutated(catalogue: FakeCatalogue, kind: ItemKind, add: int, remove: int, rename: int, seed: int) -> _Overlay:
    old = catalogue._overlay(kind)
    visible = catalogue.count(kind)
    if remove + rename > visible:
        raise ValueError(f"cannot remove and rename {remove + rename} of {visible} {kind} items")
    rng = random.Random(f"{catalogue.seed}:{seed}:{kind}")
    slots = catalogue._base(kind) + old.extra
    chosen: list[int] = []
    taken = set(old.removed)
    while len(chosen) < remove + rename:
        slot = rng.randrange(slots)
        if slot not in taken:
            taken.add(slot)
            chosen.append(slot)
    renamed = dict(old.renamed)
    for slot in chosen[remove:]:
        renamed[slot] = renamed.get(slot, 0) + 1
    return _Overlay(
        extra=old.extra + add,
        removed=old.removed | frozenset(chosen[:remove]),
        renamed=renamed,
    )
