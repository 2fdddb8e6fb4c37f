"""Open connections to each provider, counted in one place: viewers' upstreams, HLS fetches and health checks.

A provider's ``max_connections`` is what its account allows at once; going over it gets the account's streams
refused (or the account banned). :class:`ConnectionLedger` is the one count per process:

* :meth:`~ConnectionLedger.try_acquire` never waits: it answers a :class:`Lease` or ``None`` at once, so a viewer
  whose provider is full is sent to another provider's stream or told why (503), never left hanging;
* a provider without a limit (``None``) is counted but never refused;
* a :class:`Lease` is released once, however often ``release`` is called (a failover path and a ``finally`` may
  both release it);
* it is thread-safe: the gateway runs on the event loop, the health checks may run in another thread's loop.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal, get_args

__all__ = ["ConnectionLedger", "Lease", "Purpose"]

Purpose = Literal["viewer", "hls", "check", "probe"]
PURPOSES: tuple[Purpose, ...] = get_args(Purpose)


@dataclass(eq=False)
class Lease:
    """One open connection to a provider; :meth:`release` gives it back."""

    ledger: ConnectionLedger
    provider_id: int
    purpose: Purpose
    released: bool = field(default=False)

    def release(self) -> None:
        self.ledger._release(self)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


class ConnectionLedger:
    """Counts open connections per provider and refuses the one over its limit; see the module rules."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: Counter[tuple[int, Purpose]] = Counter()

    def try_acquire(self, provider_id: int, limit: int | None, purpose: Purpose) -> Lease | None:
        """A lease when the provider has a free connection (``limit`` ``None``: always), else ``None``."""
        with self._lock:
            if limit is not None and self._total(provider_id) >= max(limit, 1):
                return None
            self._open[(provider_id, purpose)] += 1
        return Lease(self, provider_id, purpose)

    def in_use(self, provider_id: int, purpose: Purpose | None = None) -> int:
        with self._lock:
            return self._total(provider_id) if purpose is None else self._open[(provider_id, purpose)]

    def snapshot(self) -> dict[int, dict[str, int]]:
        """Open connections by provider and purpose (for the activity view and metrics)."""
        with self._lock:
            result: dict[int, dict[str, int]] = {}
            for (provider_id, purpose), count in self._open.items():
                if count:
                    result.setdefault(provider_id, {})[purpose] = count
            return result

    def _release(self, lease: Lease) -> None:
        with self._lock:
            if lease.released:
                return
            lease.released = True
            self._open[(lease.provider_id, lease.purpose)] -= 1

    def _total(self, provider_id: int) -> int:
        return sum(self._open[(provider_id, purpose)] for purpose in PURPOSES)
