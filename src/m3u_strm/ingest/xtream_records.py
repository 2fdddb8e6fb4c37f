"""Xtream Codes records: the dataclasses a client hands out, and the functions that read them from drifting JSON.

Real panels drift in their types (``"stream_id":"12"`` or ``12``, ``""`` for a missing number, ``null`` categories,
ratings as numbers or strings, ``episodes`` keyed by season or as a list); every field goes through a small
coercion function (:func:`to_int`, :func:`to_float`, :func:`to_str_or_none`, :func:`to_datetime_from_unix`). A
``parse_*`` function returns ``None`` for a record whose id or name cannot be read, so the caller can skip and
count it::

    >>> parse_live({"stream_id": "12", "name": " BBC One ", "tv_archive": "1"}).stream_id
    12
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

_INTEGER = re.compile(r"[+-]?\d{1,100}")
_DURATION = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{1,2})")


# -- coercion ------------------------------------------------------------------------------------------------------


def to_float(value: object) -> float | None:
    """A finite float from a number or numeric string; ``None`` for ``""``, null, ``"N/A"``, NaN and the like.

    >>> to_float("7.5"), to_float(8), to_float(""), to_float(None)
    (7.5, 8.0, None, None)
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def to_int(value: object) -> int | None:
    """An int from an int, an integral string (``"12"``), or a float / float string (``"12.0"``, truncated).

    >>> to_int("12"), to_int(12), to_int("12.0"), to_int(""), to_int(None), to_int("abc")
    (12, 12, 12, None, None, None)
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    number = to_float(value)
    return int(number) if number is not None else None


def to_str_or_none(value: object) -> str | None:
    """A stripped, non-empty string; numbers become their decimal text (``5`` → ``"5"``); anything else ``None``."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        number = float(value)
        if not math.isfinite(number):
            return None
        return str(int(number)) if number.is_integer() else str(number)
    return None


def to_bool(value: object) -> bool:
    """Xtream flags: ``1``, ``"1"``, ``true`` are true; ``0``, ``"0"``, ``""``, null are false."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    number = to_int(value) if not isinstance(value, bool) else int(value)
    return bool(number)


def to_datetime_from_unix(value: object) -> datetime | None:
    """UTC time from a Unix timestamp (int, string, float, milliseconds); ``None`` for 0, empty or out of range."""
    seconds = to_int(value)
    if seconds is None or seconds <= 0:
        return None
    if seconds > 100_000_000_000:  # milliseconds, as a few panels send
        seconds //= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def to_duration_secs(info: object) -> int | None:
    """Episode length from ``info.duration_secs`` or ``info.duration`` (``"HH:MM:SS"``)."""
    if not isinstance(info, Mapping):
        return None
    seconds = to_int(info.get("duration_secs"))
    if seconds is not None and seconds >= 0:
        return seconds
    match = _DURATION.fullmatch(str(info.get("duration") or "").strip())
    if match is None:
        return None
    hours, minutes, secs = (int(part) if part else 0 for part in match.groups())
    return hours * 3600 + minutes * 60 + secs


# -- records -------------------------------------------------------------------------------------------------------


@dataclass
class XtreamAccount:
    username: str
    status: str
    auth: bool
    exp_date: datetime | None
    max_connections: int | None
    active_connections: int | None
    is_trial: bool
    created_at: datetime | None
    server_timezone: str | None


@dataclass
class XtreamCategory:
    id: str
    name: str
    parent_id: str | None


@dataclass
class XtreamLive:
    stream_id: int
    name: str
    category_id: str | None
    epg_channel_id: str | None
    icon: str | None
    num: int | None
    tv_archive: bool
    added: datetime | None


@dataclass
class XtreamMovie:
    stream_id: int
    name: str
    category_id: str | None
    container_extension: str
    icon: str | None
    rating: float | None
    added: datetime | None
    year: int | None


@dataclass
class XtreamSeries:
    series_id: int
    name: str
    category_id: str | None
    cover: str | None
    plot: str | None
    rating: float | None
    release_date: str | None


@dataclass
class XtreamEpisode:
    episode_id: int
    series_id: int
    season: int
    episode_num: int
    title: str
    container_extension: str
    duration_secs: int | None


def _id_and_name(record: object, id_key: str, name_key: str = "name") -> tuple[Mapping[str, Any], int, str] | None:
    if not isinstance(record, Mapping):
        return None
    item_id, name = to_int(record.get(id_key)), to_str_or_none(record.get(name_key))
    if item_id is None or item_id < 0 or name is None:
        return None
    return record, item_id, name


def parse_category(record: object) -> XtreamCategory | None:
    if not isinstance(record, Mapping):
        return None
    category_id, name = to_str_or_none(record.get("category_id")), to_str_or_none(record.get("category_name"))
    if category_id is None or name is None:
        return None
    parent = to_str_or_none(record.get("parent_id"))
    return XtreamCategory(category_id, name, None if parent in (None, "0") else parent)


def parse_live(record: object) -> XtreamLive | None:
    found = _id_and_name(record, "stream_id")
    if found is None:
        return None
    raw, stream_id, name = found
    return XtreamLive(
        stream_id=stream_id,
        name=name,
        category_id=to_str_or_none(raw.get("category_id")),
        epg_channel_id=to_str_or_none(raw.get("epg_channel_id")),
        icon=to_str_or_none(raw.get("stream_icon")),
        num=to_int(raw.get("num")),
        tv_archive=to_bool(raw.get("tv_archive")),
        added=to_datetime_from_unix(raw.get("added")),
    )


def parse_movie(record: object) -> XtreamMovie | None:
    found = _id_and_name(record, "stream_id")
    if found is None:
        return None
    raw, stream_id, name = found
    return XtreamMovie(
        stream_id=stream_id,
        name=name,
        category_id=to_str_or_none(raw.get("category_id")),
        container_extension=to_str_or_none(raw.get("container_extension")) or "mp4",
        icon=to_str_or_none(raw.get("stream_icon")),
        rating=to_float(raw.get("rating")),
        added=to_datetime_from_unix(raw.get("added")),
        year=to_int(raw.get("year")),
    )


def parse_series(record: object) -> XtreamSeries | None:
    found = _id_and_name(record, "series_id")
    if found is None:
        return None
    raw, series_id, name = found
    return XtreamSeries(
        series_id=series_id,
        name=name,
        category_id=to_str_or_none(raw.get("category_id")),
        cover=to_str_or_none(raw.get("cover")),
        plot=to_str_or_none(raw.get("plot")),
        rating=to_float(raw.get("rating")),
        release_date=to_str_or_none(raw.get("releaseDate") or raw.get("release_date")),
    )


def parse_episode(record: object, series_id: int, season_hint: int | None, position: int) -> XtreamEpisode | None:
    """One episode; the season comes from the record, else from where it was listed; a missing title is made up."""
    if not isinstance(record, Mapping):
        return None
    episode_id = to_int(record.get("id"))
    if episode_id is None or episode_id < 0:
        return None
    season = to_int(record.get("season")) or season_hint or 1
    number = to_int(record.get("episode_num")) or position + 1
    return XtreamEpisode(
        episode_id=episode_id,
        series_id=series_id,
        season=season,
        episode_num=number,
        title=to_str_or_none(record.get("title")) or f"S{season:02d}E{number:02d}",
        container_extension=to_str_or_none(record.get("container_extension")) or "mp4",
        duration_secs=to_duration_secs(record.get("info")),
    )


def _episode_groups(episodes: object) -> Iterable[tuple[int | None, object]]:
    """(season hint, episode list) pairs from ``{"1": [...]}``, ``[[...], [...]]`` or a flat ``[...]``."""
    if isinstance(episodes, Mapping):
        for key, group in episodes.items():
            yield to_int(key), group.values() if isinstance(group, Mapping) else group
    elif isinstance(episodes, list):
        if episodes and all(isinstance(group, list) for group in episodes):
            yield from ((index + 1, group) for index, group in enumerate(episodes))
        else:
            yield None, episodes


def parse_series_info(answer: object, series_id: int) -> tuple[list[XtreamEpisode], int]:
    """Episodes of a ``get_series_info`` answer and the number of episode records skipped."""
    found: list[XtreamEpisode] = []
    skipped = 0
    groups = _episode_groups(answer.get("episodes")) if isinstance(answer, Mapping) else ()
    for season_hint, group in groups:
        for position, record in enumerate(group if isinstance(group, Iterable) else ()):
            episode = parse_episode(record, series_id, season_hint, position)
            if episode is None:
                skipped += 1
            else:
                found.append(episode)
    return found, skipped


def parse_account(answer: Mapping[str, Any]) -> XtreamAccount:
    info: Mapping[str, Any] = answer["user_info"]
    server = answer.get("server_info")
    return XtreamAccount(
        username=to_str_or_none(info.get("username")) or "",
        status=to_str_or_none(info.get("status")) or "Active",
        auth=to_bool(info.get("auth")),
        exp_date=to_datetime_from_unix(info.get("exp_date")),
        max_connections=to_int(info.get("max_connections")),
        active_connections=to_int(info.get("active_cons")),
        is_trial=to_bool(info.get("is_trial")),
        created_at=to_datetime_from_unix(info.get("created_at")),
        server_timezone=to_str_or_none(server.get("timezone")) if isinstance(server, Mapping) else None,
    )
