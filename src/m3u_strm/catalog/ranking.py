"""Stream ranking: the one ordering of a channel's streams that the gateway, the playlists and the tuner use.

Best first, by these keys in turn:

1. active streams before inactive ones (the monitoring issue sets ``is_active`` from health checks);
2. fewer consecutive failed checks;
3. higher ``quality_score`` (from the name and URL today, from measured resolution and bitrate once probed;
   an unknown score counts as 0);
4. higher provider priority (the admin's tie-breaker between providers);
5. lower stream id (older first), so the order is total and never depends on the order rows were read.

>>> a = RankCandidate(stream_id=1, quality_score=600, provider_priority=0)
>>> b = RankCandidate(stream_id=2, quality_score=700, provider_priority=0)
>>> [c.stream_id for c in rank_streams([a, b])]
[2, 1]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["RankCandidate", "rank_key", "rank_streams"]


@dataclass(frozen=True, slots=True)
class RankCandidate:
    stream_id: int
    quality_score: int | None
    provider_priority: int = 0
    is_active: bool = True
    consecutive_failures: int = 0


def rank_key(candidate: RankCandidate) -> tuple[int, int, int, int, int]:
    """Sort key (ascending = better) implementing the rules in the module docstring."""
    return (
        0 if candidate.is_active else 1,
        candidate.consecutive_failures,
        -(candidate.quality_score or 0),
        -candidate.provider_priority,
        candidate.stream_id,
    )


def rank_streams(candidates: Iterable[RankCandidate]) -> list[RankCandidate]:
    """The candidates, best first."""
    return sorted(candidates, key=rank_key)
