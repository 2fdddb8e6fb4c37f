"""Viewing history for clients that report their own viewing, and every user's own history.

* ``POST /api/analytics/history`` starts a session (201); the content must exist (404). An idempotency key (body
  ``idempotency_key`` or the ``Idempotency-Key`` header) makes a repeated start return the session stored first.
* ``PATCH /api/analytics/history/{id}`` records progress, completes or ends one of the caller's own reported
  sessions. Another user's session is 404, as if it did not exist; a session the gateway recorded is 409.
* ``GET /api/analytics/history`` lists the caller's sessions, newest first, with a keyset ``cursor``. An admin may
  pass ``user_id`` to read anyone's; a viewer who passes another user's id gets 403 (rather than silently getting
  their own history back under someone else's id).

Writes go through the app's :class:`~m3u_strm.playback.sessions.SessionWriter` and answer once they are durable.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from sqlalchemy.orm import Session

from m3u_strm.api.deps import ClientAddress, CurrentUser, SessionDep
from m3u_strm.api.schemas import HistoryPage, HistorySessionPublic, HistoryStart, HistoryUpdate
from m3u_strm.db.types import utcnow
from m3u_strm.errors import ConflictError, PermissionDeniedError
from m3u_strm.playback import session_history as history
from m3u_strm.playback.sessions import SessionEnd, SessionEvent, SessionProgress, SessionStart, SessionWriter

router = APIRouter(prefix="/api/analytics/history", tags=["analytics"])


def get_session_writer(request: Request) -> SessionWriter:
    writer: SessionWriter = request.app.state.session_writer
    return writer


SessionWriterDep = Annotated[SessionWriter, Depends(get_session_writer)]
FromQuery = Annotated[str | None, Query(alias="from", max_length=40, description="ISO date or date-time, inclusive")]
ToQuery = Annotated[str | None, Query(alias="to", max_length=40, description="Exclusive; a bare date: to its end")]


def _stored(session: Session, writer: SessionWriter, event: SessionEvent) -> int:
    """Hand ``event`` to the writer and wait until it is durable.

    The request's own transaction ends first: it may hold SQLite's write lock (logging in stamps the token's
    ``last_used_at``), and the writer needs that lock to commit.
    """
    session.commit()
    return writer.submit(event).result()


@router.post("", status_code=201, response_model=HistorySessionPublic)
def start_history_session(
    body: HistoryStart, user: CurrentUser, session: SessionDep, writer: SessionWriterDep, address: ClientAddress,
    user_agent: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> HistorySessionPublic:  # fmt: skip
    content = history.reported_content(session, body.content_type, body.content_id, body.stream_id)
    event = SessionStart(
        key=history.api_session_key(user.id, body.idempotency_key or idempotency_key),
        user_id=user.id,
        content_kind=body.content_type,
        content_id=body.content_id,
        started_at=body.started_at or utcnow(),
        source="api",
        title=content.title,
        stream_id=body.stream_id,
        provider_id=content.provider_id,
        client=body.client or user_agent,
        client_ip=address,
        media_duration_s=body.media_duration_s or content.media_duration_s,
    )
    session_id = _stored(session, writer, event)
    return HistorySessionPublic(**history.session_item(history.own_session(session, session_id, user.id)))


@router.patch("/{session_id}", response_model=HistorySessionPublic)
def update_history_session(
    session_id: int, body: HistoryUpdate, user: CurrentUser, session: SessionDep, writer: SessionWriterDep
) -> HistorySessionPublic:
    row = history.own_session(session, session_id, user.id)
    if row.source != "api":
        raise ConflictError(
            f"Viewing session {session_id} was recorded by the playback gateway; only reported sessions change here."
        )
    at = body.at or utcnow()
    if body.action == "progress":
        _stored(session, writer, SessionProgress(row.key, at, watched_s=body.watched_s))
    else:
        completed = True if body.action == "complete" and body.completed is None else body.completed
        _stored(session, writer, SessionEnd(row.key, at, watched_s=body.watched_s, completed=completed))
    return HistorySessionPublic(**history.session_item(history.own_session(session, session_id, user.id)))


@router.get("", response_model=HistoryPage)
def read_history(
    user: CurrentUser,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    started_from: FromQuery = None,
    started_to: ToQuery = None,
    content_type: Literal["channel", "movie", "episode"] | None = None,
    channel_id: Annotated[int | None, Query(ge=1)] = None,
    completed: bool | None = None,
    user_id: Annotated[int | None, Query(ge=1, description="Admins: whose history")] = None,
) -> HistoryPage:
    if user_id is not None and user_id != user.id and user.role != "admin":
        raise PermissionDeniedError("Viewers can read only their own history.", hint="Leave user_id out.")
    wanted = history.HistoryFilter(
        user_id=user_id or user.id,
        started_from=history.time_bound(started_from, "from"),
        started_before=history.time_bound(started_to, "to", end=True),
        content_kind=content_type,
        channel_id=channel_id,
        completed=completed,
    )
    rows, next_cursor = history.history_page(session, wanted, cursor, limit)
    items = [HistorySessionPublic(**history.session_item(row)) for row in rows]
    return HistoryPage(items=items, next_cursor=next_cursor)
