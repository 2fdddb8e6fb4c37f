"""The Xtream Codes API client: account check, categories, live/VOD/series lists (streamed) and series episodes.

Real panels drift in their types; every record goes through the ``parse_*`` functions of
:mod:`m3u_strm.ingest.xtream_records` (re-exported here with the record dataclasses). A record whose id or name
cannot be read is skipped and counted in :attr:`XtreamClient.skipped`; the rest goes on.

The large lists are parsed with ijson, push-style, chunk by chunk as they come off the socket: a 500 MB
``get_vod_streams`` costs one record of memory at a time::

    client = XtreamClient(http, "http://provider:8080", "user", "pass", source="My IPTV")
    account = await client.authenticate()
    async for live in client.live_streams():
        print(live.name, client.live_url(live.stream_id))
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import aclosing
from typing import Any, Literal, TypeVar
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx
import ijson

from m3u_strm.errors import InputError, ProviderAuthError, ProviderResponseError
from m3u_strm.ingest.http import DEFAULT_BACKOFF, FetchStats, stream_bytes
from m3u_strm.ingest.xtream_records import (
    XtreamAccount,
    XtreamCategory,
    XtreamEpisode,
    XtreamLive,
    XtreamMovie,
    XtreamSeries,
    parse_account,
    parse_category,
    parse_live,
    parse_movie,
    parse_series,
    parse_series_info,
    to_bool,
    to_datetime_from_unix,
    to_float,
    to_int,
    to_str_or_none,
)
from m3u_strm.privacy.redaction import redact

_Record = TypeVar("_Record")

__all__ = [
    "XtreamAccount",
    "XtreamCategory",
    "XtreamClient",
    "XtreamEpisode",
    "XtreamLive",
    "XtreamMovie",
    "XtreamSeries",
    "normalise_base_url",
    "parse_series_info",
    "to_datetime_from_unix",
    "to_float",
    "to_int",
    "to_str_or_none",
]

_BLOCKED_STATUSES = {"expired", "banned", "disabled"}
_API_ENDPOINTS = ("/player_api.php", "/panel_api.php", "/get.php", "/xmltv.php")
_BOM = b"\xef\xbb\xbf"


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
        self.account: XtreamAccount | None = None
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
        self.account = account  # kept even when refused below: the sync log records an expired account's state
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

    async def _parsed(
        self, action: str, parse: Callable[[object], _Record | None], reason: str
    ) -> AsyncGenerator[_Record, None]:
        """The records of a list answer that parse; the others are counted under ``reason`` and skipped."""
        async with aclosing(self._records(action)) as records:
            async for record in records:
                if (item := parse(record)) is not None:
                    yield item
                else:
                    self.skipped[reason] += 1

    def live_streams(self) -> AsyncGenerator[XtreamLive, None]:
        return self._parsed("get_live_streams", parse_live, "bad_live_record")

    def vod_streams(self) -> AsyncGenerator[XtreamMovie, None]:
        return self._parsed("get_vod_streams", parse_movie, "bad_movie_record")

    def series(self) -> AsyncGenerator[XtreamSeries, None]:
        return self._parsed("get_series", parse_series, "bad_series_record")

    async def series_info(self, series_id: int) -> list[XtreamEpisode]:
        answer = await self._get_json("get_series_info", series_id=series_id)
        if isinstance(answer, dict):
            self._raise_for_error_object("get_series_info", answer)
        episodes, skipped = parse_series_info(answer, series_id)
        self.skipped["bad_episode_record"] += skipped
        return episodes


_TRY_LATER = "The provider may be overloaded or blocking this address; try again later."
