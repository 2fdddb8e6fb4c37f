"""Who is watching what now: ``GET /api/streams/active`` and ``m3u-strm activity``.

Two views of the same facts:

* :func:`live_activity` is the server's own, to the byte: the plays in progress in this process (its gateway's
  :class:`~m3u_strm.playback.recording.Activity`), with bytes per second measured over the last seconds, plus the
  connections each provider has open (viewers, HLS fetches, checks);
* :func:`stored_activity` reads the database, for the CLI (another process) and for sessions the gateway did not
  serve: open proxy sessions seen within :data:`PROXY_FRESH` (the gateway reports every 30 s; older ones belong to
  a server that stopped and are closed at its next start), client-reported (``api``) sessions seen within
  :data:`API_FRESH`, and redirects started within :data:`REDIRECT_RECENT` (their end is never known).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from m3u_strm.db.models import Provider, User, ViewingSession
from m3u_strm.playback.connections import ConnectionLedger
from m3u_strm.playback.recording import Activity, PlayRecord

__all__ = ["ActivePlay", "live_activity", "stored_activity"]

PROXY_FRESH = timedelta(minutes=2)
API_FRESH = timedelta(minutes=30)
REDIRECT_RECENT = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ActivePlay:
    key: str
    user_id: int
    username: str | None
    content_kind: str
    content_id: int
    title: str | None
    stream_id: int | None
    provider_id: int | None
    provider: str | None
    started_at: datetime | None
    seconds: float | None
    bytes_sent: int
    bytes_per_s: float | None
    failovers: int
    client: str | None
    source: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def live_activity(
    session: Session, activity: Activity, ledger: ConnectionLedger, now: datetime
) -> tuple[list[ActivePlay], dict[int, dict[str, int]]]:
    """The plays in progress in this server, and the open provider connections by provider id and purpose."""
    records = [record for record in activity if record.started_at is not None]
    provider_ids = {record.candidate.provider_id for record in records if record.candidate}
    users, providers = _names(session, {record.user_id for record in records}, provider_ids)
    plays = [_live_play(record, users, providers, now) for record in records]
    return sorted(plays, key=lambda play: play.started_at or now), ledger.snapshot()


def _live_play(record: PlayRecord, users: dict[int, str], providers: dict[int, str], now: datetime) -> ActivePlay:
    candidate = record.candidate
    return ActivePlay(
        record.key, record.user_id, users.get(record.user_id), record.content_kind, record.content_id, record.title,
        candidate.stream_id if candidate else None, candidate.provider_id if candidate else None,
        providers.get(candidate.provider_id) if candidate else None, record.started_at,
        (now - record.started_at).total_seconds() if record.started_at else None, record.bytes_sent,
        round(record.bytes_per_second(), 1), record.failovers, record.client.user_agent, record.source,
    )  # fmt: skip


def stored_activity(session: Session, now: datetime, *, exclude: frozenset[str] = frozenset()) -> list[ActivePlay]:
    """Open sessions in the database that look current; see the module rules."""
    query = (
        select(ViewingSession, User.username, Provider.name)
        .join(User, User.id == ViewingSession.user_id)
        .outerjoin(Provider, Provider.id == ViewingSession.provider_id)
        .where(
            ViewingSession.ended_at.is_(None),
            or_(
                and_(ViewingSession.source == "proxy", ViewingSession.last_seen_at >= now - PROXY_FRESH),
                and_(ViewingSession.source == "api", ViewingSession.last_seen_at >= now - API_FRESH),
                and_(ViewingSession.source == "redirect", ViewingSession.started_at >= now - REDIRECT_RECENT),
            ),
        )
        .order_by(ViewingSession.started_at)
    )
    plays = []
    for row, username, provider in session.execute(query):
        if row.key in exclude:
            continue
        seconds = (row.last_seen_at - row.started_at).total_seconds()
        rate = row.bytes_sent / seconds if row.source == "proxy" and seconds > 0 else None
        plays.append(
            ActivePlay(
                row.key, row.user_id, username, row.content_kind, row.content_id, row.title, row.stream_id,
                row.provider_id, provider, row.started_at, (now - row.started_at).total_seconds(), row.bytes_sent,
                None if rate is None else round(rate, 1), row.failovers, row.client, row.source,
            )
        )  # fmt: skip
    return plays


def _names(session: Session, user_ids: set[int], provider_ids: set[int]) -> tuple[dict[int, str], dict[int, str]]:
    users = {id_: name for id_, name in session.execute(select(User.id, User.username).where(User.id.in_(user_ids)))}
    query = select(Provider.id, Provider.name).where(Provider.id.in_(provider_ids))
    return users, {id_: name for id_, name in session.execute(query)}
