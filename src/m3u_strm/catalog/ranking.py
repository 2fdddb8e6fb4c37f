"""Stream ranking: the one ordering of a channel's streams that the gateway, the playlists and the tuner use.

Best first, by these keys in turn — measured facts before anything a name promises:

1. active streams before inactive ones (health checks deactivate a stream after repeated failures);
2. fewer consecutive failed checks — a failing stream never outranks a healthy one because of its name;
3. health band of the health score: healthy (80-100, or not checked yet), degraded (50-79), poor (below 50).
   Banded so that 99 % against 100 % uptime does not outweigh 4K against 720p;
4. higher ``quality_score`` (measured by a probe once there is one, else from the name and URL; unknown = 0);
5. response-time band: under 1 s, 1-3 s, 3-5 s, slower (unknown counts as fast);
6. higher provider priority (the admin's tie-breaker between providers);
7. lower stream id (older first), so the order is total and never depends on the order rows were read.

>>> a = RankCandidate(stream_id=1, quality_score=600, provider_priority=0)
>>> b = RankCandidate(stream_id=2, quality_score=700, provider_priority=0)
>>> [c.stream_id for c in rank_streams([a, b])]
[2, 1]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["RankCandidate", "health_band", "rank_key", "rank_streams"]


@dataclass(frozen=True, slots=True)
class RankCandidate:
    stream_id: int
    quality_score: int | None
    provider_priority: int = 0
    is_active: bool = True
    consecutive_failures: int = 0
    health_score: int | None = None  # None: not checked yet
    response_ms: int | None = None


def health_band(score: int | None) -> int:
    """2 healthy (80-100 or unchecked), 1 degraded (50-79), 0 poor."""
    if score is None or score >= 80:
        return 2
    return 1 if score >= 50 else 0


def _response_band(response_ms: int | None) -> int:
    if response_ms is None or response_ms < 1000:
        return 0
    return 1 if response_ms < 3000 else 2 if response_ms < 5000 else 3


def rank_key(candidate: RankCandidate) -> tuple[int, ...]:
    """Sort key (ascending = better) implementing the rules in the module docstring."""
    return (
        0 if candidate.is_active else 1,
        candidate.consecutive_failures,
        -health_band(candidate.health_score),
        -(candidate.quality_score or 0),
        _response_band(candidate.response_ms),
        -candidate.provider_priority,
        candidate.stream_id,
    )


def rank_streams(candidates: Iterable[RankCandidate]) -> list[RankCandidate]:
    """The candidates, best first."""
    return sorted(candidates, key=rank_key)
