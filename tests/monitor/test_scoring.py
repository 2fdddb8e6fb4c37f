"""The seed's health score and uptime over check history: a table of cases and the properties that bound them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from m3u_strm.monitor.scoring import CheckRecord, health_score, uptime_pct

NOW = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)

SCORES = [
    ("healthy", 0, 200, 100.0, 100),
    ("no-history", 0, None, None, 100),
    ("one-failure", 1, None, None, 90),
    ("failures-cap-at-50", 9, None, None, 50),
    ("just-over-1s", 0, 1001, None, 90),
    ("exactly-1s-is-not-slow", 0, 1000, None, 100),
    ("over-3s", 0, 3500, None, 80),
    ("over-5s", 0, 5001, None, 70),
    ("uptime-halves", 0, 100, 50.0, 50),
    ("all-penalties", 2, 3500, 50.0, 30),
    ("zero-uptime", 0, 100, 0.0, 0),
    ("worst-case-floor", 99, 60_000, 1.0, 0),
    ("negative-failures-ignored", -3, None, None, 100),
]


@pytest.mark.parametrize(
    ("failures", "response_ms", "uptime", "expected"), [c[1:] for c in SCORES], ids=[c[0] for c in SCORES]
)
def test_health_score_follows_the_seed_table(
    failures: int, response_ms: int | None, uptime: float | None, expected: int
) -> None:
    assert health_score(failures, response_ms, uptime) == expected


@given(
    st.integers(-5, 50),
    st.none() | st.integers(0, 120_000),
    st.none() | st.floats(0, 100),
)
def test_health_score_stays_in_range_and_more_failures_never_raise_it(
    failures: int, response_ms: int | None, uptime: float | None
) -> None:
    score = health_score(failures, response_ms, uptime)
    assert 0 <= score <= 100
    assert health_score(failures + 1, response_ms, uptime) <= score


def record(hours_ago: float, outcome: str, *, counted: bool = True) -> CheckRecord:
    return CheckRecord(NOW - timedelta(hours=hours_ago), outcome, 120, counted)


UPTIMES = [
    ("all-alive", [record(1, "alive"), record(2, "alive")], 100.0),
    ("half", [record(1, "alive"), record(2, "dead")], 50.0),
    ("rate-limits-left-out", [record(1, "alive"), record(2, "rate_limited", counted=False)], 100.0),
    ("unsupported-only", [record(1, "unsupported", counted=False)], None),
    ("older-than-since-left-out", [record(1, "dead"), record(30, "alive")], 0.0),
    ("no-history", [], None),
    ("timeouts-count", [record(1, "timeout"), record(2, "alive"), record(3, "alive"), record(4, "auth_failed")], 50.0),
]


@pytest.mark.parametrize(("history", "expected"), [c[1:] for c in UPTIMES], ids=[c[0] for c in UPTIMES])
def test_uptime_is_the_alive_share_of_counted_checks_since(history: list[CheckRecord], expected: float | None) -> None:
    assert uptime_pct(history, since=NOW - timedelta(hours=24)) == expected


@given(st.lists(st.tuples(st.floats(0, 48), st.sampled_from(["alive", "dead", "timeout", "rate_limited"]))))
def test_uncounted_checks_never_change_uptime(rows: list[tuple[float, str]]) -> None:
    history = [record(hours, outcome, counted=outcome != "rate_limited") for hours, outcome in rows]
    counted_only = [r for r in history if r.is_counted]
    since = NOW - timedelta(hours=24)
    assert uptime_pct(history, since=since) == uptime_pct(counted_only, since=since)
