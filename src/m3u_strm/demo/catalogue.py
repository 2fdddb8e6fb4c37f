"""A deterministic, generated IPTV catalogue for the fake provider: live channels, movies, series and episodes.

Items are made on demand from their slot number with a cheap integer hash, so a catalogue of a million channels
costs nothing until it is iterated, and the same ``seed`` always gives the same names and ids::

    >>> catalogue = build_catalogue(live=3, movies=0, series=0)
    >>> [item.stream_id for item in catalogue.iter_live()]
    [1, 2, 3]

Names look like real provider lists: country prefixes in several spellings (``UK: BBC One HD``, ``|US| ESPN FHD``,
``[DE] Das Erste``), quality tags, backups, titles with commas and quotes, non-Latin scripts. :func:`mutate` derives
a changed catalogue (channels added, removed, renamed) for sync tests. With ``type_drift=True`` the Xtream JSON
records carry the type drift real panels send (numbers as strings, ``""`` for numbers, null categories) plus a few
records broken beyond repair, which a client must skip: see :meth:`FakeCatalogue.is_broken`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

CategoryKind = Literal["live", "vod", "series"]
ItemKind = Literal["live", "vod", "series"]

MOVIE_ID_BASE = 10_000_000
EPISODE_ID_BASE = 20_000_000
MAX_EPISODES_PER_SERIES = 1_000
ADDED_BASE = 1_700_000_000  # "added" timestamps: a fixed day in 2023 plus a per-item offset
_MASK64 = (1 << 64) - 1
_KIND_SALT = {"live": 0x11, "vod": 0x22, "series": 0x33, "episode": 0x44, "drift": 0x55}

# -- name tables -------------------------------------------------------------------------------------------------
# (genre, display name, EPG id). The same channel recurs under different prefixes and quality tags, as it does
# across real providers.
LIVE_CHANNELS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "UK": (
        ("Entertainment", "BBC One", "bbcone.uk"), ("Entertainment", "BBC Two", "bbctwo.uk"),
        ("Entertainment", "ITV1", "itv1.uk"), ("Entertainment", "Channel 4", "channel4.uk"),
        ("Entertainment", "Sky Atlantic", "skyatlantic.uk"), ("Entertainment", "Dave", "dave.uk"),
        ("News", "BBC News", "bbcnews.uk"), ("News", "Sky News", "skynews.uk"),
        ("Sports", "Sky Sports Main Event", "skysportsmainevent.uk"), ("Sports", "Sky Sports 1", "skysports1.uk"),
        ("Sports", "TNT Sports 1", "tntsports1.uk"), ("Movies", "Sky Cinema Premiere", "skycinemapremiere.uk"),
        ("Movies", "Film4", "film4.uk"), ("Kids", "CBeebies", "cbeebies.uk"),
    ),
    "US": (
        ("Entertainment", "NBC", "nbc.us"), ("Entertainment", "ABC", "abc.us"), ("Entertainment", "CBS", "cbs.us"),
        ("Entertainment", "AMC", "amc.us"), ("News", "CNN", "cnn.us"), ("News", "FOX News", "foxnews.us"),
        ("News", "MSNBC", "msnbc.us"), ("Sports", "ESPN", "espn.us"), ("Sports", "ESPN2", "espn2.us"),
        ("Sports", "NBA TV", "nbatv.us"), ("Movies", "HBO", "hbo.us"), ("Movies", "Showtime", "showtime.us"),
        ("Movies", 'TCM "Turner Classic Movies"', "tcm.us"), ("Movies", "Classic Movies, 24/7", "classic247.us"),
        ("Documentary", "Discovery Channel", "discovery.us"), ("Documentary", "National Geographic", "natgeo.us"),
    ),
    "DE": (
        ("Allgemein", "Das Erste", "daserste.de"), ("Allgemein", "ZDF", "zdf.de"), ("Allgemein", "RTL", "rtl.de"),
        ("Allgemein", "Sat.1", "sat1.de"), ("Allgemein", "ProSieben", "prosieben.de"),
        ("Nachrichten", "n-tv", "ntv.de"), ("Nachrichten", "WELT", "welt.de"),
        ("Sport", "Sky Sport Bundesliga 1", "skysportbundesliga1.de"), ("Sport", "SPORT1", "sport1.de"),
        ("Kinder", "KiKA", "kika.de"),
    ),
    "FR": (
        ("Généraliste", "TF1", "tf1.fr"), ("Généraliste", "France 2", "france2.fr"), ("Généraliste", "M6", "m6.fr"),
        ("Généraliste", "Arte", "arte.fr"), ("Info", "BFM TV", "bfmtv.fr"), ("Info", "franceinfo", "franceinfo.fr"),
        ("Sport", "Canal+ Sport", "canalplussport.fr"), ("Sport", "beIN Sports 1", "beinsports1.fr"),
        ("Cinéma", "Canal+ Cinéma", "canalpluscinema.fr"),
    ),
    "ES": (
        ("General", "La 1", "la1.es"), ("General", "Antena 3", "antena3.es"), ("General", "Telecinco", "telecinco.es"),
        ("Deportes", "Movistar LaLiga", "movistarlaliga.es"), ("Deportes", "DAZN LaLiga", "daznlaliga.es"),
    ),
    "IT": (
        ("Generale", "Rai 1", "rai1.it"), ("Generale", "Canale 5", "canale5.it"),
        ("Generale", "Italia 1", "italia1.it"), ("Sport", "Sky Sport Uno", "skysportuno.it"),
    ),
    "TR": (
        ("Ulusal", "TRT 1", "trt1.tr"), ("Ulusal", "Show TV", "showtv.tr"),
        ("Spor", "beIN Sports Haber", "beinhaber.tr"),
    ),
    "GR": (("Γενικά", "ΕΡΤ1", "ert1.gr"), ("Γενικά", "ANT1", "ant1.gr")),  # noqa: RUF001 (Greek on purpose)
    "AR": (
        ("News", "الجزيرة", "aljazeera.qa"), ("News", "Al Arabiya", "alarabiya.ae"),
        ("Entertainment", "MBC 1", "mbc1.ae"),
    ),
}  # fmt: skip
NAME_STYLES = ("{cc}: {name}", "|{cc}| {name}", "{cc} | {name}", "[{cc}] {name}", "{cc}-{name}", "{name}")
QUALITY_TAGS = ("", " HD", " HD", " FHD", " SD", " 4K", " UHD", " HEVC", " ᴴᴰ")
NAME_SUFFIXES = ("",) * 12 + (" (Backup)", " +1", " (720p)", " [Geo-blocked]")

MOVIE_GENRES = ("Action", "Comedy", "Drama", "Western", "Science Fiction", "Kids", "Documentary")
MOVIE_NAME_STYLES = ("{title} ({year})", "{title} 4K", "|EN| {title} ({year})", "{title} ({year}) MULTI-SUB",
                     "{title} ({year}) v{cycle}")  # fmt: skip
MOVIES: tuple[tuple[str, int, str], ...] = (
    ("The Good, the Bad and the Ugly", 1966, "Western"), ("Once Upon a Time in the West", 1968, "Western"),
    ("Unforgiven", 1992, "Western"), ("True Grit", 2010, "Western"), ("Die Hard", 1988, "Action"),
    ("Mad Max: Fury Road", 2015, "Action"), ("John Wick", 2014, "Action"), ("Heat", 1995, "Action"),
    ("The Dark Knight", 2008, "Action"), ("Gladiator", 2000, "Action"), ("Top Gun: Maverick", 2022, "Action"),
    ("Some Like It Hot", 1959, "Comedy"), ("Airplane!", 1980, "Comedy"), ("Groundhog Day", 1993, "Comedy"),
    ("The Big Lebowski", 1998, "Comedy"), ("Monty Python's Life of Brian", 1979, "Comedy"),
    ('"Crocodile" Dundee', 1986, "Comedy"), ("Amélie", 2001, "Comedy"), ("Schindler's List", 1993, "Drama"),
    ("The Shawshank Redemption", 1994, "Drama"), ("12 Angry Men", 1957, "Drama"), ("Parasite", 2019, "Drama"),
    ("Das Boot", 1981, "Drama"), ("Cinema Paradiso", 1988, "Drama"), ("The Godfather", 1972, "Drama"),
    ("Crouching Tiger, Hidden Dragon", 2000, "Drama"), ("Dr. Strangelove or: How I Learned to Stop Worrying "
    "and Love the Bomb", 1964, "Comedy"), ("Blade Runner", 1982, "Science Fiction"),
    ("2001: A Space Odyssey", 1968, "Science Fiction"), ("Alien", 1979, "Science Fiction"),
    ("The Matrix", 1999, "Science Fiction"), ("Arrival", 2016, "Science Fiction"),
    ("Dune: Part Two", 2024, "Science Fiction"), ("Spirited Away", 2001, "Kids"), ("Toy Story", 1995, "Kids"),
    ("Paddington 2", 2017, "Kids"), ("WALL·E", 2008, "Kids"), ("My Neighbor Totoro", 1988, "Kids"),
    ("March of the Penguins", 2005, "Documentary"), ("Free Solo", 2018, "Documentary"),
    ("Man on Wire", 2008, "Documentary"), ("Jiro Dreams of Sushi", 2011, "Documentary"),
)  # fmt: skip
CONTAINERS = ("mkv", "mp4", "mp4", "avi")

SERIES_GENRES = ("Drama Series", "Crime Series", "Comedy Series", "Kids Series", "Documentary Series")
SERIES: tuple[tuple[str, str, str], ...] = (
    ("Breaking Bad", "Crime Series", "A chemistry teacher turns to making methamphetamine."),
    ("The Wire", "Crime Series", "Baltimore, seen through its drug trade, police, schools and press."),
    ("Sherlock", "Crime Series", "A modern take on the consulting detective."),
    ("Dark", "Drama Series", "Four families, a missing child and a cave in a German town."),
    ("Money Heist", "Crime Series", "Eight robbers take over the Royal Mint of Spain."),
    ("The Crown", "Drama Series", "The reign of Queen Elizabeth II."),
    ("Succession", "Drama Series", "A media dynasty fights over who will take over."),
    ("Babylon Berlin", "Drama Series", "Berlin, 1929: a police inspector, a typist and a city on the edge."),
    ("Fleabag", "Comedy Series", "A woman in London, grief, guilt and a café, talking to the camera."),
    ("The Office", "Comedy Series", "A mockumentary about paper-company employees."),
    ("Parks and Recreation", "Comedy Series", "A small-town parks department, and its deputy director's plans."),
    ("Bluey", "Kids Series", "A Blue Heeler puppy and her family turn everyday life into play."),
    ("Peppa Pig", "Kids Series", "A little pig, her brother George, and muddy puddles."),
    ("Planet Earth", "Documentary Series", "The natural world, from pole to pole."),
    ("Chef's Table", "Documentary Series", "Portraits of the world's most renowned chefs."),
    ("Borgen", "Drama Series", "A Danish politician becomes prime minister."),
    ("Narcos", "Crime Series", 'The rise and fall of Colombia\'s "King of Cocaine".'),
    ("Gomorrah", "Crime Series", "Naples, Camorra clans, and the war between them."),
)  # fmt: skip


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


# -- Xtream wire records ---------------------------------------------------------------------------------------
#
# Canonical records follow what Xtream UI panels send (ids as numbers, category ids and timestamps as strings).
# With type drift each field takes one of the shapes seen in the wild, chosen per record.


def _pick(choice: int, shift: int, *options: Any) -> Any:
    return options[(choice >> shift) % len(options)]


def _url(base: str, path: str | None) -> str:
    return f"{base}{path}" if path else ""


def live_record(catalogue: FakeCatalogue, item: FakeLive, base: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "num": item.num,
        "name": item.name,
        "stream_type": "live",
        "stream_id": item.stream_id,
        "stream_icon": _url(base, item.icon),
        "epg_channel_id": item.epg_channel_id,
        "added": str(ADDED_BASE + item.stream_id * 60),
        "is_adult": "0",
        "category_id": str(item.category_id),
        "category_ids": [item.category_id],
        "custom_sid": "",
        "tv_archive": 0,
        "direct_source": "",
        "tv_archive_duration": 0,
    }
    if catalogue.type_drift:
        _drift_live(record, catalogue.drift("live", item.stream_id), catalogue.is_broken("live", item.stream_id))
    return record


def _drift_live(record: dict[str, Any], d: int, broken: bool) -> None:
    record["stream_id"] = _pick(d, 0, record["stream_id"], str(record["stream_id"]))
    record["num"] = _pick(d, 1, record["num"], str(record["num"]), "")
    record["category_id"] = _pick(d, 3, record["category_id"], int(record["category_id"]), None)
    record["tv_archive"] = _pick(d, 5, 0, "0", "1", 1)
    record["added"] = _pick(d, 7, record["added"], int(record["added"]), "")
    if record["epg_channel_id"] is None:
        record["epg_channel_id"] = _pick(d, 9, None, "")
    if broken:
        _break(record, "stream_id", d)


def _break(record: dict[str, Any], id_key: str, d: int) -> None:
    key, value = _pick(d, 12, (id_key, ""), (id_key, "n/a"), (id_key, None), ("name", None), ("name", ""))
    record[key] = value


def movie_record(catalogue: FakeCatalogue, item: FakeMovie, base: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "num": item.stream_id - MOVIE_ID_BASE,
        "name": item.name,
        "stream_type": "movie",
        "stream_id": item.stream_id,
        "stream_icon": _url(base, item.icon),
        "rating": str(item.rating),
        "rating_5based": round(item.rating / 2, 1),
        "year": str(item.year),
        "added": str(ADDED_BASE + item.stream_id % 10_000_000 * 60),
        "is_adult": "0",
        "category_id": str(item.category_id),
        "category_ids": [item.category_id],
        "container_extension": item.container_extension,
        "custom_sid": "",
        "direct_source": "",
    }
    if catalogue.type_drift:
        d = catalogue.drift("vod", item.stream_id)
        record["stream_id"] = _pick(d, 0, item.stream_id, str(item.stream_id))
        record["rating"] = _pick(d, 1, item.rating, str(item.rating), f"{item.rating:.2f}")
        record["year"] = _pick(d, 3, item.year, str(item.year))
        record["category_id"] = _pick(d, 5, record["category_id"], item.category_id, None)
        record["added"] = _pick(d, 7, record["added"], int(record["added"]))
        if catalogue.is_broken("vod", item.stream_id):
            _break(record, "stream_id", d)
    return record


def series_record(catalogue: FakeCatalogue, item: FakeSeries, base: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "num": item.series_id,
        "name": item.name,
        "series_id": item.series_id,
        "cover": _url(base, item.cover),
        "plot": item.plot,
        "cast": "",
        "director": "",
        "genre": "",
        "releaseDate": f"{2005 + item.series_id % 18}-0{1 + item.series_id % 9}-15",
        "last_modified": str(ADDED_BASE + item.series_id * 3600),
        "rating": str(item.rating),
        "rating_5based": round(item.rating / 2, 1),
        "backdrop_path": [],
        "youtube_trailer": "",
        "episode_run_time": "45",
        "category_id": str(item.category_id),
        "category_ids": [item.category_id],
    }
    if catalogue.type_drift:
        d = catalogue.drift("series", item.series_id)
        record["series_id"] = _pick(d, 0, item.series_id, str(item.series_id))
        record["rating"] = _pick(d, 1, item.rating, str(item.rating), "")
        record["category_id"] = _pick(d, 3, record["category_id"], item.category_id, None)
        if catalogue.is_broken("series", item.series_id):
            _break(record, "series_id", d)
    return record


def episode_record(catalogue: FakeCatalogue, item: FakeEpisode) -> dict[str, Any]:
    minutes, seconds = divmod(item.duration_secs, 60)
    record: dict[str, Any] = {
        "id": str(item.id),
        "episode_num": item.episode_num,
        "title": item.title,
        "container_extension": item.container_extension,
        "info": {"duration_secs": item.duration_secs, "duration": f"00:{minutes:02d}:{seconds:02d}"},
        "custom_sid": "",
        "added": str(ADDED_BASE + item.id % 1_000_000),
        "season": item.season,
        "direct_source": "",
    }
    if catalogue.type_drift:
        d = catalogue.drift("episode", item.id)
        record["id"] = _pick(d, 0, record["id"], item.id)
        record["episode_num"] = _pick(d, 1, item.episode_num, str(item.episode_num))
        record["season"] = _pick(d, 3, item.season, str(item.season))
        record["info"] = _pick(d, 5, record["info"], {"duration": record["info"]["duration"]})
        if catalogue.is_broken("episode", item.id):
            record["id"] = _pick(d, 12, "", None, "x")
    return record


def series_info_record(catalogue: FakeCatalogue, series_id: int, base: str) -> dict[str, Any]:
    """``get_series_info``: episodes keyed by season; with drift, a list of seasons for odd series ids."""
    show = catalogue.series_by_id(series_id)
    if show is None:
        return {"seasons": [], "info": [], "episodes": []}
    by_season: dict[str, list[dict[str, Any]]] = {}
    for episode in catalogue.episodes_of(series_id):
        by_season.setdefault(str(episode.season), []).append(episode_record(catalogue, episode))
    episodes: Any = by_season
    if catalogue.type_drift and series_id % 2 == 1:
        episodes = list(by_season.values())
    info = series_record(catalogue, show, base)
    seasons = [{"season_number": int(s), "name": f"Season {s}", "episode_count": len(v)} for s, v in by_season.items()]
    return {"seasons": seasons, "info": info, "episodes": episodes}


def dumps_php(record: Any) -> str:
    """JSON the way PHP's json_encode writes it (escaped slashes, ASCII only): what real panels send."""
    return json.dumps(record, separators=(",", ":")).replace("/", "\\/")
