"""Viewing history for the API: what a client may report, and one user's sessions page by page.

* A client reports viewing of content that exists: a channel, movie or episode row (a movie or episode gone from
  its provider's catalogue still counts: history outlives the catalogue). The title is a snapshot of its name.
* A client's idempotency key is its own: the stored key is a hash of the user id and the client's key, so two
  users with the same key never meet (:func:`api_session_key`).
* Pages are newest first, by ``(started_at, id)``; the cursor is that pair of the last item, opaque to clients.
  A page after a cursor never repeats or skips a row, whatever is inserted meanwhile.
* ``from`` is inclusive and ``to`` exclusive; a bare date as ``to`` means the end of that day; times without a
  zone are UTC.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select, tuple_
from sqlalchemy.orm import Session

from m3u_strm.db.models import Channel, Stream, ViewingSession, VodEpisode, VodMovie
from m3u_strm.errors import InputError, NotFoundError

ITEM_FIELDS = ("id", "content_id", "title", "stream_id", "provider_id", "started_at", "ended_at", "duration_s",
               "watched_s", "bytes_sent", "failovers", "source", "completed", "is_zap", "client")  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReportedContent:
    """What the start of a reported session takes from the catalogue."""

    title: str
    provider_id: int | None
    media_duration_s: float | None


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    user_id: int
    started_from: datetime | None = None
    started_before: datetime | None = None
    content_kind: str | None = None
    channel_id: int | None = None
    completed: bool | None = None


def api_session_key(user_id: int, client_key: str | None) -> str:
    """The stored idempotency key of a reported session (random when the client gave none)."""
    if client_key is None:
        return uuid.uuid4().hex
    return hashlib.sha256(f"api\x00{user_id}\x00{client_key}".encode()).hexdigest()


def reported_content(session: Session, kind: str, content_id: int, stream_id: int | None) -> ReportedContent:
    """The content a client reports watching; :class:`NotFoundError` when it (or the stream given) does not exist."""
    if kind == "channel":
        channel = session.get(Channel, content_id)
        if channel is None:
            raise NotFoundError(f"There is no channel {content_id}.", hint="Use an id from GET /api/channels.")
        content = ReportedContent(channel.name, None, None)
    else:
        vod = session.get(VodMovie, content_id) if kind == "movie" else session.get(VodEpisode, content_id)
        if vod is None:
            raise NotFoundError(f"There is no {kind} {content_id} in the catalogue.")
        length = vod.duration_secs if isinstance(vod, VodEpisode) else None
        content = ReportedContent(vod.name, vod.provider_id, float(length) if length else None)
    if stream_id is None:
        return content
    stream = session.get(Stream, stream_id)
    if stream is None:
        raise NotFoundError(f"There is no stream {stream_id}.")
    return ReportedContent(content.title, stream.provider_id, content.media_duration_s)


def own_session(session: Session, session_id: int, user_id: int) -> ViewingSession:
    """The user's session ``session_id``; another user's is as missing as one that never was."""
    row = session.scalars(
        select(ViewingSession)
        .where(ViewingSession.id == session_id, ViewingSession.user_id == user_id)
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise NotFoundError(f"You have no viewing session {session_id}.")
    return row


def session_item(row: ViewingSession) -> dict[str, Any]:
    """A session as the API shows it: never a URL, not even its hash."""
    item = {name: getattr(row, name) for name in ITEM_FIELDS}
    item["content_type"] = row.content_kind
    return item


def history_page(
    session: Session, wanted: HistoryFilter, cursor: str | None, limit: int
) -> tuple[list[ViewingSession], str | None]:
    """One page of sessions, newest first, and the cursor of the next page (None on the last)."""
    query = select(ViewingSession).where(*_conditions(wanted))
    if cursor is not None:
        query = query.where(tuple_(ViewingSession.started_at, ViewingSession.id) < _decode_cursor(cursor))
    query = query.order_by(ViewingSession.started_at.desc(), ViewingSession.id.desc()).limit(limit + 1)
    rows = list(session.scalars(query))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, _encode_cursor(rows[-1].started_at, rows[-1].id)


def _conditions(wanted: HistoryFilter) -> list[ColumnElement[bool]]:
    conditions = [ViewingSession.user_id == wanted.user_id]
    if wanted.started_from is not None:
        conditions.append(ViewingSession.started_at >= wanted.started_from)
    if wanted.started_before is not None:
        conditions.append(ViewingSession.started_at < wanted.started_before)
    if wanted.content_kind is not None:
        conditions.append(ViewingSession.content_kind == wanted.content_kind)
    if wanted.channel_id is not None:
        conditions += [ViewingSession.content_kind == "channel", ViewingSession.content_id == wanted.channel_id]
    if wanted.completed is not None:
        conditions.append(ViewingSession.completed.is_(wanted.completed))
    return conditions


def _encode_cursor(started_at: datetime, session_id: int) -> str:
    raw = json.dumps([started_at.isoformat(), session_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        stamp, session_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        started_at = datetime.fromisoformat(stamp)
        if started_at.tzinfo is None or not isinstance(session_id, int) or not 0 < session_id < 2**63:
            raise ValueError(cursor)
    except (ValueError, TypeError) as exc:
        raise InputError(
            "The cursor is not one this API gave out.", hint="Use next_cursor of the previous page as it is."
        ) from exc
    return started_at, session_id


def time_bound(text: str | None, name: str, *, end: bool = False) -> datetime | None:
    """``2026-01-31`` or an ISO date-time; a bare date as an end bound means the end of that day."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = datetime.combine(datetime.fromisoformat(text).date(), time(), UTC)
            return day + timedelta(days=1) if end else day
        stamp = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(
            f"{name}: {text[:40]!r} is not an ISO date or date-time.", hint="Use 2026-01-31 or 2026-01-31T20:00:00Z."
        ) from exc
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp
