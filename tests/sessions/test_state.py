"""The pure parts: how events change a session, history time bounds and cursors."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from m3u_strm.errors import InputError
from m3u_strm.playback import session_history as history
from m3u_strm.playback.session_events import SessionEnd, SessionProgress, SessionRules, SessionStart
from m3u_strm.playback.session_state import SessionState, apply_update, new_state

BEGIN = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
RULES = SessionRules()


def opened() -> SessionState:
    return new_state(SessionStart("k", 1, "movie", 5, BEGIN, "proxy", media_duration_s=5400.0), RULES)


totals = st.builds(
    dict,
    minutes=st.integers(0, 600),
    bytes_sent=st.none() | st.integers(0, 10**12),
    failovers=st.none() | st.integers(0, 20),
    watched_s=st.none() | st.floats(0, 36_000, allow_nan=False),
)


def event_of(values: dict[str, int | float | None], *, end: bool) -> SessionProgress | SessionEnd:
    fields = {k: v for k, v in values.items() if k != "minutes"}
    at = BEGIN + timedelta(minutes=values["minutes"] or 0)
    return SessionEnd("k", at, **fields) if end else SessionProgress("k", at, **fields)  # type: ignore[arg-type]


@given(st.lists(st.tuples(totals, st.booleans()), max_size=12))
def test_applying_every_event_twice_gives_the_state_of_applying_it_once(events: list[tuple[dict, bool]]) -> None:  # type: ignore[type-arg]
    once, twice = opened(), opened()
    for values, end in events:
        event = event_of(values, end=end)
        apply_update(once, event, RULES)
        apply_update(twice, event, RULES)
        apply_update(twice, event, RULES)
    assert once == twice


@given(totals)
def test_a_refused_event_leaves_the_state_as_it_was(values: dict[str, int | float | None]) -> None:
    state = opened()
    before = replace(state)
    early = replace(event_of(values, end=True), at=BEGIN - timedelta(seconds=1))
    with pytest.raises(InputError):
        apply_update(state, early, RULES)
    assert state == before


def test_last_seen_only_moves_forward() -> None:
    state = opened()
    apply_update(state, SessionProgress("k", BEGIN + timedelta(minutes=10)), RULES)
    apply_update(state, SessionProgress("k", BEGIN + timedelta(minutes=5), bytes_sent=9), RULES)
    assert state.last_seen_at == BEGIN + timedelta(minutes=10) and state.bytes_sent == 9


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2026-01-31", False, datetime(2026, 1, 31, tzinfo=UTC)),
        ("2026-01-31", True, datetime(2026, 2, 1, tzinfo=UTC)),
        ("2026-01-31T20:15:00Z", True, datetime(2026, 1, 31, 20, 15, tzinfo=UTC)),
        ("2026-01-31T20:15:00", False, datetime(2026, 1, 31, 20, 15, tzinfo=UTC)),
        ("2026-01-31T21:15:00+01:00", False, datetime(2026, 1, 31, 20, 15, tzinfo=UTC)),
        (None, False, None),
    ],
    ids=["date-from", "date-to", "zulu", "naive-is-utc", "offset", "absent"],
)
def test_history_time_bounds(text: str | None, end: bool, expected: datetime | None) -> None:
    assert history.time_bound(text, "from", end=end) == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "31/01/2026"])
def test_bad_time_bounds_say_what_to_send(text: str) -> None:
    with pytest.raises(InputError, match="not an ISO date"):
        history.time_bound(text, "from")


@given(st.datetimes(timezones=st.just(UTC)), st.integers(1, 2**62))
def test_cursors_round_trip(started_at: datetime, session_id: int) -> None:
    assert history._decode_cursor(history._encode_cursor(started_at, session_id)) == (started_at, session_id)


@pytest.mark.parametrize("cursor", ["", "not-base64!", "W10", "WyJ4IiwgMV0", "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgMV0"])
def test_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InputError, match="cursor"):
        history._decode_cursor(cursor)


def test_api_keys_belong_to_their_user() -> None:
    assert history.api_session_key(1, "abc") == history.api_session_key(1, "abc")
    assert history.api_session_key(1, "abc") != history.api_session_key(2, "abc")
    assert len(history.api_session_key(1, "x" * 200)) == 64
    assert history.api_session_key(1, None) != history.api_session_key(1, None)
