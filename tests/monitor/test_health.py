"""The health checker against a loopback server: every outcome class, HLS, limits per provider and Retry-After."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from m3u_strm.demo.fake_provider import FakeProviderServer
from m3u_strm.errors import InputError
from m3u_strm.monitor.health import CheckTarget, HealthResult, Outcome, check_many, check_stream
from m3u_strm.monitor.hls_playlist import HlsPlaylist, parse_playlist
from m3u_strm.monitor.provider_slots import ProviderSlots
from m3u_strm.monitor.signatures import SNIFF_BYTES, TS_PACKET, is_hls_playlist, sniff_container
from m3u_strm.monitor.wire import WireClient
from tests.monitor.health_server import HTML_PLAN, SIGNATURES, TS_BODY, HealthServerState


@pytest.fixture
def state(served: tuple[FakeProviderServer, HealthServerState]) -> HealthServerState:
    served[1].reset()
    return served[1]


async def check(url: str, *, budget: float = 5.0, **target: str) -> HealthResult:
    return await check_stream(WireClient(), CheckTarget(1, 1, url, **target), timeout=budget)


ANSWERS = [
    ("/ts/a.ts", "alive", None),
    *[(f"/media/{kind}", "alive", None) for kind in SIGNATURES],
    ("/head405.ts", "alive", None),
    ("/plan.ts", "dead", "not_media"),
    ("/error.ts", "dead", "not_media"),
    ("/channels.m3u8", "dead", "not_media"),
    ("/status/404", "dead", "http_404"),
    ("/status/500", "dead", "http_500"),
    ("/status/401", "auth_failed", "http_401"),
    ("/status/403", "auth_failed", "http_403"),
    ("/status/429", "rate_limited", "http_429"),
    ("/reset.ts", "dead", "reset"),
    ("/hls/master.m3u8", "alive", None),
    ("/hls/low/index.m3u8", "alive", None),
    ("/hls/disguised.ts", "alive", None),
    ("/hls/fmp4/index.m3u8", "alive", None),
    ("/hls/crypt/index.m3u8", "alive", None),
    ("/hls/broken/master.m3u8", "dead", "not_media"),
    ("/hls/empty/index.m3u8", "dead", "empty_playlist"),
    ("/hls/nested/master.m3u8", "dead", "bad_playlist"),
    ("/redirect/3", "alive", None),
    ("/redirect/9", "dead", "too_many_redirects"),
    ("/redirect/2?to=/plan.ts", "dead", "not_media"),
    ("/redirect/1?to=rtmp://live.example/app/stream", "unsupported", "scheme_rtmp"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("path", "outcome", "error_kind"), ANSWERS, ids=[row[0] for row in ANSWERS])
async def test_each_answer_gets_its_outcome(base: str, path: str, outcome: str, error_kind: str | None) -> None:
    result = await check(base + path)
    assert (result.outcome, result.error_kind) == (outcome, error_kind), result.detail


@pytest.mark.anyio
async def test_html_page_on_a_ts_url_is_dead_not_media_and_counted(base: str) -> None:
    result = await check(base + "/plan.ts")
    assert (result.outcome, result.error_kind, result.status_code, result.is_counted) == (
        "dead",
        "not_media",
        200,
        True,
    )
    assert result.detail is not None and "text/html" in result.detail


@pytest.mark.anyio
async def test_broken_hls_variant_names_the_segment(base: str) -> None:
    result = await check(base + "/hls/broken/master.m3u8")
    assert result.detail is not None and result.detail.startswith("HLS segment:")


@pytest.mark.anyio
async def test_live_stream_is_not_downloaded(base: str) -> None:
    result = await check(base + "/endless.ts")
    assert result.outcome == "alive" and SNIFF_BYTES <= result.bytes_read <= 256 * 1024


@pytest.mark.anyio
async def test_slow_start_beyond_the_timeout_is_a_timeout(base: str) -> None:
    result = await check(base + "/slow.ts", budget=0.3)
    assert (result.outcome, result.error_kind) == ("timeout", "read_timeout")
    assert result.is_counted


@pytest.mark.anyio
async def test_refused_connection_is_dead_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await check(f"http://127.0.0.1:{port}/live/1.ts")
    assert (result.outcome, result.error_kind, result.status_code) == ("dead", "refused", None)


@pytest.mark.anyio
async def test_unknown_host_is_dead_dns() -> None:
    result = await check("http://no-such-host.invalid/live/1.ts")
    assert (result.outcome, result.error_kind) == ("dead", "dns")


@pytest.mark.anyio
@pytest.mark.parametrize("scheme", ["rtmp", "rtsp", "udp", "rtp", "mms", "srt"])
async def test_other_schemes_are_unsupported_and_never_counted(scheme: str) -> None:
    result = await check(f"{scheme}://239.0.0.1:1234/stream")
    assert (result.outcome, result.error_kind, result.bytes_read) == ("unsupported", f"scheme_{scheme}", 0)
    assert not result.is_counted


@pytest.mark.anyio
@pytest.mark.parametrize(("as_date", "expected"), [(False, 7.0), (True, 120.0)], ids=["delta-seconds", "http-date"])
async def test_429_is_rate_limited_with_retry_after_and_never_counted(
    base: str, as_date: bool, expected: float
) -> None:
    # The date is made when the test runs: made at collection, it would be minutes old in a full run.
    header = format_datetime(datetime.now(UTC) + timedelta(seconds=expected), usegmt=True) if as_date else "7"
    result = await check(f"{base}/status/429?retry_after={header}")
    assert result.outcome == "rate_limited" and not result.is_counted
    assert result.retry_after_s is not None and abs(result.retry_after_s - expected) < 5


@pytest.mark.anyio
async def test_stream_user_agent_and_referrer_are_sent(base: str, state: HealthServerState) -> None:
    await check(base + "/echo.ts", user_agent="VLC/3.0.20 LibVLC/3.0.20", referrer="http://portal.example/")
    assert state.headers["/echo.ts"]["user-agent"] == "VLC/3.0.20 LibVLC/3.0.20"
    assert state.headers["/echo.ts"]["referer"] == "http://portal.example/"


@pytest.mark.anyio
async def test_detail_is_redacted(base: str) -> None:
    result = await check(f"{base}/redirect/1?to=rtmp://live.example/live/alice/Pa55word-x/42.ts")
    assert result.outcome == "unsupported"
    assert result.detail is not None and "Pa55word-x" not in result.detail


@pytest.mark.parametrize("outcome", get_args(Outcome))
def test_only_rate_limited_and_unsupported_are_uncounted(outcome: Outcome) -> None:
    result = HealthResult(outcome, None, None, 0, None, None)
    assert result.is_counted is (outcome not in ("rate_limited", "unsupported"))


# --- check_many ----------------------------------------------------------------------------------------------------


def targets(base: str, provider: int, count: int, route: str = "counted", first_id: int = 0) -> list[CheckTarget]:
    return [
        CheckTarget(first_id + n, provider, f"{base}/{route}/{provider}/{n}.ts") for n in range(count)
    ]  # fmt: skip


@pytest.mark.anyio
async def test_checks_share_a_providers_connections_with_its_viewers(base: str, state: HealthServerState) -> None:
    from m3u_strm.playback.connections import ConnectionLedger

    ledger = ConnectionLedger()
    state.counted_hold_seconds = 0.2
    viewer = ledger.try_acquire(1, 3, "viewer")  # one of provider 1's three connections plays a channel
    results = await check_many(targets(base, 1, 6), concurrency=20, provider_limits={1: 3}, ledger=ledger)
    assert {r.outcome for r in results.values()} == {"alive"}
    # 3 allowed - 1 viewer - 1 kept free for the next viewer = 1 check at a time.
    assert state.peak[1] == 1 and ledger.in_use(1) == 1
    assert viewer is not None
    viewer.release()
    state.reset()
    solo = ledger.try_acquire(2, 1, "viewer")  # viewers hold provider 2's only connection: no check is sent
    results = await check_many(targets(base, 2, 4, first_id=100), concurrency=20, provider_limits={2: 1}, ledger=ledger)
    assert {(r.outcome, r.error_kind, r.is_counted) for r in results.values()} == {
        ("rate_limited", "provider_busy", False)
    }
    assert state.peak[2] == 0 and solo is not None and ledger.in_use(2) == 1


@pytest.mark.anyio
async def test_provider_limits_are_never_passed_on_the_server_side(base: str, state: HealthServerState) -> None:
    state.counted_hold_seconds = 0.2
    run = targets(base, 1, 12) + targets(base, 2, 12, first_id=100) + targets(base, 3, 12, first_id=200)
    results = await check_many(run, concurrency=50, provider_limits={1: 2, 2: 3})
    assert len(results) == 36 and {r.outcome for r in results.values()} == {"alive"}
    assert state.peak[1] <= 2 and state.peak[2] <= 3
    assert state.peak[3] > 3  # the unlimited provider overlapped: the counter does see concurrency


@pytest.mark.anyio
async def test_global_concurrency_caps_every_provider_together(base: str, state: HealthServerState) -> None:
    state.counted_hold_seconds = 0.1
    results = await check_many(targets(base, 1, 10) + targets(base, 2, 10, first_id=50), concurrency=4)
    assert len(results) == 20 and state.peak_total <= 4


@pytest.mark.anyio
async def test_results_stream_out_once_each_and_match_the_returned_map(base: str) -> None:
    seen: list[tuple[int, str]] = []
    results = await check_many(
        (CheckTarget(n, n % 3, f"{base}/ts/{n}.ts") for n in range(30)),
        concurrency=5,
        on_result=lambda target, result: seen.append((target.stream_id, result.outcome)),
    )
    assert sorted(seen) == sorted((sid, r.outcome) for sid, r in results.items()) and len(seen) == 30


@pytest.mark.anyio
async def test_workers_are_bounded_however_many_targets(base: str) -> None:
    most_tasks = 0

    def count_tasks(target: CheckTarget, result: HealthResult) -> None:
        nonlocal most_tasks
        most_tasks = max(most_tasks, len(asyncio.all_tasks()))

    await check_many(targets(base, 1, 400, route="ts"), concurrency=8, on_result=count_tasks)
    # Eight workers and the test's own task, never one task per target.
    assert 8 <= most_tasks < 12


@pytest.mark.anyio
async def test_retry_after_pauses_only_that_provider(base: str, state: HealthServerState) -> None:
    state.retry_after = "1"
    run = targets(base, 5, 3, route="limited") + targets(base, 6, 20, route="counted", first_id=10)
    results = await check_many(run, concurrency=10, provider_limits={5: 1, 6: 1})
    order = state.sequence  # the provider of each request, in the order the server got them
    first, second, third = (n for n, provider in enumerate(order) if provider == 5)
    # Providers take turns, so without the pause provider 5's second request would follow its 429 within a turn or
    # two; while it waited out Retry-After, provider 6's checks went on one after another.
    assert order[first:second].count(6) >= 5 and second < third
    assert [results[n].outcome for n in range(3)] == ["rate_limited", "alive", "alive"]
    assert not results[0].is_counted and {results[n].outcome for n in range(10, 30)} == {"alive"}


@pytest.mark.anyio
async def test_long_retry_after_skips_the_rest_of_the_provider(base: str, state: HealthServerState) -> None:
    state.retry_after = "3600"
    run = targets(base, 7, 4, route="limited") + targets(base, 8, 2, route="ts", first_id=10)
    results = await check_many(run, concurrency=10, provider_limits={7: 1})
    assert len(state.arrivals[7]) == 1
    skipped = [results[n] for n in (1, 2, 3)]
    assert {(r.outcome, r.error_kind, r.is_counted) for r in skipped} == {
        ("rate_limited", "skipped_retry_after", False)
    }
    assert all(r.retry_after_s is not None and 3500 < r.retry_after_s <= 3600 for r in skipped)
    assert results[10].outcome == results[11].outcome == "alive"


@pytest.mark.anyio
async def test_providers_take_turns(base: str) -> None:
    order: list[int] = []
    await check_many(
        targets(base, 1, 3, route="ts") + targets(base, 2, 3, route="ts", first_id=10),
        concurrency=1,
        on_result=lambda target, result: order.append(target.provider_id),
    )
    assert order == [1, 2, 1, 2, 1, 2]


@pytest.mark.anyio
async def test_a_given_client_is_used(base: str) -> None:
    # A client whose header bound no answer fits shows in every result.
    results = await check_many(targets(base, 1, 3, route="ts"), client=WireClient(max_header_bytes=16))
    assert {(r.outcome, r.error_kind) for r in results.values()} == {("dead", "headers_too_large")}


@pytest.mark.anyio
async def test_a_slot_woken_for_a_cancelled_worker_goes_to_the_next_one() -> None:
    slots = ProviderSlots([CheckTarget(n, 1, f"http://h/{n}.ts") for n in range(3)], {1: 1})
    taken = await slots.take()
    assert taken is not None
    sleepers = [asyncio.create_task(slots.take()) for _ in range(2)]
    await asyncio.sleep(0)  # both wait for provider 1's only slot
    slots.release(taken[0], None)  # wakes the first sleeper ...
    sleepers[0].cancel()  # ... which is cancelled before it runs
    for _ in range(5):
        await asyncio.sleep(0)
    assert sleepers[1].done() and sleepers[1].result() is not None  # not left asleep until MAX_RETRY_WAIT
    assert sleepers[0].cancelled()


@pytest.mark.anyio
async def test_an_empty_run_returns_nothing() -> None:
    assert await check_many([]) == {}


@pytest.mark.anyio
async def test_a_run_without_workers_is_refused(base: str) -> None:
    with pytest.raises(InputError, match="at least 1"):
        await check_many(targets(base, 1, 3, route="ts"), concurrency=0)


# --- signatures and playlists (pure) -------------------------------------------------------------------------------

SNIFFS = [
    (TS_BODY, "mpegts"),
    (b"\x00\x17" + TS_BODY, "mpegts"),
    (TS_BODY[: TS_PACKET + 20], "mpegts"),
    *[(body + bytes(64), {"mkv": "matroska", "ps": "mpeg-ps"}.get(kind, kind)) for kind, body in SIGNATURES.items()],
    (b"\xff\xfb\x90\x64" + bytes(64), "mp3"),
    (b"\xff\xf9\x50\x80" + bytes(64), "adts"),
    (HTML_PLAN, None),
    (b'{"error": "expired"}', None),
    (b"", None),
    (b"G" + bytes(TS_PACKET - 1) + b"G" + bytes(TS_PACKET - 1) + b"<html>" * 40, None),
]


@pytest.mark.parametrize(("head", "container"), SNIFFS, ids=[f"{n}-{c}" for n, (_, c) in enumerate(SNIFFS)])
def test_container_is_sniffed_from_the_first_bytes(head: bytes, container: str | None) -> None:
    assert sniff_container(head) == container


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=2000))
def test_ascii_text_is_never_media(text: str) -> None:
    sniffed = sniff_container(("<html>" + text).encode())
    assert sniffed is None or (sniffed == "mpegts" and text.count("G") >= 3)


def test_a_channel_list_is_not_an_hls_playlist() -> None:
    assert not is_hls_playlist(b"#EXTM3U\n#EXTINF:-1,News\nhttp://x/1.ts\n")
    assert is_hls_playlist(b"\xef\xbb\xbf#EXTM3U\n#EXT-X-VERSION:3\n")


PLAYLIST_CASES = [
    ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow.m3u8\n", HlsPlaylist("master", "http://h/a/low.m3u8")),
    ("#EXTM3U\n#EXTINF:6,\n/seg/1.ts\n#EXTINF:6,\n/seg/2.ts\n", HlsPlaylist("media", "http://h/seg/1.ts")),
    (
        '#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI="k"\n#EXTINF:6,\nhttp://o/1.ts\n',
        HlsPlaylist("media", "http://o/1.ts", True),
    ),
    ("#EXTM3U\n#EXT-X-KEY:METHOD=NONE\n#EXTINF:6,\n1.ts\n", HlsPlaylist("media", "http://h/a/1.ts")),
    ("#EXTM3U\n#EXT-X-ENDLIST\n", HlsPlaylist("empty", None)),
]


@pytest.mark.parametrize(
    ("text", "expected"), PLAYLIST_CASES, ids=["master", "media", "encrypted", "key-none", "empty"]
)
def test_playlist_gives_the_first_variant_or_segment(text: str, expected: HlsPlaylist) -> None:
    assert parse_playlist(text, "http://h/a/index.m3u8") == expected
