"""No credential of a test provider appears in any log line, error, API response or stored sync row."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from m3u_strm.config import Settings
from m3u_strm.db.models import AuditLog, ProviderSync
from m3u_strm.demo.fake_provider import FakeProviderServer
from m3u_strm.ingest.sync import sync_provider
from m3u_strm.log import RedactingFormatter
from tests.sync.conftest import PROVIDER_PASSWORD, PROVIDER_USERNAME
from tests.sync.test_sync import add_provider, xtream_provider

pytestmark = pytest.mark.anyio

FAULT_SETTINGS = [
    {},
    {"status_code": 500},
    {"auth_zero": True},
    {"html_200": True},
    {"truncate_after_bytes": 500},
    {"rate_limit_retry_after": 3600},
]


async def test_logs_and_sync_rows_never_hold_provider_credentials(
    engine: Engine, settings: Settings, fake: FakeProviderServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    xtream_id = xtream_provider(engine, fake)
    m3u_id = add_provider(engine, name="m3u", kind="m3u", url=fake.m3u_url, epg_url=fake.xmltv_url)
    for faults in FAULT_SETTINGS:
        fake.faults.reset()
        for name, value in faults.items():
            setattr(fake.faults, name, value)
        for provider_id in (xtream_id, m3u_id):
            await sync_provider(engine, provider_id, settings=settings)
    formatter = RedactingFormatter("%(name)s %(message)s")
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    with Session(engine) as session:
        stored = "\n".join(
            f"{row.error_message} {row.warnings} {row.skipped}" for row in session.scalars(select(ProviderSync))
        ) + "\n".join(str(row.details) for row in session.scalars(select(AuditLog)))
    assert "HTTP 500" in stored and "auth: 0" in stored  # the faults did produce errors to look at
    for secret in (PROVIDER_PASSWORD, PROVIDER_USERNAME):
        assert secret not in logged
        assert secret not in stored
