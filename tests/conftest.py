"""Shared fixtures. Database fixtures run every database-facing test on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
