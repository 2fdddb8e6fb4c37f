"""Login rate limiting per client address and per username, in memory or in Redis (shared by instances)."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Protocol

import redis

from m3u_strm.errors import LoginRateLimitedError
from m3u_strm.redis_keys import login_failures


class LoginLimiter(Protocol):
    def check(self, keys: list[str]) -> None: ...
    def record_failure(self, keys: list[str]) -> None: ...
    def reset(self, keys: list[str]) -> None: ...


def login_keys(client_address: str | None, username: str) -> list[str]:
    return [login_failures("addr", client_address or "unknown"), login_failures("user", username.lower())]


class MemoryLoginLimiter:
    """Sliding window of failure times per key, for the single-process default."""

    def __init__(self, max_failures: int, window_seconds: int) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def check(self, keys: list[str]) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if len(times) >= self.max_failures:
                    raise LoginRateLimitedError(max(1, int(times[0] + self.window - now) + 1))

    def record_failure(self, keys: list[str]) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def reset(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


class RedisLoginLimiter:
    """Fixed-window failure counters in Redis, so every API instance sees the same count."""

    def __init__(self, client: redis.Redis, max_failures: int, window_seconds: int) -> None:
        self.client = client
        self.max_failures = max_failures
        self.window = window_seconds

    def check(self, keys: list[str]) -> None:
        for key in keys:
            count = self.client.get(key)
            if count is not None and int(count) >= self.max_failures:
                ttl = int(self.client.ttl(key))
                raise LoginRateLimitedError(max(ttl, 1))

    def record_failure(self, keys: list[str]) -> None:
        pipe = self.client.pipeline()
        for key in keys:
            pipe.incr(key)
            pipe.expire(key, self.window, nx=True)
        pipe.execute()

    def reset(self, keys: list[str]) -> None:
        self.client.delete(*keys)


def build_login_limiter(redis_url: str | None, max_failures: int, window_seconds: int) -> LoginLimiter:
    if redis_url:
        return RedisLoginLimiter(redis.Redis.from_url(redis_url), max_failures, window_seconds)
    return MemoryLoginLimiter(max_failures, window_seconds)
