"""Provider HTTP helpers against the fake provider on loopback: retries, 429, gzip by magic, caps, broken bodies."""

from __future__ import annotations

import gzip
import socket
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from m3u_strm.demo.catalogue import build_catalogue
from m3u_strm.demo.fake_provider import FakeProviderServer, create_app
from m3u_strm.errors import (
    InputError,
    LimitExceededError,
    M3UStrmError,
    ProviderAuthError,
    ProviderHTTPError,
    ProviderRateLimitedError,
    ProviderUnreachableError,
)
from m3u_strm.ingest.http import FetchStats, parse_retry_after, read_local, stream_bytes

BIG = 1 << 40


async def fetch(url: str, *, stats: FetchStats | None = None, read_timeout: float = 10.0, **options: object) -> bytes:
    options = {"max_bytes": BIG, "backoff": 0.01} | options
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=read_timeout)) as client:
        parts = [chunk async for chunk in stream_bytes(client, url, source="Test IPTV", stats=stats, **options)]  # type: ignore[arg-type]
    return b"".join(parts)


def assert_no_credentials(error: BaseException, server: FakeProviderServer) -> None:
    for text in (str(error), repr(error)):
        assert server.password not in text and server.username not in text


def _bomb(request: Request) -> Response:
    """20 MB of zeros as a ~20 KB gzip file, sent in small pieces."""

    def pieces() -> Iterator[bytes]:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        for _ in range(20):
            yield packer.compress(bytes(1_000_000))
        yield packer.flush()

    return StreamingResponse(pieces(), media_type="application/octet-stream")


@pytest.fixture(scope="module")
def bomb_server() -> Iterator[FakeProviderServer]:
    app = create_app(build_catalogue(live=1, movies=0, series=0))
    app.router.routes.insert(0, Route("/bomb.gz", _bomb))
    with FakeProviderServer(app) as server:
        yield server


@pytest.mark.anyio
async def test_happy_fetch_reports_status_bytes_and_attempts(fake_provider: FakeProviderServer) -> None:
    stats = FetchStats()
    body = await fetch(fake_provider.m3u_url, stats=stats)
    assert body.startswith(b"#EXTM3U") and (stats.status_code, stats.attempts) == (200, 1)
    assert stats.bytes == stats.decoded_bytes == len(body)


@pytest.mark.anyio
async def test_gzip_file_without_content_encoding_is_decoded(fake_provider: FakeProviderServer) -> None:
    stats = FetchStats()
    packed = await fetch(fake_provider.public_m3u_url + ".gz", stats=stats)
    plain = await fetch(fake_provider.public_m3u_url)
    assert packed == plain and stats.bytes < stats.decoded_bytes == len(plain)


@pytest.mark.anyio
async def test_decompressed_cap_stops_a_gzip_bomb_and_names_the_setting(bomb_server: FakeProviderServer) -> None:
    with pytest.raises(LimitExceededError, match="M3U_STRM_MAX_XMLTV_BYTES") as caught:
        await fetch(bomb_server.base_url + "/bomb.gz", max_bytes=1_000_000, limit_setting="max_xmltv_bytes")
    assert "1,000,000 bytes" in str(caught.value)


@pytest.mark.anyio
async def test_plain_body_over_the_cap_is_refused(fake_provider: FakeProviderServer) -> None:
    with pytest.raises(LimitExceededError, match="M3U_STRM_MAX_PLAYLIST_BYTES"):
        await fetch(fake_provider.m3u_url, max_bytes=100)


@pytest.mark.anyio
@pytest.mark.parametrize("fault", ["truncate_after_bytes", "stall_after_bytes"])
async def test_break_mid_body_is_an_unreachable_error_without_retry(
    fake_provider: FakeProviderServer, fault: str
) -> None:
    setattr(fake_provider.faults, fault, 700)
    stats = FetchStats()
    with pytest.raises(ProviderUnreachableError, match="broke after 700 bytes") as caught:
        await fetch(fake_provider.m3u_url, stats=stats, read_timeout=0.3)
    assert stats.attempts == 1 and fake_provider.faults.hits["/get.php"] == 1
    assert_no_credentials(caught.value, fake_provider)


@pytest.mark.anyio
async def test_break_before_the_first_byte_is_retried(fake_provider: FakeProviderServer) -> None:
    fake_provider.faults.truncate_after_bytes, fake_provider.faults.fail_times = 0, 1
    stats = FetchStats()
    body = await fetch(fake_provider.m3u_url, stats=stats)
    assert body.startswith(b"#EXTM3U") and stats.attempts == 2


@pytest.mark.anyio
async def test_5xx_is_retried_then_succeeds(fake_provider: FakeProviderServer) -> None:
    fake_provider.faults.status_code, fake_provider.faults.fail_times = 502, 2
    stats = FetchStats()
    assert (await fetch(fake_provider.m3u_url, stats=stats, retries=3)).startswith(b"#EXTM3U")
    assert stats.attempts == 3 and stats.status_code == 200


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "error", "attempts"),
    [
        (503, ProviderHTTPError, 3),
        (404, ProviderHTTPError, 1),
        (401, ProviderAuthError, 1),
        (403, ProviderAuthError, 1),
    ],
    ids=["503-after-retries", "404-at-once", "401", "403"],
)
async def test_error_statuses_are_classified(
    fake_provider: FakeProviderServer, status: int, error: type[M3UStrmError], attempts: int
) -> None:
    fake_provider.faults.status_code = status
    stats = FetchStats()
    with pytest.raises(error, match=str(status)) as caught:
        await fetch(fake_provider.m3u_url, stats=stats, retries=2)
    assert stats.attempts == attempts and caught.value.status_code == status  # type: ignore[attr-defined]
    assert_no_credentials(caught.value, fake_provider)


@pytest.mark.anyio
async def test_short_retry_after_is_waited_out(fake_provider: FakeProviderServer) -> None:
    fake_provider.faults.rate_limit_retry_after, fake_provider.faults.fail_times = 1, 1
    stats = FetchStats()
    assert (await fetch(fake_provider.m3u_url, stats=stats, max_retry_after=5)).startswith(b"#EXTM3U")
    assert stats.attempts == 2


@pytest.mark.anyio
async def test_long_retry_after_raises_with_the_time_to_retry(fake_provider: FakeProviderServer) -> None:
    fake_provider.faults.rate_limit_retry_after = 3600
    with pytest.raises(ProviderRateLimitedError) as caught:
        await fetch(fake_provider.m3u_url, max_retry_after=30)
    retry_at = caught.value.retry_at
    assert retry_at is not None and (retry_at - datetime.now(UTC)).total_seconds() > 3000
    assert "Retry at" in str(caught.value) and fake_provider.faults.hits["/get.php"] == 1
    assert_no_credentials(caught.value, fake_provider)


@pytest.mark.anyio
async def test_refused_connection_is_unreachable_after_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stats = FetchStats()
    with pytest.raises(ProviderUnreachableError, match="could not be reached after 3 attempts") as caught:
        await fetch(f"http://127.0.0.1:{port}/get.php?username=u&password=Leak-Pa55word-7q", stats=stats, retries=2)
    assert "Leak-Pa55word-7q" not in str(caught.value) and stats.attempts == 3


@pytest.mark.parametrize(
    ("header", "expected"),
    [("120", 120.0), (" 5 ", 5.0), ("0.5", 0.5), ("-3", 0.0), ("soon", None), ("", None), (None, None),
     ("Wed, 21 Oct 2026 07:28:00 GMT", 60.0), ("Wed, 21 Oct 2026 07:26:00 GMT", 0.0), ("nan", None)],
)  # fmt: skip
def test_retry_after_header_forms(header: str | None, expected: float | None) -> None:
    now = datetime(2026, 10, 21, 7, 27, tzinfo=UTC)
    assert parse_retry_after(header, now) == expected


# -- local files ---------------------------------------------------------------------------------------------------


def test_local_file_is_read_and_gzip_detected_by_magic(tmp_path: Path) -> None:
    text = b"#EXTM3U\n" + b"#EXTINF:-1,One\nhttp://x/1.ts\n" * 5000
    (tmp_path / "plain.m3u").write_bytes(text)
    (tmp_path / "packed.bin").write_bytes(gzip.compress(text[:1000]) + gzip.compress(text[1000:]))
    assert b"".join(read_local(tmp_path / "plain.m3u", chunk_size=1000)) == text
    assert b"".join(read_local(str(tmp_path / "packed.bin"), chunk_size=333)) == text
    assert b"".join(read_local((tmp_path / "plain.m3u").as_uri())) == text


def test_local_gzip_bomb_stops_at_the_cap(tmp_path: Path) -> None:
    (tmp_path / "bomb.gz").write_bytes(gzip.compress(bytes(50_000_000)))
    with pytest.raises(LimitExceededError, match="M3U_STRM_MAX_PLAYLIST_BYTES"):
        for _ in read_local(tmp_path / "bomb.gz", max_bytes=1_000_000):
            pass


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: p / "missing.m3u", "does not exist"),
        (lambda p: p, "is a directory"),
        (lambda p: (p / "cut.gz").write_bytes(gzip.compress(b"x" * 10000)[:-30]) and p / "cut.gz", "damaged"),
    ],
    ids=["missing", "directory", "truncated-gzip"],
)
def test_unusable_local_files_are_clear_input_errors(tmp_path: Path, make: object, fragment: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(InputError, match=fragment):
        b"".join(read_local(path))


def test_empty_and_one_byte_files(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "one").write_bytes(b"\x1f")
    assert b"".join(read_local(tmp_path / "empty")) == b""
    assert b"".join(read_local(tmp_path / "one")) == b"\x1f"
