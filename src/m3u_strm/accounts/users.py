"""Users: creation with password rules, authentication, roles."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from m3u_strm.accounts.passwords import hash_password, needs_rehash, verify_password
from m3u_strm.config import get_settings
from m3u_strm.db.models import User
from m3u_strm.errors import AuthenticationError, ConflictError, InputError, NotFoundError

Role = Literal["admin", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "viewer")
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def validate_password(password: str) -> None:
    minimum = get_settings().password_min_length
    if len(password) < minimum:
        raise InputError(
            f"The password is too short ({len(password)} characters).",
            hint=f"Use at least {minimum} characters; a passphrase of several words works well.",
        )


def create_user(session: Session, username: str, password: str, *, role: Role = "viewer") -> User:
    """Create a user; refuses bad names, short passwords and duplicates with a clear message."""
    if not _USERNAME.match(username):
        raise InputError(
            f"The username {username!r} is not allowed.",
            hint="Use 1-64 letters, digits, '_', '.', '@' or '-'.",
        )
    if role not in ROLES:
        raise InputError(f"Unknown role {role!r}.", hint="Use 'admin' or 'viewer'.")
    validate_password(password)
    if find_user(session, username) is not None:
        raise ConflictError(f"A user named {username!r} already exists.", hint="Pick another name.")
    user = User(username=username, password_hash=hash_password(password), role=role)
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(func.lower(User.username) == username.lower())).first()


def get_user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFoundError(f"No user named {username!r}.", hint="List users with `m3u-strm user list`.")
    return user


def authenticate(session: Session, username: str, password: str) -> User:
    """Return the user for a correct username and password; one vague error for every failure."""
    user = find_user(session, username)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        raise AuthenticationError("Incorrect username or password.")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = datetime.now(UTC)
    return user


def set_password(session: Session, user: User, password: str) -> None:
    validate_password(password)
    user.password_hash = hash_password(password)


def count_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(User.role == "admin")) or 0
