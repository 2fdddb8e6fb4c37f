"""Health score and uptime from a stream's check history (pure functions, no I/O).

The seed's health score, kept because users know it:

* start at 100;
* minus 10 per consecutive failure, at most minus 50;
* minus 10, 20 or 30 when the last response took over 1, 3 or 5 seconds;
* times the uptime (a percentage, applied as a fraction); no uptime yet (no counted checks) leaves it as is;
* clamped to 0..100.

Uptime is the share of *counted* checks since a moment that were ``alive``: ``rate_limited`` and ``unsupported``
checks are left out of both sides, so a provider's 429s never lower a stream's uptime.

>>> health_score(consecutive_failures=2, recent_response_ms=3500, uptime_pct=50.0)
30
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

FAILURE_PENALTY = 10
MAX_FAILURE_PENALTY = 50
#: (response time over this many ms, points off), slowest first.
SLOW_RESPONSE_PENALTIES = ((5000, 30), (3000, 20), (1000, 10))


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """One row of a stream's check history."""

    at: datetime
    outcome: str
    response_ms: int | None
    is_counted: bool


def health_score(consecutive_failures: int, recent_response_ms: int | None, uptime_pct: float | None) -> int:
    """The seed's 0..100 score; see the module rules."""
    score = 100.0 - min(max(consecutive_failures, 0) * FAILURE_PENALTY, MAX_FAILURE_PENALTY)
    score -= _slowness_penalty(recent_response_ms)
    if uptime_pct is not None:
        score *= min(max(uptime_pct, 0.0), 100.0) / 100.0
    return int(min(max(round(score), 0), 100))


def _slowness_penalty(response_ms: int | None) -> int:
    if response_ms is None:
        return 0
    return next((points for over_ms, points in SLOW_RESPONSE_PENALTIES if response_ms > over_ms), 0)


def uptime_pct(history: Iterable[CheckRecord], *, since: datetime) -> float | None:
    """Percent of counted checks at or after ``since`` that were alive; ``None`` when there were none."""
    counted = alive = 0
    for record in history:
        if record.is_counted and record.at >= since:
            counted += 1
            alive += record.outcome == "alive"
    return None if counted == 0 else 100.0 * alive / counted
