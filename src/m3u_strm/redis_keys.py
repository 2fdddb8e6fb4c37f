"""Every Redis key this product uses, in one place."""

from __future__ import annotations

PREFIX = "m3u_strm"


def login_failures(scope: str, subject: str) -> str:
    """Failed-login counter for a client address (``scope='addr'``) or a username (``scope='user'``)."""
    return f"{PREFIX}:login_failures:{scope}:{subject}"
