"""Which check runs next: per-provider queues, connection limits and Retry-After pauses for a health-check run.

Rules :class:`ProviderSlots` keeps:

* a target is handed out only while its provider has fewer checks in flight than its limit (its
  ``max_connections``; no entry = no limit of its own; a limit below 1 counts as 1, so a run always ends: leave
  out the targets of a provider that must not be touched); the global limit is the number of workers taking;
* providers take turns (round robin), so a provider listed first does not hold every worker;
* after a ``rate_limited`` result the provider gets no new check until its ``Retry-After`` passed
  (:data:`DEFAULT_PAUSE` when the answer gave none); when the pause is longer than :data:`MAX_RETRY_WAIT`, its
  remaining targets are handed out at once with a ready-made ``rate_limited`` result (``skipped_retry_after``) and
  are never sent to the provider.

The seam for the playback gateway: a limit here is the provider's ``max_connections``; once viewers' connections
are tracked, the caller passes ``max_connections - in use by viewers``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from m3u_strm.monitor.health_result import CheckTarget, HealthResult

#: Pause after a 429 that carried no Retry-After.
DEFAULT_PAUSE = 2.0
#: Longest Retry-After a run waits out; beyond it the provider's remaining checks are skipped.
MAX_RETRY_WAIT = 30.0


@dataclass
class _Provider:
    limit: int | None
    pending: deque[CheckTarget] = field(default_factory=deque)
    in_flight: int = 0
    resume_at: float = 0.0  # monotonic time before which no new check of this provider starts


class ProviderSlots:
    """Hands out targets to a pool of workers under per-provider limits; see the module rules."""

    def __init__(
        self, targets: Iterable[CheckTarget], limits: Mapping[int, int], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._providers: dict[int, _Provider] = {}
        self._pending = 0
        for target in targets:
            provider = self._providers.get(target.provider_id)
            if provider is None:
                limit = limits.get(target.provider_id)
                provider = self._providers[target.provider_id] = _Provider(None if limit is None else max(1, limit))
            provider.pending.append(target)
            self._pending += 1
        self._turns = deque(self._providers)
        self._clock = clock
        self._changed = asyncio.Condition()

    def __len__(self) -> int:
        """Targets not handed out yet."""
        return self._pending

    async def take(self) -> tuple[CheckTarget, HealthResult | None] | None:
        """The next target (with a ready result when it is skipped), waiting for a free slot; ``None`` when done."""
        async with self._changed:
            while self._pending:
                now = self._clock()
                taken = self._pick(now)
                if taken is not None:
                    self._pending -= 1
                    if not self._pending:
                        self._changed.notify_all()  # the waiting workers are done: nothing is left to wait for
                    return taken
                await self._wait(self._next_resume(now) - now)
        return None

    async def release(self, target: CheckTarget, result: HealthResult | None) -> None:
        """A check finished (``result`` is ``None`` when it raised): free its slot, start a 429 pause."""
        async with self._changed:
            provider = self._providers[target.provider_id]
            provider.in_flight -= 1
            if result is not None and result.outcome == "rate_limited":
                pause = DEFAULT_PAUSE if result.retry_after_s is None else result.retry_after_s
                provider.resume_at = max(provider.resume_at, self._clock() + pause)
                # Every waiter re-reads the pauses, so someone wakes when this one ends.
                self._changed.notify_all()
            else:
                # One slot came free, so one waiter can proceed; waking all would cost O(workers) per check.
                self._changed.notify(1)

    def _pick(self, now: float) -> tuple[CheckTarget, HealthResult | None] | None:
        for _ in range(len(self._turns)):
            provider_id = self._turns[0]
            self._turns.rotate(-1)
            provider = self._providers[provider_id]
            if not provider.pending:
                self._turns.remove(provider_id)
                continue
            if provider.resume_at - now > MAX_RETRY_WAIT:
                return provider.pending.popleft(), _skipped(provider.resume_at - now)
            if provider.resume_at <= now and (provider.limit is None or provider.in_flight < provider.limit):
                provider.in_flight += 1
                return provider.pending.popleft(), None
        return None

    def _next_resume(self, now: float) -> float:
        pauses = [p.resume_at for p in self._providers.values() if p.pending and p.resume_at > now]
        return min(pauses, default=now + MAX_RETRY_WAIT)

    async def _wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(seconds, 0.0)):
                await self._changed.wait()


def _skipped(seconds_left: float) -> HealthResult:
    return HealthResult(
        "rate_limited", None, None, 0, "skipped_retry_after",
        f"not checked: the provider asked to wait {seconds_left:.0f} s more (Retry-After)",
        retry_after_s=round(seconds_left, 3),
    )  # fmt: skip
