"""Monitoring against the fake Xtream panel. 401/403 from streams: the provider's account is asked once per run; a
rejected account flags the provider and spares its streams, a fine account means the streams themselves refuse, and
that counts. The panel's live streams are real PyAV media that can be broken on demand."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from m3u_strm.config import Settings
from m3u_strm.db.models import HealthCheck, Provider, Stream
from m3u_strm.demo.catalogue import build_catalogue
from m3u_strm.demo.fake_provider import FakeProviderServer
from m3u_strm.ingest.providers import ProviderSpec, create_provider
from m3u_strm.monitor.sampling import probe_and_record
from m3u_strm.monitor.service import HealthRun, run_health_check
from tests.catalogue_helpers import sync

USER, PASSWORD = "acct-user-5", "acct-Pass-77"


@pytest.fixture(scope="module")
def panel() -> Iterator[FakeProviderServer]:
    with FakeProviderServer(build_catalogue(live=4, movies=1, series=1, seed=9), username=USER,
                            password=PASSWORD) as server:  # fmt: skip
        yield server


@pytest.fixture
def provider(engine: Engine, settings: Settings, panel: FakeProviderServer) -> Iterator[int]:
    panel.faults.reset()
    with Session(engine) as session, session.begin():
        spec = ProviderSpec(name="panel", kind="xtream", url=panel.base_url, username=USER, password=PASSWORD)
        provider_id = create_provider(session, spec).id
    sync(engine, settings, "panel")
    panel.faults.status_code, panel.faults.only_paths = 403, {"/live/"}
    yield provider_id
    panel.faults.reset()


def _run(engine: Engine, settings: Settings) -> HealthRun:
    async def run() -> HealthRun:
        return await run_health_check(engine, settings)

    return anyio.run(run)


def _live_states(engine: Engine) -> set[tuple[bool, int]]:
    with Session(engine) as session:
        rows = session.execute(select(Stream.is_active, Stream.consecutive_failures).where(Stream.removed_at.is_(None)))
        return {(active, failures) for active, failures in rows}


def test_a_rejected_account_flags_the_provider_not_the_streams(
    engine: Engine, settings: Settings, panel: FakeProviderServer, provider: int
) -> None:
    panel.faults.auth_zero = True
    panel.faults.only_paths = {"/live/", "authenticate"}  # the account check answers auth: 0 (or 403) too
    for _ in range(3):
        run = _run(engine, settings)
    assert run.summary.outcomes == {"auth_failed": 4}
    assert _live_states(engine) == {(True, 0)}
    with Session(engine) as session:
        assert session.get_one(Provider, provider).account_status == "auth_failed"
        assert set(session.scalars(select(HealthCheck.counted))) == {False}


def test_streams_refused_under_a_fine_account_count_as_failures(
    engine: Engine, settings: Settings, panel: FakeProviderServer, provider: int
) -> None:
    for _ in range(3):
        _run(engine, settings)
    assert _live_states(engine) == {(False, 3)}
    with Session(engine) as session:
        assert session.get_one(Provider, provider).account_status != "auth_failed"


def test_the_demo_panel_serves_real_media_that_probes_and_breaks_on_demand(
    engine: Engine, settings: Settings, panel: FakeProviderServer, provider: int
) -> None:
    panel.faults.status_code = panel.faults.only_paths = None
    with Session(engine) as session:
        stream_id = session.scalars(select(Stream.id).where(Stream.removed_at.is_(None)).limit(1)).one()
    healthy, _ = probe_and_record(engine, stream_id, deep=True, settings=settings)
    assert (healthy.outcome, healthy.width, healthy.height, healthy.video_codec) == ("ok", 640, 360, "h264")
    panel.faults.media_kind = "frozen"
    frozen, flags = probe_and_record(engine, stream_id, deep=True, settings=settings)
    assert frozen.outcome == "broken" and "frozen" in flags
