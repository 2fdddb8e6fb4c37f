"""A viewing session as the writer holds it, and how events change it: pure functions, no I/O.

* A start makes a new state; the writer stores it only if its key is new.
* Progress and end may not be earlier than the start (:class:`InputError`). Their totals replace the stored ones
  when given; ``last_seen_at`` only moves forward. Progress on an ended session changes nothing: the end is final.
* An end sets ``ended_at`` and computes the rest (:func:`finish`): ``duration_s`` is the watched time when known,
  else the wall time from start to end; the session is a zap when that is shorter than ``sessions_zap_seconds``;
  it is completed when the end says so, else when it already was, else for a movie or episode of known length when
  the duration reaches ``sessions_completed_ratio`` of that length. A channel is completed only when a client says.
  An end of an ended session applies again (a client may ``complete`` first and ``end`` at the credits).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from m3u_strm.errors import InputError
from m3u_strm.playback.session_events import SessionEnd, SessionProgress, SessionRules, SessionStart, cut


@dataclass(slots=True)
class SessionState:
    """The columns of one ``viewing_sessions`` row; ``id`` is None until the row is inserted."""

    key: str
    user_id: int
    content_kind: str
    content_id: int
    started_at: datetime
    last_seen_at: datetime
    source: str
    title: str | None = None
    stream_id: int | None = None
    provider_id: int | None = None
    client: str | None = None
    client_ip: str | None = None
    url_hash: str | None = None
    media_duration_s: float | None = None
    ended_at: datetime | None = None
    duration_s: float | None = None
    watched_s: float | None = None
    bytes_sent: int = 0
    failovers: int = 0
    completed: bool = False
    is_zap: bool = False
    id: int | None = None

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


STATE_FIELDS: tuple[str, ...] = tuple(field.name for field in fields(SessionState))


def new_state(event: SessionStart, rules: SessionRules) -> SessionState:
    return SessionState(
        key=event.key,
        user_id=event.user_id,
        content_kind=event.content_kind,
        content_id=event.content_id,
        started_at=event.started_at,
        last_seen_at=event.started_at,
        source=event.source,
        title=cut(event.title),
        stream_id=event.stream_id,
        provider_id=event.provider_id,
        client=cut(event.client),
        client_ip=cut(event.client_ip, 64) if rules.record_ip else None,
        url_hash=cut(event.url_hash, 64),
        media_duration_s=event.media_duration_s,
    )


def apply_update(state: SessionState, event: SessionProgress | SessionEnd, rules: SessionRules) -> None:
    """Apply progress or an end to ``state`` in place; raises before changing anything."""
    if event.at < state.started_at:
        what = "ended" if isinstance(event, SessionEnd) else "reported progress"
        raise InputError(
            f"The session {what} at {event.at.isoformat()}, before it started at {state.started_at.isoformat()}.",
            hint="Send the time the event happened, in UTC.",
        )
    if isinstance(event, SessionProgress) and not state.is_open:
        return
    if event.bytes_sent is not None:
        state.bytes_sent = event.bytes_sent
    if event.failovers is not None:
        state.failovers = event.failovers
    if event.watched_s is not None:
        state.watched_s = event.watched_s
    if event.stream_id is not None:
        state.stream_id = event.stream_id
    if event.provider_id is not None:
        state.provider_id = event.provider_id
    state.last_seen_at = max(state.last_seen_at, event.at)
    if isinstance(event, SessionEnd):
        finish(state, event.at, event.completed, rules)


def finish(state: SessionState, ended_at: datetime, completed: bool | None, rules: SessionRules) -> None:
    """Close ``state`` at ``ended_at`` and compute duration, zap and completed (see the module docstring)."""
    state.ended_at = ended_at
    elapsed = max(0.0, (ended_at - state.started_at).total_seconds())
    state.duration_s = state.watched_s if state.watched_s is not None else elapsed
    state.is_zap = state.duration_s < rules.zap_seconds
    if completed is not None:
        state.completed = completed
    elif not state.completed:
        state.completed = _reaches_the_end(state, rules)


def _reaches_the_end(state: SessionState, rules: SessionRules) -> bool:
    length = state.media_duration_s
    if state.content_kind == "channel" or not length or state.duration_s is None:
        return False
    return state.duration_s >= rules.completed_ratio * length
