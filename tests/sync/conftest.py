"""A fake IPTV provider on 127.0.0.1 for sync tests, plus helpers to look at what a sync stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from m3u_strm.db.models import EpgProgramme, Stream, VodEpisode, VodMovie, VodSeries
from m3u_strm.demo.catalogue import build_catalogue
from m3u_strm.demo.fake_provider import FakeProviderServer

PROVIDER_PASSWORD = "pw-Secret-4242"
PROVIDER_USERNAME = "sync-user-77"


@pytest.fixture(scope="session")
def provider_server() -> Iterator[FakeProviderServer]:
    catalogue = build_catalogue(live=120, movies=30, series=6, episodes_per_series=4, seed=3)
    server = FakeProviderServer(catalogue, username=PROVIDER_USERNAME, password=PROVIDER_PASSWORD)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake(provider_server: FakeProviderServer) -> Iterator[FakeProviderServer]:
    provider_server.faults.reset()
    yield provider_server
    provider_server.faults.reset()


def catalogue_state(engine: Engine) -> dict[str, Any]:
    """Everything a sync may change, as comparable plain values."""
    with Session(engine) as session:
        return {
            model.__tablename__: sorted(
                (row.id, row.item_key, row.content_hash, row.removed_at is None)
                for row in session.scalars(select(model))
            )
            for model in (Stream, VodMovie, VodSeries, VodEpisode)
        } | {"programmes": session.query(EpgProgramme).count()}
