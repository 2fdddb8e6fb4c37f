"""Pure mapping from parsed provider records to catalogue rows, with their stable keys and content hashes.

A row is a plain dict whose keys are the payload columns of the target table (see ``PAYLOAD_COLUMNS``) plus
``item_key`` and ``content_hash``. Keys are stable across syncs so that ids and history survive:

* Xtream records: ``live:<stream_id>``, ``movie:<stream_id>``, ``series:<series_id>``, ``episode:<id>``;
* M3U entries: a hash of the URL and the tvg-id (or the name when there is no tvg-id).

M3U entries are sorted by their URL path, the way Xtream-style playlists lay them out: ``/movie/`` is a movie,
``/series/`` an episode (its series taken from a ``Show S01 E02`` title), everything else a live stream.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal

from m3u_strm.ingest.m3u import M3UEntry
from m3u_strm.ingest.xtream_records import XtreamEpisode, XtreamLive, XtreamMovie, XtreamSeries

Kind = Literal["streams", "movies", "series", "episodes"]
Row = dict[str, Any]

PAYLOAD_COLUMNS: dict[Kind, tuple[str, ...]] = {
    "streams": (
        "name", "category", "url", "url_hash", "xtream_id", "tvg_id", "tvg_name", "logo", "number",
        "user_agent", "referrer", "kodi_props", "attrs",
    ),
    "movies": ("name", "category", "url", "url_hash", "xtream_id", "container_extension", "logo", "rating", "year"),
    "series": ("name", "category", "xtream_id", "cover", "plot", "rating", "release_date"),
    "episodes": (
        "name", "category", "series_key", "url", "url_hash", "xtream_id", "season", "episode_num",
        "container_extension", "duration_secs",
    ),
}  # fmt: skip

#: Column order of a staged row: what :func:`staging_values` returns and the staging tables hold.
STAGING_COLUMNS: dict[Kind, tuple[str, ...]] = {
    kind: ("item_key", "content_hash", *columns) for kind, columns in PAYLOAD_COLUMNS.items()
}

_EPISODE_TITLE = re.compile(r"^(?P<show>.*?)[\s._-]*S(?P<season>\d{1,3})[\s._-]*E(?P<episode>\d{1,4})\b", re.I)
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{2,5})(?:$|[?#])")


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def url_hash(url: str) -> str:
    """SHA-256 of a stream URL: lets history and audit refer to a URL without holding it."""
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def finish_row(kind: Kind, item_key: str, payload: Row) -> Row:
    """Add ``item_key`` and a ``content_hash`` over the payload columns.

    ``repr`` of the values is stable for the types a row holds (str, int, float, None, and dicts whose order is
    the provider's own) and several times cheaper than JSON, which matters at a million rows a sync.
    """
    payload["item_key"] = item_key
    payload["content_hash"] = _digest(repr([payload.get(column) for column in PAYLOAD_COLUMNS[kind]]))
    return payload


_json_text = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _driver_value(value: Any) -> Any:
    if type(value) is dict:
        return _json_text(value) if value else "{}"
    return value


def staging_values(kind: Kind, row: Row) -> tuple[Any, ...]:
    """A row as a tuple in ``STAGING_COLUMNS`` order; dict values as JSON text, ready for the driver."""
    return tuple([_driver_value(value) for value in map(row.get, STAGING_COLUMNS[kind])])


def classify_url(url: str) -> Kind:
    path = url.split("?", 1)[0].lower()
    if "/movie/" in path:
        return "movies"
    if "/series/" in path:
        return "episodes"
    return "streams"


def _extension(url: str) -> str | None:
    match = _EXTENSION.search(url)
    return match.group(1).lower() if match else None


def _trailing_id(url: str) -> int | None:
    stem = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1].split(".", 1)[0]
    return int(stem) if stem.isdigit() and len(stem) < 18 else None


def m3u_rows(entry: M3UEntry) -> list[tuple[Kind, Row]]:
    """Rows for one M3U entry: one stream or movie, or an episode plus its series."""
    kind = classify_url(entry.url)
    key = _digest(f"{entry.url}\x1f{entry.tvg_id or entry.title}")
    common: Row = {"name": entry.title, "category": entry.group, "url": entry.url, "url_hash": url_hash(entry.url)}
    if kind == "movies":
        payload = common | {
            "xtream_id": _trailing_id(entry.url),
            "container_extension": _extension(entry.url),
            "logo": entry.tvg_logo,
            "rating": None,
            "year": None,
        }
        return [(kind, finish_row(kind, f"m3u:{key}", payload))]
    if kind == "episodes":
        return _m3u_episode_rows(entry, key, common)
    payload = common | {
        "xtream_id": None,
        "tvg_id": entry.tvg_id,
        "tvg_name": entry.tvg_name,
        "logo": entry.tvg_logo,
        "number": entry.tvg_chno,
        "user_agent": entry.user_agent,
        "referrer": entry.referrer,
        "kodi_props": dict(entry.kodi_props),
        "attrs": dict(entry.attrs),
    }
    return [("streams", finish_row("streams", f"m3u:{key}", payload))]


def _m3u_episode_rows(entry: M3UEntry, key: str, common: Row) -> list[tuple[Kind, Row]]:
    match = _EPISODE_TITLE.match(entry.title)
    show = (match.group("show").strip(" -_.") if match else "") or entry.group or entry.title
    series_key = f"m3u-series:{_digest(show.casefold())}"
    series = finish_row(
        "series",
        series_key,
        {"name": show, "category": entry.group, "xtream_id": None, "cover": entry.tvg_logo, "plot": None,
         "rating": None, "release_date": None},
    )  # fmt: skip
    episode = common | {
        "series_key": series_key,
        "xtream_id": _trailing_id(entry.url),
        "season": int(match.group("season")) if match else None,
        "episode_num": int(match.group("episode")) if match else None,
        "container_extension": _extension(entry.url),
        "duration_secs": int(entry.duration) if entry.duration and entry.duration > 0 else None,
    }
    return [("series", series), ("episodes", finish_row("episodes", f"m3u:{key}", episode))]


def xtream_live_row(record: XtreamLive, url: str, category: str | None) -> Row:
    payload: Row = {
        "name": record.name,
        "category": category,
        "url": url,
        "url_hash": url_hash(url),
        "xtream_id": record.stream_id,
        "tvg_id": record.epg_channel_id,
        "tvg_name": record.name,
        "logo": record.icon,
        "number": None if record.num is None else str(record.num),
        "user_agent": None,
        "referrer": None,
        "kodi_props": {},
        "attrs": {"tv_archive": "1"} if record.tv_archive else {},
    }
    return finish_row("streams", f"live:{record.stream_id}", payload)


def xtream_movie_row(record: XtreamMovie, url: str, category: str | None) -> Row:
    payload: Row = {
        "name": record.name,
        "category": category,
        "url": url,
        "url_hash": url_hash(url),
        "xtream_id": record.stream_id,
        "container_extension": record.container_extension,
        "logo": record.icon,
        "rating": record.rating,
        "year": record.year,
    }
    return finish_row("movies", f"movie:{record.stream_id}", payload)


def xtream_series_row(record: XtreamSeries, category: str | None) -> Row:
    payload: Row = {
        "name": record.name,
        "category": category,
        "xtream_id": record.series_id,
        "cover": record.cover,
        "plot": record.plot,
        "rating": record.rating,
        "release_date": record.release_date,
    }
    return finish_row("series", f"series:{record.series_id}", payload)


def xtream_episode_row(record: XtreamEpisode, url: str, category: str | None) -> Row:
    payload: Row = {
        "name": record.title,
        "category": category,
        "series_key": f"series:{record.series_id}",
        "url": url,
        "url_hash": url_hash(url),
        "xtream_id": record.episode_id,
        "season": record.season,
        "episode_num": record.episode_num,
        "container_extension": record.container_extension,
        "duration_secs": record.duration_secs,
    }
    return finish_row("episodes", f"episode:{record.episode_id}", payload)
