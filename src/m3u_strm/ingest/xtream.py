"""The Xtream Codes API client: account check, categories, live/VOD/series lists (streamed) and series episodes.

Real panels drift in their types (``"stream_id":"12"`` or ``12``, ``""`` for a missing number, ``null`` categories,
ratings as numbers or strings, ``episodes`` keyed by season or as a list); every field goes through a small
coercion function (:func:`to_int`, :func:`to_float`, :func:`to_str_or_none`, :func:`to_datetime_from_unix`). A
record whose id or name cannot be read is skipped and counted in :attr:`XtreamClient.skipped`; the rest goes on.

The large lists are parsed with ijson, push-style, chunk by chunk as they come off the socket: a 500 MB
``get_vod_streams`` costs one record of memory at a time::

    client = XtreamClient(http, "http://provider:8080", "user", "pass", source="My IPTV")
    account = await client.authenticate()
    async for live in client.live_streams():
        print(live.name, client.live_url(live.stream_id))
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx
import ijson

from m3u_strm.errors import InputError, ProviderAuthError, ProviderResponseError
from m3u_strm.ingest.http import DEFAULT_BACKOFF, FetchStats, stream_bytes
from m3u_strm.privacy.redaction import redact

_INTEGER = re.compile(r"[+-]?\d{1,100}")
_DURATION = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{1,2})")
_BLOCKED_STATUSES = {"expired", "banned", "disabled"}
_API_ENDPOINTS = ("/player_api.php", "/panel_api.php", "/get.php", "/xmltv.php")
_BOM = b"\xef\xbb\xbf"


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


def normalise_base_url(url: str) -> str:
    """``provider:8080/``, ``http://provider:8080/player_api.php?...`` → ``http://provider:8080``."""
    text = url.strip()
    if "://" not in text:
        text = f"http://{text}"
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"{redact(url)!r} is not the http(s) address of an Xtream Codes server.",
            hint="Use the server address your provider gave you, e.g. http://provider.example:8080.",
        )
    path = parts.path.rstrip("/")
    for endpoint in _API_ENDPOINTS:
        path = path.removesuffix(endpoint)
    return urlunsplit((parts.scheme.lower(), parts.netloc, path.rstrip("/"), "", ""))


# -- the client ----------------------------------------------------------------------------------------------------


class _ChunkReader:
    """Peeks at the start of a body from :func:`stream_bytes`, then hands on the rest."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""
        self._done = False

    async def _fill(self) -> bool:
        while not self._buffer and not self._done:
            try:
                self._buffer = await anext(self._chunks)
            except StopAsyncIteration:
                self._done = True
        return bool(self._buffer)

    async def first_byte(self) -> bytes:
        """The first byte that is not whitespace or a byte-order mark (``b""`` for an empty body)."""
        while await self._fill():
            self._buffer = self._buffer.removeprefix(_BOM).lstrip()
            if self._buffer:
                return self._buffer[:1]
        return b""

    async def rest(self) -> AsyncGenerator[bytes, None]:
        """The remaining body, chunk by chunk."""
        if self._buffer:
            yield self._buffer
            self._buffer = b""
        async for chunk in self._chunks:
            yield chunk

    async def read_all(self) -> bytes:
        parts = [self._buffer]
        self._buffer = b""
        async for chunk in self._chunks:
            parts.append(chunk)
        return b"".join(parts)


class XtreamClient:
    """An Xtream Codes account over an injected ``httpx.AsyncClient`` (its timeouts and limits apply)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        username: str,
        password: str,
        *,
        live_format: Literal["ts", "m3u8"] = "ts",
        source: str = "provider",
        max_json_bytes: int = 1024**3,
        retries: int = 3,
        max_retry_after: float = 30.0,
        backoff: float = DEFAULT_BACKOFF,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._client = client
        self.base_url = normalise_base_url(base_url)
        self._username, self._password = username, password
        self.live_format = live_format
        self.source = source
        self._max_json_bytes = max_json_bytes
        self._retries, self._max_retry_after, self._backoff = retries, max_retry_after, backoff
        self._headers = headers
        self.skipped: Counter[str] = Counter()
        self.bytes_read = 0
        self.last_status: int | None = None

    def __repr__(self) -> str:
        return f"XtreamClient(source={self.source!r})"

    # -- URLs ----------------------------------------------------------------------------------------------------
    def _stream_url(self, kind: str, item_id: int, ext: str) -> str:
        user, password = quote(self._username, safe=""), quote(self._password, safe="")
        return f"{self.base_url}/{kind}/{user}/{password}/{item_id}.{ext}"

    def live_url(self, stream_id: int) -> str:
        return self._stream_url("live", stream_id, self.live_format)

    def movie_url(self, stream_id: int, ext: str) -> str:
        return self._stream_url("movie", stream_id, ext)

    def episode_url(self, episode_id: int, ext: str) -> str:
        return self._stream_url("series", episode_id, ext)

    def _api_url(self, action: str | None, params: Mapping[str, str | int]) -> str:
        query: dict[str, str | int] = {"username": self._username, "password": self._password}
        if action:
            query["action"] = action
        query.update(params)
        return f"{self.base_url}/player_api.php?{urlencode(query)}"

    # -- transport -----------------------------------------------------------------------------------------------
    def _label(self, action: str | None) -> str:
        return f"The provider {self.source!r} ({action or 'authenticate'})"

    def _chunks(
        self, action: str | None, params: Mapping[str, str | int], stats: FetchStats
    ) -> AsyncGenerator[bytes, None]:
        return stream_bytes(
            self._client, self._api_url(action, params), source=self.source, max_bytes=self._max_json_bytes,
            retries=self._retries, max_retry_after=self._max_retry_after, headers=self._headers, stats=stats,
            backoff=self._backoff, limit_setting="max_json_bytes", what=action or "authenticate",
        )  # fmt: skip

    def _absorb(self, stats: FetchStats) -> None:
        self.bytes_read += stats.bytes
        if stats.status_code is not None:
            self.last_status = stats.status_code

    async def _get_json(self, action: str | None, **params: str | int) -> Any:
        stats = FetchStats()
        try:
            async with aclosing(self._chunks(action, params, stats)) as chunks:
                reader = _ChunkReader(chunks)
                first = await reader.first_byte()
                body = await reader.read_all()
        finally:
            self._absorb(stats)
        return self._decode(action, first, body)

    def _decode(self, action: str | None, first: bytes, body: bytes) -> Any:
        label = self._label(action)
        if not first:
            raise ProviderResponseError(f"{label} answered with an empty body.", hint=_TRY_LATER)
        if first == b"<":
            raise ProviderResponseError(
                f"{label} answered with an HTML page instead of JSON (a login, block or error page).",
                hint="Check the server address and that the account works in an IPTV app; try again later.",
            )
        try:
            return json.loads(body)
        except ValueError as exc:
            raise ProviderResponseError(f"{label} answered with something that is not JSON.", hint=_TRY_LATER) from exc

    def _as_records(self, action: str, answer: Any) -> list[Any]:
        """A list answer as is; ``null``/``{}`` as empty; an object keyed by index as its values; errors raised."""
        if isinstance(answer, list):
            return answer
        if answer is None:
            return []
        if isinstance(answer, dict):
            self._raise_for_error_object(action, answer)
            if all(isinstance(value, dict) for value in answer.values()):
                return list(answer.values())
        raise ProviderResponseError(f"{self._label(action)} answered JSON that is not a list.", hint=_TRY_LATER)

    def _raise_for_error_object(self, action: str | None, answer: Mapping[str, Any]) -> None:
        info = answer.get("user_info")
        if isinstance(info, Mapping) and not to_bool(info.get("auth")):
            raise self._auth_zero()
        if "error" in answer:
            text = str(answer["error"])[:200]
            raise ProviderResponseError(f"{self._label(action)} answered with an error: {text!r}.", hint=_TRY_LATER)

    def _auth_zero(self) -> ProviderAuthError:
        return ProviderAuthError(
            f"The provider {self.source!r} rejected the username or password (auth: 0).",
            hint="Check the username and password in the provider settings (they are the ones in its M3U link).",
        )

    async def _records(self, action: str, **params: str | int) -> AsyncGenerator[Any, None]:
        """The records of a list answer, streamed with ijson when it is a JSON array."""
        stats = FetchStats()
        count = 0
        try:
            async with aclosing(self._chunks(action, params, stats)) as chunks:
                reader = _ChunkReader(chunks)
                first = await reader.first_byte()
                if first == b"[":
                    # Push-style ijson: its async reader does not pass cancellation on to the awaited read, so an
                    # httpx read timeout would escape as a bare CancelledError; here every await is ours.
                    parsed = ijson.sendable_list()
                    parser = ijson.items_coro(parsed, "item", use_float=True)
                    async for chunk in reader.rest():
                        parser.send(chunk)
                        for record in parsed:
                            count += 1
                            yield record
                        del parsed[:]
                    parser.close()
                    for record in parsed:
                        yield record
                    return
                answer = self._decode(action, first, await reader.read_all())
        except ijson.JSONError as exc:
            raise ProviderResponseError(
                f"{self._label(action)} sent JSON that breaks off or is invalid after {count:,} records.",
                hint=_TRY_LATER,
            ) from exc
        finally:
            self._absorb(stats)
        for record in self._as_records(action, answer):
            yield record

    # -- API -----------------------------------------------------------------------------------------------------
    async def authenticate(self) -> XtreamAccount:
        """Check the account; raises :class:`ProviderAuthError` for ``auth: 0`` and expired/banned/disabled."""
        answer = await self._get_json(None)
        if not isinstance(answer, dict) or not isinstance(answer.get("user_info"), Mapping):
            if isinstance(answer, dict):
                self._raise_for_error_object(None, answer)
            raise ProviderResponseError(
                f"The provider {self.source!r} does not answer like an Xtream Codes server (no user_info).",
                hint="Check the server address: it is the part before /get.php in your M3U link.",
            )
        account = parse_account(answer)
        if not account.auth:
            raise self._auth_zero()
        if account.status.casefold() in _BLOCKED_STATUSES:
            expiry = f", expiry date {account.exp_date:%Y-%m-%d}" if account.exp_date else ""
            raise ProviderAuthError(
                f"The provider {self.source!r} reports the account as {account.status}{expiry}.",
                hint="Renew or re-enable the subscription with the provider, then sync again.",
            )
        return account

    async def _categories(self, action: str) -> list[XtreamCategory]:
        found: list[XtreamCategory] = []
        for record in self._as_records(action, await self._get_json(action)):
            category = parse_category(record)
            if category is None:
                self.skipped["bad_category_record"] += 1
            else:
                found.append(category)
        return found

    async def live_categories(self) -> list[XtreamCategory]:
        return await self._categories("get_live_categories")

    async def vod_categories(self) -> list[XtreamCategory]:
        return await self._categories("get_vod_categories")

    async def series_categories(self) -> list[XtreamCategory]:
        return await self._categories("get_series_categories")

    async def live_streams(self) -> AsyncGenerator[XtreamLive, None]:
        async with aclosing(self._records("get_live_streams")) as records:
            async for record in records:
                if (live := parse_live(record)) is not None:
                    yield live
                else:
                    self.skipped["bad_live_record"] += 1

    async def vod_streams(self) -> AsyncGenerator[XtreamMovie, None]:
        async with aclosing(self._records("get_vod_streams")) as records:
            async for record in records:
                if (movie := parse_movie(record)) is not None:
                    yield movie
                else:
                    self.skipped["bad_movie_record"] += 1

    async def series(self) -> AsyncGenerator[XtreamSeries, None]:
        async with aclosing(self._records("get_series")) as records:
            async for record in records:
                if (show := parse_series(record)) is not None:
                    yield show
                else:
                    self.skipped["bad_series_record"] += 1

    async def series_info(self, series_id: int) -> list[XtreamEpisode]:
        answer = await self._get_json("get_series_info", series_id=series_id)
        if isinstance(answer, dict):
            self._raise_for_error_object("get_series_info", answer)
        episodes, skipped = parse_series_info(answer, series_id)
        self.skipped["bad_episode_record"] += skipped
        return episodes


_TRY_LATER = "The provider may be overloaded or blocking this address; try again later."
