"""The Xtream Codes client against the fake provider on loopback: account checks, faults, type drift, memory."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from m3u_strm.demo.catalogue import build_catalogue
from m3u_strm.demo.fake_provider import FakeProviderServer
from m3u_strm.errors import (
    InputError,
    M3UStrmError,
    ProviderAuthError,
    ProviderHTTPError,
    ProviderRateLimitedError,
    ProviderResponseError,
    ProviderUnreachableError,
)
from m3u_strm.ingest.xtream import (
    XtreamClient,
    normalise_base_url,
    parse_series_info,
    to_datetime_from_unix,
    to_float,
    to_int,
    to_str_or_none,
)

DEC_18 = datetime(2024, 12, 18, 19, 54, 46, tzinfo=UTC)


def xtream(http: httpx.AsyncClient, server: FakeProviderServer, **options: Any) -> XtreamClient:
    settings: dict[str, Any] = {"source": "Test IPTV", "backoff": 0.01} | options
    return XtreamClient(http, server.base_url, server.username, server.password, **settings)


def http_client(read_timeout: float = 10.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=read_timeout))


def assert_no_credentials(error: BaseException, server: FakeProviderServer) -> None:
    for text in (str(error), repr(error), str(getattr(error, "hint", ""))):
        assert server.password not in text and server.username not in text


@pytest.fixture(scope="module")
def drift_server() -> Iterator[FakeProviderServer]:
    catalogue = build_catalogue(live=400, movies=120, series=6, episodes_per_series=5, seed=9, type_drift=True)
    with FakeProviderServer(catalogue, username="drift-user", password="Drift-Pa55-q1") as server:
        yield server


# -- account -------------------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_authenticate_reads_the_account(fake_provider: FakeProviderServer) -> None:
    async with http_client() as http:
        client = xtream(http, fake_provider)
        account = await client.authenticate()
    assert (account.username, account.status, account.auth) == (fake_provider.username, "Active", True)
    assert account.exp_date is not None and account.exp_date > datetime.now(UTC)
    assert (account.max_connections, account.active_connections, account.is_trial) == (2, 0, False)
    assert account.server_timezone == "Europe/London" and account.created_at is not None
    assert client.last_status == 200 and client.bytes_read > 0


FAULTS: list[tuple[str, dict[str, Any], type[M3UStrmError], str]] = [
    ("auth-zero", {"auth_zero": True}, ProviderAuthError, "rejected the username or password (auth: 0)"),
    ("expired", {"expired": True}, ProviderAuthError, "reports the account as Expired, expiry date"),
    ("http-401", {"status_code": 401}, ProviderAuthError, "HTTP 401"),
    ("http-403", {"status_code": 403}, ProviderAuthError, "HTTP 403"),
    ("http-500-always", {"status_code": 500}, ProviderHTTPError, "HTTP 500"),
    ("html-200", {"html_200": True}, ProviderResponseError, "HTML page"),
    ("json-error-200", {"json_error_200": True}, ProviderResponseError, "answered with an error"),
    ("empty-200", {"empty_200": True}, ProviderResponseError, "empty body"),
    ("rate-limited-long", {"rate_limit_retry_after": 3600}, ProviderRateLimitedError, "rate limiting"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("faults", "error", "fragment"), [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
async def test_authenticate_classifies_each_fault_without_leaking_credentials(
    fake_provider: FakeProviderServer, faults: dict[str, Any], error: type[M3UStrmError], fragment: str
) -> None:
    for name, value in faults.items():
        setattr(fake_provider.faults, name, value)
    async with http_client() as http:
        with pytest.raises(error, match=fragment.replace("(", r"\(").replace(")", r"\)")) as caught:
            await xtream(http, fake_provider, retries=1).authenticate()
    assert "'Test IPTV'" in str(caught.value) and caught.value.hint
    assert_no_credentials(caught.value, fake_provider)


@pytest.mark.anyio
async def test_wrong_password_is_auth_zero(fake_provider: FakeProviderServer) -> None:
    async with http_client() as http:
        client = XtreamClient(http, fake_provider.base_url, fake_provider.username, "not-the-password")
        with pytest.raises(ProviderAuthError, match="auth: 0"):
            await client.authenticate()


@pytest.mark.anyio
async def test_long_retry_after_carries_the_time_to_retry(fake_provider: FakeProviderServer) -> None:
    fake_provider.faults.rate_limit_retry_after = 3600
    async with http_client() as http:
        with pytest.raises(ProviderRateLimitedError) as caught:
            await xtream(http, fake_provider).live_categories()
    assert caught.value.retry_at is not None
    assert (caught.value.retry_at - datetime.now(UTC)).total_seconds() > 3000


@pytest.mark.anyio
async def test_short_retry_after_is_honoured(fake_provider: FakeProviderServer) -> None:
    fake_provider.faults.rate_limit_retry_after, fake_provider.faults.fail_times = 1, 1
    async with http_client() as http:
        account = await xtream(http, fake_provider, max_retry_after=5).authenticate()
    assert account.auth and fake_provider.faults.hits["authenticate"] == 2


@pytest.mark.anyio
async def test_transient_5xx_is_retried(fake_provider: FakeProviderServer) -> None:
    fake_provider.faults.status_code, fake_provider.faults.fail_times = 503, 2
    async with http_client() as http:
        client = xtream(http, fake_provider, retries=3)
        live = [item async for item in client.live_streams()]
    assert len(live) == fake_provider.catalogue.live_count and fake_provider.faults.hits["get_live_streams"] == 3


# -- lists and bodies that break ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_lists_and_categories_match_the_catalogue(fake_provider: FakeProviderServer) -> None:
    catalogue = fake_provider.catalogue
    async with http_client() as http:
        client = xtream(http, fake_provider)
        categories = {c.id: c.name for c in await client.live_categories()}
        live = [item async for item in client.live_streams()]
        movies = [item async for item in client.vod_streams()]
        shows = [item async for item in client.series()]
        assert await client.vod_categories() and await client.series_categories()
    first = next(catalogue.iter_live())
    assert (live[0].stream_id, live[0].name, live[0].num) == (first.stream_id, first.name, first.num)
    assert categories[live[0].category_id or ""] == next(
        c.name for c in catalogue.categories("live") if c.id == first.category_id
    )
    assert len(movies) == catalogue.count("vod") and movies[0].rating is not None and movies[0].year
    assert [s.series_id for s in shows] == [s.series_id for s in catalogue.iter_series()]
    assert not client.skipped


@pytest.mark.anyio
@pytest.mark.parametrize("fault", ["stall_after_bytes", "truncate_after_bytes"])
async def test_body_breaking_mid_list_is_unreachable(fake_provider: FakeProviderServer, fault: str) -> None:
    setattr(fake_provider.faults, fault, 2000)
    fake_provider.faults.only_paths = {"get_live_streams"}
    seen = 0
    async with http_client(read_timeout=0.3) as http:
        client = xtream(http, fake_provider)
        await client.authenticate()
        with pytest.raises(ProviderUnreachableError, match="broke after 2,000 bytes") as caught:
            async for _ in client.live_streams():
                seen += 1
    assert 0 < seen < fake_provider.catalogue.live_count
    assert_no_credentials(caught.value, fake_provider)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("faults", "fragment"),
    [({"html_200": True}, "HTML page"), ({"json_error_200": True}, "error"), ({"empty_200": True}, "empty"),
     ({"auth_zero": True}, "auth: 0")],
    ids=["html", "json-error", "empty", "auth-zero"],
)  # fmt: skip
async def test_list_answer_that_is_not_a_list_is_a_clear_error(
    fake_provider: FakeProviderServer, faults: dict[str, Any], fragment: str
) -> None:
    for name, value in faults.items():
        setattr(fake_provider.faults, name, value)
    fake_provider.faults.only_paths = {"get_vod_streams"}
    async with http_client() as http:
        client = xtream(http, fake_provider)
        await client.authenticate()
        with pytest.raises((ProviderResponseError, ProviderAuthError), match=fragment) as caught:
            _ = [movie async for movie in client.vod_streams()]
    assert_no_credentials(caught.value, fake_provider)


# -- type drift ----------------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_type_drift_is_coerced_and_broken_records_are_skipped_and_counted(
    drift_server: FakeProviderServer,
) -> None:
    catalogue = drift_server.catalogue
    async with http_client() as http:
        client = xtream(http, drift_server)
        account = await client.authenticate()
        live = {item.stream_id: item async for item in client.live_streams()}
        movies = {item.stream_id: item async for item in client.vod_streams()}
        shows = [item async for item in client.series()]
    assert account.auth
    broken_live = sum(catalogue.is_broken("live", i.stream_id) for i in catalogue.iter_live())
    broken_movies = sum(catalogue.is_broken("vod", m.stream_id) for m in catalogue.iter_movies())
    assert broken_live > 0 and client.skipped["bad_live_record"] == broken_live
    assert len(live) == catalogue.live_count - broken_live
    assert client.skipped["bad_movie_record"] == broken_movies and len(movies) == catalogue.count("vod") - broken_movies
    assert len(shows) + client.skipped["bad_series_record"] == catalogue.count("series")
    for stream_id, parsed in live.items():
        item = catalogue.live_by_id(stream_id)
        assert item is not None and parsed.name == item.name
        assert parsed.num in (item.num, None) and parsed.category_id in (str(item.category_id), None)
    assert {p.category_id for p in live.values()} > {None} and {p.num for p in live.values()} > {None}
    for stream_id, movie in movies.items():
        expected = catalogue.movie_by_id(stream_id)
        assert expected is not None and movie.rating == pytest.approx(expected.rating) and movie.year == expected.year


@pytest.mark.anyio
async def test_episodes_as_list_of_seasons_and_as_dict_give_the_same_episodes(drift_server: FakeProviderServer) -> None:
    catalogue = drift_server.catalogue
    async with http_client() as http:
        client = xtream(http, drift_server)
        for series_id in (1, 2):  # odd ids: episodes as a list of seasons; even ids: a dict keyed by season
            episodes = await client.series_info(series_id)
            expected = [e for e in catalogue.episodes_of(series_id) if not catalogue.is_broken("episode", e.id)]
            got = [(e.episode_id, e.season, e.episode_num, e.title, e.container_extension) for e in episodes]
            assert got == [(e.id, e.season, e.episode_num, e.title, e.container_extension) for e in expected]
            assert all(e.duration_secs for e in episodes)
        assert await client.series_info(999) == []


# -- memory --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_provider_url() -> Iterator[str]:
    """A 200,000-channel provider in its own process, so tracemalloc here sees only the client's memory."""
    command = [sys.executable, "-m", "m3u_strm.demo.fake_provider", "--live", "200000", "--movies", "0",
               "--series", "0", "--username", "big-user", "--password", "Big-Pa55-zz"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.anyio
async def test_live_streams_of_200k_channels_stay_within_a_few_megabytes(big_provider_url: str) -> None:
    async with http_client() as http:
        client = XtreamClient(http, big_provider_url, "big-user", "Big-Pa55-zz", source="Big IPTV")
        count = 0
        tracemalloc.start()
        try:
            async for _ in client.live_streams():
                count += 1
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert count == 200_000 and client.bytes_read > 40_000_000
    assert peak < 4_000_000  # the answer is ~60 MB; what is held is a chunk and a record at a time


# -- pure parts ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(12, 12), ("12", 12), (" 12 ", 12), ("12.0", 12), (12.7, 12), ("", None), (None, None), ("abc", None),
     (True, None), ("nan", None), ("1e400", None), ([], None), ("-3", -3), ("9" * 40, 10**40 - 1)],
)  # fmt: skip
def test_to_int(value: object, expected: int | None) -> None:
    assert to_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7.5", 7.5), (8, 8.0), (8.25, 8.25), ("", None), (None, None), ("N/A", None), ("inf", None), (False, None)],
)
def test_to_float(value: object, expected: float | None) -> None:
    assert to_float(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5", "5"), (5, "5"), (5.0, "5"), (5.5, "5.5"), ("  x ", "x"), ("", None), ("  ", None), (None, None),
     (False, None), ({"a": 1}, None)],
)  # fmt: skip
def test_to_str_or_none(value: object, expected: str | None) -> None:
    assert to_str_or_none(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1734551686", DEC_18), (1734551686, DEC_18), (1734551686000, DEC_18), ("1734551686.0", DEC_18),
     (None, None), ("", None), ("0", None), ("null", None), (10**30, None)],
)  # fmt: skip
def test_to_datetime_from_unix(value: object, expected: datetime | None) -> None:
    assert to_datetime_from_unix(value) == expected


@given(st.integers(min_value=-(10**20), max_value=10**20))
def test_to_int_reads_back_any_integer_as_number_or_text(number: int) -> None:
    assert to_int(number) == to_int(str(number)) == to_int(f" {number} ") == number


@given(st.one_of(st.text(), st.floats(), st.none(), st.booleans(), st.integers(), st.lists(st.integers())))
def test_coercions_never_raise(value: object) -> None:
    to_int(value), to_float(value), to_str_or_none(value), to_datetime_from_unix(value)


@pytest.mark.parametrize(
    ("episodes", "seasons"),
    [
        ({"1": [{"id": "1", "episode_num": 1}], "2": [{"id": "2", "episode_num": "1"}]}, [1, 2]),
        ([[{"id": 1}], [{"id": 2, "season": 5}]], [1, 5]),
        ([{"id": "1", "season": "3"}, {"id": "2"}], [3, 1]),
        ({"1": {"a": {"id": "1"}, "b": {"id": "2"}}}, [1, 1]),
        ([], []),
        (None, []),
    ],
    ids=["dict", "list-of-seasons", "flat-list", "dict-of-dicts", "empty", "missing"],
)
def test_series_info_episode_shapes(episodes: object, seasons: list[int]) -> None:
    found, skipped = parse_series_info({"info": {}, "episodes": episodes}, 7)
    assert [e.season for e in found] == seasons and skipped == 0 and all(e.series_id == 7 for e in found)


def test_series_info_skips_broken_episodes_and_makes_up_missing_titles() -> None:
    found, skipped = parse_series_info({"episodes": {"1": [{"id": ""}, "junk", {"id": "9", "episode_num": "2"}]}}, 1)
    assert skipped == 2 and [(e.episode_id, e.title, e.container_extension) for e in found] == [(9, "S01E02", "mp4")]


@pytest.mark.parametrize(
    ("given_url", "expected"),
    [("http://host:8080", "http://host:8080"), ("http://host:8080///", "http://host:8080"),
     ("host:25461", "http://host:25461"), ("HTTPS://Host/panel/", "https://Host/panel"),
     ("http://host:8080/player_api.php?username=a&password=b", "http://host:8080"),
     ("http://host/get.php?username=a&password=b&type=m3u_plus", "http://host")],
)  # fmt: skip
def test_base_url_is_normalised(given_url: str, expected: str) -> None:
    assert normalise_base_url(given_url) == expected


def test_base_url_that_is_not_http_is_refused_without_echoing_secrets() -> None:
    with pytest.raises(InputError) as caught:
        normalise_base_url("ftp://host/get.php?username=alice&password=s3cretpass")
    assert "s3cretpass" not in str(caught.value) and "alice" not in str(caught.value)


def test_stream_urls_are_xtream_style(fake_provider: FakeProviderServer) -> None:
    client = XtreamClient(httpx.AsyncClient(), fake_provider.base_url + "/", "us er", "p/w", live_format="m3u8")
    assert client.live_url(5) == f"{fake_provider.base_url}/live/us%20er/p%2Fw/5.m3u8"
    assert client.movie_url(6, "mkv").endswith("/movie/us%20er/p%2Fw/6.mkv")
    assert client.episode_url(7, "mp4").endswith("/series/us%20er/p%2Fw/7.mp4")
    assert "p/w" not in repr(client)
