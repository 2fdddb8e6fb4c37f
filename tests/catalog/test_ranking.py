"""rank_streams: one total order, best first — active, fewer failures, quality, provider priority, id."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from m3u_strm.catalog.ranking import RankCandidate, rank_streams


def _ids(candidates: list[RankCandidate]) -> list[int]:
    return [c.stream_id for c in rank_streams(candidates)]


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        ([RankCandidate(1, 600), RankCandidate(2, 700)], [2, 1]),
        ([RankCandidate(1, 900, is_active=False), RankCandidate(2, 300)], [2, 1]),
        ([RankCandidate(1, 700, consecutive_failures=2), RankCandidate(2, 600)], [2, 1]),
        ([RankCandidate(1, 700, provider_priority=0), RankCandidate(2, 700, provider_priority=5)], [2, 1]),
        ([RankCandidate(2, 700), RankCandidate(1, 700)], [1, 2]),
        ([RankCandidate(1, None), RankCandidate(2, 100)], [2, 1]),
        ([RankCandidate(1, 900, consecutive_failures=1), RankCandidate(2, 600, health_score=100)], [2, 1]),
        ([RankCandidate(1, 900, health_score=40), RankCandidate(2, 600, health_score=95)], [2, 1]),
        ([RankCandidate(1, 900, health_score=99), RankCandidate(2, 600, health_score=100)], [1, 2]),
        ([RankCandidate(1, 700, response_ms=4000), RankCandidate(2, 700, response_ms=200)], [2, 1]),
        ([RankCandidate(1, 700, response_ms=120, provider_priority=1), RankCandidate(2, 700, response_ms=80)], [1, 2]),
    ],
    ids=[
        "quality",
        "active-first",
        "failures-before-quality",
        "priority-breaks-ties",
        "id-last",
        "unknown-is-zero",
        "failing-4k-below-healthy-720p",
        "poor-health-below-healthy",
        "uptime-noise-does-not-beat-quality",
        "slow-below-fast",
        "ms-noise-does-not-beat-priority",
    ],
)
def test_rank_order(candidates: list[RankCandidate], expected: list[int]) -> None:
    assert _ids(candidates) == expected


candidates = st.lists(
    st.builds(
        RankCandidate,
        st.integers(1, 10_000),
        st.one_of(st.none(), st.integers(0, 1050)),
        st.integers(-5, 5),
        st.booleans(),
        st.integers(0, 5),
    ),
    unique_by=lambda c: c.stream_id,
    max_size=30,
)


@given(candidates, st.randoms())
def test_order_does_not_depend_on_input_order(items: list[RankCandidate], rnd: object) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert rank_streams(shuffled) == rank_streams(items)


@given(candidates)
def test_an_active_stream_always_ranks_above_an_inactive_one(items: list[RankCandidate]) -> None:
    ranked = rank_streams(items)
    actives = [c.is_active for c in ranked]
    assert actives == sorted(actives, reverse=True)
