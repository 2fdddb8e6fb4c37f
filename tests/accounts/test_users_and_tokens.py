"""Users and tokens against a real database (SQLite file and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from m3u_strm.accounts import tokens
from m3u_strm.accounts.users import authenticate, create_user
from m3u_strm.db.models import ApiToken, User
from m3u_strm.errors import AuthenticationError, ConflictError, InputError

GOOD_PASSWORD = "correct horse battery"


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def test_password_is_stored_as_argon2id_hash(session: Session) -> None:
    user = create_user(session, "alice", GOOD_PASSWORD, role="admin")
    session.commit()
    stored = session.scalars(select(User.password_hash).where(User.id == user.id)).one()
    assert stored.startswith("$argon2id$")
    assert GOOD_PASSWORD not in stored


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("bob", "short", "viewer", "too short"),
        ("bad name!", GOOD_PASSWORD, "viewer", "not allowed"),
        ("bob", GOOD_PASSWORD, "root", "Unknown role"),
    ],
    ids=["short-password", "bad-username", "unknown-role"],
)
def test_create_user_refuses_bad_input_with_clear_message(
    session: Session, username: str, password: str, role: str, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        create_user(session, username, password, role=role)  # type: ignore[arg-type]


def test_duplicate_username_is_a_conflict_case_insensitively(session: Session) -> None:
    create_user(session, "Carol", GOOD_PASSWORD)
    with pytest.raises(ConflictError):
        create_user(session, "carol", GOOD_PASSWORD)


def test_authenticate_accepts_right_password_and_rejects_wrong_one_and_unknown_user(session: Session) -> None:
    create_user(session, "dave", GOOD_PASSWORD)
    assert authenticate(session, "dave", GOOD_PASSWORD).username == "dave"
    with pytest.raises(AuthenticationError, match="Incorrect username or password"):
        authenticate(session, "dave", GOOD_PASSWORD + "x")
    with pytest.raises(AuthenticationError, match="Incorrect username or password"):
        authenticate(session, "nobody", GOOD_PASSWORD)


def test_bearer_token_is_stored_hashed_and_resolves_to_its_user(session: Session) -> None:
    user = create_user(session, "erin", GOOD_PASSWORD)
    issued = tokens.issue_token(session, user, kind=tokens.PERSONAL, name="script")
    session.commit()
    assert session.scalars(select(ApiToken.token_hash)).one() == tokens.digest(issued.token)
    assert issued.token not in {row.token_hash for row in session.scalars(select(ApiToken))}
    assert tokens.resolve_bearer(session, issued.token).id == user.id


def test_revoked_and_expired_tokens_are_refused(session: Session) -> None:
    user = create_user(session, "frank", GOOD_PASSWORD)
    revoked = tokens.issue_token(session, user, kind=tokens.PERSONAL, name="old")
    tokens.revoke_token(session, user, revoked.record.id)
    expired = tokens.issue_token(session, user, kind=tokens.SESSION, lifetime=timedelta(minutes=5))
    expired.record.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.commit()
    for token in (revoked.token, expired.token, "msp_made_up"):
        with pytest.raises(AuthenticationError):
            tokens.resolve_bearer(session, token)


def test_playback_token_is_stable_until_rotated(session: Session) -> None:
    user = create_user(session, "grace", GOOD_PASSWORD)
    first = tokens.playback_token(session, user).token
    assert tokens.playback_token(session, user).token == first
    assert tokens.resolve_playback_token(session, first).id == user.id
    second = tokens.rotate_playback_token(session, user).token
    assert second != first
    with pytest.raises(AuthenticationError):
        tokens.resolve_playback_token(session, first)
    assert tokens.resolve_playback_token(session, second).id == user.id
