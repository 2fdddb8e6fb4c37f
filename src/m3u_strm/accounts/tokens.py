"""Bearer tokens (login sessions and personal API tokens) and per-user playback tokens.

Bearer tokens are random, shown once, and stored as SHA-256 digests: a stolen database holds no usable token.
Playback tokens must be written into ``.strm`` files and playlists, so they are stored as they are; they are
revocable and carry no other power than playing streams.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from m3u_strm.db.models import ApiToken, PlaybackToken, User
from m3u_strm.errors import AuthenticationError, NotFoundError

SESSION = "session"
PERSONAL = "personal"
_PREFIXES = {SESSION: "mss_", PERSONAL: "msp_"}
_LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: ApiToken


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session, user: User, *, kind: str, name: str | None = None, lifetime: timedelta | None = None
) -> IssuedToken:
    token = _PREFIXES[kind] + secrets.token_urlsafe(32)
    record = ApiToken(
        user_id=user.id,
        kind=kind,
        name=name,
        token_hash=digest(token),
        prefix=token[:10],
        expires_at=datetime.now(UTC) + lifetime if lifetime else None,
    )
    session.add(record)
    session.flush()
    return IssuedToken(token, record)


def resolve_bearer(session: Session, token: str) -> User:
    """The active user a bearer token belongs to, or AuthenticationError."""
    now = datetime.now(UTC)
    record = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest(token))).first()
    if record is None or record.revoked_at is not None or (record.expires_at and record.expires_at <= now):
        raise AuthenticationError(
            "The token is invalid, expired or revoked.", hint="Log in again or create a new API token."
        )
    user = session.get(User, record.user_id)
    if user is None or not user.is_active:
        raise AuthenticationError("The token's user no longer exists or is disabled.")
    if record.last_used_at is None or now - record.last_used_at > _LAST_USED_RESOLUTION:
        record.last_used_at = now
    return user


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.kind == PERSONAL)
    return list(session.scalars(query.order_by(ApiToken.id)))


def revoke_token(session: Session, user: User, token_id: int) -> None:
    record = session.get(ApiToken, token_id)
    if record is None or record.user_id != user.id:
        raise NotFoundError(f"No token {token_id} for this user.")
    record.revoked_at = record.revoked_at or datetime.now(UTC)


def playback_token(session: Session, user: User) -> PlaybackToken:
    """The user's active playback token, created on first use."""
    query = select(PlaybackToken).where(PlaybackToken.user_id == user.id, PlaybackToken.revoked_at.is_(None))
    record = session.scalars(query).first()
    if record is None:
        record = PlaybackToken(user_id=user.id, token=secrets.token_urlsafe(24))
        session.add(record)
        session.flush()
    return record


def rotate_playback_token(session: Session, user: User) -> PlaybackToken:
    """Revoke the user's playback token (every URL carrying it stops working) and issue a new one."""
    now = datetime.now(UTC)
    for record in session.scalars(select(PlaybackToken).where(PlaybackToken.user_id == user.id)):
        record.revoked_at = record.revoked_at or now
    session.flush()
    return playback_token(session, user)


def resolve_playback_token(session: Session, token: str) -> User:
    record = session.scalars(select(PlaybackToken).where(PlaybackToken.token == token)).first()
    if record is None or record.revoked_at is not None:
        raise AuthenticationError("The playback token is invalid or revoked.")
    user = session.get(User, record.user_id)
    if user is None or not user.is_active:
        raise AuthenticationError("The playback token's user no longer exists or is disabled.")
    return user
