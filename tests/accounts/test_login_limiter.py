"""Login rate limits, in memory and in the real Redis server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from m3u_strm.accounts.ratelimit import LoginLimiter, MemoryLoginLimiter, RedisLoginLimiter, login_keys
from m3u_strm.errors import LoginRateLimitedError
from tests.conftest import REDIS_URL, service_unavailable


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def limiter(request: pytest.FixtureRequest) -> Iterator[LoginLimiter]:
    if request.param == "memory":
        yield MemoryLoginLimiter(max_failures=3, window_seconds=60)
        return
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_unavailable("Redis", exc)
    client.flushdb()
    yield RedisLoginLimiter(client, max_failures=3, window_seconds=60)
    client.flushdb()
    client.close()


def test_fourth_attempt_after_three_failures_is_refused_with_retry_after(limiter: LoginLimiter) -> None:
    keys = login_keys("10.0.0.1", "alice")
    for _ in range(3):
        limiter.check(keys)
        limiter.record_failure(keys)
    with pytest.raises(LoginRateLimitedError) as caught:
        limiter.check(keys)
    assert 1 <= caught.value.retry_after_seconds <= 61
    assert caught.value.http_status == 429


def test_failures_for_one_user_block_that_user_from_any_address(limiter: LoginLimiter) -> None:
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        limiter.record_failure(login_keys(address, "bob"))
    with pytest.raises(LoginRateLimitedError):
        limiter.check(login_keys("10.0.0.4", "bob"))
    limiter.check(login_keys("10.0.0.4", "carol"))  # other users from a clean address are not affected


def test_success_resets_the_counters(limiter: LoginLimiter) -> None:
    keys = login_keys("10.0.0.9", "dave")
    limiter.record_failure(keys)
    limiter.record_failure(keys)
    limiter.reset(keys)
    limiter.record_failure(keys)
    limiter.record_failure(keys)
    limiter.check(keys)
