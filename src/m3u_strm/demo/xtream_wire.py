"""The demo catalogue as Xtream Codes JSON: the records ``player_api.php`` answers with, written like PHP writes them.

Canonical records follow what Xtream UI panels send (ids as numbers, category ids and timestamps as strings). With
the catalogue's ``type_drift`` each field takes one of the shapes seen in the wild, chosen per record, and about one
record in forty is broken beyond repair (see :meth:`~m3u_strm.demo.catalogue.FakeCatalogue.is_broken`)::

    record = live_record(catalogue, catalogue.live_at(0), "http://127.0.0.1:8080")
    dumps_php([record])  # '[{"num":1,"name":"TCM \\"Turner Classic Movies\\" SD",...,"stream_icon":"http:\\/\\/127...'
"""

from __future__ import annotations

import json
from typing import Any

from m3u_strm.demo.catalogue import (
    MOVIE_ID_BASE,
    FakeCatalogue,
    FakeEpisode,
    FakeLive,
    FakeMovie,
    FakeSeries,
)

ADDED_BASE = 1_700_000_000  # "added" timestamps: a fixed day in 2023 plus a per-item offset


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
