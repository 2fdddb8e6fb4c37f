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

Sharing a provider with viewers: with the server's :class:`~m3u_strm.playback.connections.ConnectionLedger`, each
check also leases one of the provider's connections, so viewers, probes and checks together never exceed its
``max_connections``. Checks never take the last free connection of a provider allowing two or more (a viewer may
come), and when viewers hold every connection the provider's remaining checks are handed out at once with a
ready-made ``rate_limited`` result (``provider_busy``, never counted): a stream someone is watching needs no check.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from m3u_strm.monitor.health_result import CheckTarget, HealthResult
from m3u_strm.playback.connections import ConnectionLedger, Lease

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
    leases: list[Lease] = field(default_factory=list)  # the ledger's, one per check in flight


class ProviderSlots:
    """Hands out targets to a pool of workers under per-provider limits; see the module rules."""

    def __init__(
        self,
        targets: Iterable[CheckTarget],
        limits: Mapping[int, int],
        *,
        clock: Callable[[], float] = time.monotonic,
        ledger: ConnectionLedger | None = None,
    ) -> None:
        self._ledger = ledger
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
        # Workers waiting for a slot, oldest first. A plain future each rather than an asyncio.Condition: everything
        # here runs on one event loop, so no lock is needed, and a lock costs more per check than the choosing does.
        self._sleepers: deque[asyncio.Future[None]] = deque()

    def __len__(self) -> int:
        """Targets not handed out yet."""
        return self._pending

    async def take(self) -> tuple[CheckTarget, HealthResult | None] | None:
        """The next target (with a ready result when it is skipped), waiting for a free slot; ``None`` when done."""
        while self._pending:
            now = self._clock()
            taken = self._pick(now)
            if taken is not None:
                self._pending -= 1
                if not self._pending:
                    self._wake(everyone=True)  # the waiting workers are done: nothing is left to wait for
                return taken
            await self._sleep(self._next_resume(now) - now)
        return None

    def release(self, target: CheckTarget, result: HealthResult | None) -> None:
        """A check finished (``result`` is ``None`` when it raised): free its slot, start a 429 pause."""
        provider = self._providers[target.provider_id]
        provider.in_flight -= 1
        if provider.leases:
            provider.leases.pop().release()
        if result is not None and result.outcome == "rate_limited":
            pause = DEFAULT_PAUSE if result.retry_after_s is None else result.retry_after_s
            provider.resume_at = max(provider.resume_at, self._clock() + pause)
            # Every waiter re-reads the pauses, so someone wakes when this one ends.
            self._wake(everyone=True)
        else:
            # One slot came free, so one waiter can proceed; waking all would cost O(workers) per check.
            self._wake()

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
                if self._ledger is not None and not self._lease(provider_id, provider):
                    if self._viewers_hold_all(provider_id, provider):
                        return provider.pending.popleft(), _busy(provider.limit)
                    continue  # our own checks hold the rest: one of them frees a slot
                provider.in_flight += 1
                return provider.pending.popleft(), None
        return None

    def _lease(self, provider_id: int, provider: _Provider) -> bool:
        assert self._ledger is not None
        limit = provider.limit
        for_checks = limit - 1 if limit is not None and limit >= 2 else limit  # the last connection is a viewer's
        lease = self._ledger.try_acquire(provider_id, for_checks, "check")
        if lease is not None:
            provider.leases.append(lease)
        return lease is not None

    def _viewers_hold_all(self, provider_id: int, provider: _Provider) -> bool:
        assert self._ledger is not None
        limit = provider.limit or 1
        for_checks = limit - 1 if limit >= 2 else limit
        return self._ledger.in_use(provider_id) - self._ledger.in_use(provider_id, "check") >= for_checks

    def _next_resume(self, now: float) -> float:
        pauses = [p.resume_at for p in self._providers.values() if p.pending and p.resume_at > now]
        return min(pauses, default=now + MAX_RETRY_WAIT)

    def _wake(self, *, everyone: bool = False) -> None:
        while self._sleepers:
            sleeper = self._sleepers.popleft()
            if not sleeper.done():  # a sleeper whose time ran out is up already
                sleeper.set_result(None)
                if not everyone:
                    return

    async def _sleep(self, seconds: float) -> None:
        """Until a :meth:`release` wakes this worker or ``seconds`` pass, whichever comes first."""
        loop = asyncio.get_running_loop()
        sleeper: asyncio.Future[None] = loop.create_future()
        self._sleepers.append(sleeper)
        alarm = loop.call_later(max(seconds, 0.0), _wake_up, sleeper)
        try:
            await sleeper
        except asyncio.CancelledError:
            if sleeper.done() and not sleeper.cancelled():
                self._wake()  # woken, then cancelled before it ran: the slot it was woken for goes to another
            raise
        finally:
            alarm.cancel()


def _wake_up(sleeper: asyncio.Future[None]) -> None:
    if not sleeper.done():
        sleeper.set_result(None)


def _busy(limit: int | None) -> HealthResult:
    return HealthResult(
        "rate_limited", None, None, 0, "provider_busy",
        f"not checked: viewers use the provider's connections (limit {limit})",
    )  # fmt: skip


def _skipped(seconds_left: float) -> HealthResult:
    return HealthResult(
        "rate_limited", None, None, 0, "skipped_retry_after",
        f"not checked: the provider asked to wait {seconds_left:.0f} s more (Retry-After)",
        retry_after_s=round(seconds_left, 3),
    )  # fmt: skip
