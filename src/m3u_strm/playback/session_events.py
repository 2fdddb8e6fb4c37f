"""Viewing events: what the gateway and the history API tell the session writer, and the checks that need no database.

A start opens a session under an idempotency ``key``; progress and end carry *totals so far* (bytes, failovers,
seconds watched), never deltas, so applying one twice changes nothing. :func:`check_event` refuses what is wrong
on its face (naive or far-future timestamps, negative totals, unknown kinds); what needs the stored session (an
unknown key, an end before its start) is checked by :mod:`m3u_strm.playback.session_state`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from m3u_strm.config import Settings
from m3u_strm.errors import InputError

ContentKind = Literal["channel", "movie", "episode"]
SessionSource = Literal["proxy", "redirect", "api"]

CONTENT_KINDS: frozenset[str] = frozenset(get_args(ContentKind))
SOURCES: frozenset[str] = frozenset(get_args(SessionSource))
KEY_MAX = 64


@dataclass(frozen=True, slots=True)
class SessionStart:
    key: str  # idempotency key (<= 64 chars): a repeated start with the same key is stored once
    user_id: int
    content_kind: ContentKind
    content_id: int
    started_at: datetime  # aware UTC
    source: SessionSource
    title: str | None = None
    stream_id: int | None = None
    provider_id: int | None = None
    client: str | None = None  # user agent, cut to 255
    client_ip: str | None = None  # the writer drops it unless settings.sessions_record_ip
    url_hash: str | None = None  # hash of the played stream URL, for audit; never the URL itself
    media_duration_s: float | None = None


@dataclass(frozen=True, slots=True)
class SessionProgress:
    """Totals so far, never deltas: applying one twice changes nothing."""

    key: str
    at: datetime  # becomes last_seen_at
    bytes_sent: int | None = None
    failovers: int | None = None
    watched_s: float | None = None
    stream_id: int | None = None  # the stream playing now (after a failover)
    provider_id: int | None = None


@dataclass(frozen=True, slots=True)
class SessionEnd:
    """The same fields as :class:`SessionProgress`; ``ended_at = at``."""

    key: str
    at: datetime
    bytes_sent: int | None = None
    failovers: int | None = None
    watched_s: float | None = None
    stream_id: int | None = None
    provider_id: int | None = None
    completed: bool | None = None  # a client may say; otherwise computed


SessionEvent = SessionStart | SessionProgress | SessionEnd


@dataclass(frozen=True, slots=True)
class SessionRules:
    """The settings the session rules read, as one small value."""

    zap_seconds: float = 30.0
    completed_ratio: float = 0.9
    max_future_seconds: float = 120.0
    record_ip: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionRules:
        return cls(
            zap_seconds=settings.sessions_zap_seconds,
            completed_ratio=settings.sessions_completed_ratio,
            max_future_seconds=settings.sessions_max_future_seconds,
            record_ip=settings.sessions_record_ip,
        )


def event_time(event: SessionEvent) -> datetime:
    return event.started_at if isinstance(event, SessionStart) else event.at


def check_event(event: SessionEvent, now: datetime, rules: SessionRules) -> None:
    """Raise :class:`InputError` for an event that is wrong whatever the database holds."""
    if not isinstance(event.key, str) or not 0 < len(event.key) <= KEY_MAX:
        raise InputError(f"A session key must be 1 to {KEY_MAX} characters long.")
    _check_time(event_time(event), now, rules)
    if isinstance(event, SessionStart):
        _check_start(event)
    else:
        _check_totals(event)


def _check_time(stamp: datetime, now: datetime, rules: SessionRules) -> None:
    if stamp.tzinfo is None or stamp.utcoffset() is None:
        raise InputError("A viewing event's time must carry a time zone.", hint="Send it in UTC, e.g. ...T20:00:00Z.")
    ahead = (stamp - now).total_seconds()
    if ahead > rules.max_future_seconds:
        raise InputError(
            f"The event's time is {ahead:.0f} s in the future; viewing events may be at most "
            f"{rules.max_future_seconds:g} s ahead (sessions_max_future_seconds).",
            hint="Check the clock of the device that sent it.",
        )


def _check_start(event: SessionStart) -> None:
    if event.content_kind not in CONTENT_KINDS:
        raise InputError(f"{str(event.content_kind)[:20]!r} is not a content kind: use channel, movie or episode.")
    if event.source not in SOURCES:
        raise InputError(f"{str(event.source)[:20]!r} is not a session source: use proxy, redirect or api.")
    _check_amount("media_duration_s", event.media_duration_s)


def _check_totals(event: SessionProgress | SessionEnd) -> None:
    _check_amount("bytes_sent", event.bytes_sent)
    _check_amount("failovers", event.failovers)
    _check_amount("watched_s", event.watched_s)


def _check_amount(name: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise InputError(f"{name} must be a finite number of at least 0, not {value!r}.")


def cut(text: str | None, length: int = 255) -> str | None:
    return text[:length] if text else None
