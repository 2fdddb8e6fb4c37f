"""Quality sampling end to end: real PyAV media behind a synced provider, probes recorded as history, measured
facts on the stream, broken streams flagged in deep mode, degradation against the stream's own baseline, and a
measured 720p stream ranked above a "4K" name that turned out to be a placeholder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from m3u_strm.config import Settings
from m3u_strm.db.models import QualitySample, Stream
from m3u_strm.demo.media import mpegts
from m3u_strm.monitor.quality import ProbeResult
from m3u_strm.monitor.sampling import SamplingRun, record_probe, run_quality_sampling
from tests.api.conftest import Account
from tests.catalogue_helpers import Line, add_provider, sync, write_playlist
from tests.monitor.media_server import MediaServer, Route, serve


@pytest.fixture(scope="module")
def media() -> Iterator[MediaServer]:
    with serve() as server:
        server.add("/hd.ts", Route(mpegts(3.0, width=1280, height=720)))
        server.add("/fake4k.ts", Route(mpegts(3.0, kind="placeholder")))
        server.add("/black.ts", Route(mpegts(3.0, width=320, height=180, kind="black")))
        server.add("/gone.ts", Route(b"", status=404))
        yield server


@pytest.fixture
def streams(engine: Engine, settings: Settings, media: MediaServer, tmp_path: Path) -> dict[str, int]:
    lines = [
        Line("UK: Movies 24 4K", f"{media.base_url}/fake4k.ts", "movies24.uk"),
        Line("Movies 24 HD", f"{media.base_url}/hd.ts", "movies24.uk"),
        Line("Dark TV", f"{media.base_url}/black.ts"),
        Line("Gone TV", f"{media.base_url}/gone.ts"),
    ]
    add_provider(engine, "p", write_playlist(tmp_path / "p.m3u", lines))
    sync(engine, settings, "p")
    with Session(engine) as session:
        return {name: stream_id for name, stream_id in session.execute(select(Stream.name, Stream.id))}


def _sample(engine: Engine, settings: Settings, **options: object) -> SamplingRun:
    async def run() -> SamplingRun:
        return await run_quality_sampling(engine, settings, **options)  # type: ignore[arg-type]

    return anyio.run(run)


def _stream(engine: Engine, stream_id: int) -> Stream:
    with Session(engine, expire_on_commit=False) as session:
        return session.get_one(Stream, stream_id)


def test_probes_put_measured_facts_on_streams_and_in_history(
    engine: Engine, settings: Settings, streams: dict[str, int]
) -> None:
    run = _sample(engine, settings)
    assert run.probed == 4 and run.outcomes == {"ok": 3, "failed": 1}
    hd = _stream(engine, streams["Movies 24 HD"])
    assert (hd.width, hd.height, hd.codec, hd.resolution) == (1280, 720, "h264", "720p")
    assert hd.bitrate_kbps and hd.last_probe_at is not None
    with Session(engine) as session:
        samples = session.scalars(select(QualitySample).where(QualitySample.stream_id == streams["Gone TV"])).all()
    assert [(s.outcome, s.method) for s in samples] == [("failed", "probe")]


def test_measured_720p_outranks_a_placeholder_named_4k(
    engine: Engine, settings: Settings, streams: dict[str, int]
) -> None:
    assert _stream(engine, streams["UK: Movies 24 4K"]).rank == 1  # by its name
    _sample(engine, settings)
    assert _stream(engine, streams["Movies 24 HD"]).rank == 1
    assert _stream(engine, streams["UK: Movies 24 4K"]).resolution == "240p"


def test_deep_mode_flags_broken_pictures(engine: Engine, settings: Settings, streams: dict[str, int]) -> None:
    run = _sample(engine, settings, deep=True, stream_ids=(streams["Dark TV"], streams["Movies 24 HD"]))
    assert run.outcomes == {"broken": 1, "ok": 1}
    assert "black" in _stream(engine, streams["Dark TV"]).probe_flags
    with Session(engine) as session:
        dark = session.scalars(select(QualitySample).where(QualitySample.stream_id == streams["Dark TV"])).one()
    assert (dark.method, dark.outcome) == ("deep", "broken")


def _result(score: int) -> ProbeResult:
    return ProbeResult("ok", "mpegts", "h264", 1920, 1080, 25.0, 6000, "aac", 2, "1080p", score)


def test_a_score_clearly_below_the_streams_baseline_is_flagged(engine: Engine, streams: dict[str, int]) -> None:
    stream_id = streams["Movies 24 HD"]
    with Session(engine) as session, session.begin():
        for score in (750, 740, 750):
            assert "quality_degraded" not in record_probe(session, stream_id, _result(score), deep=False,
                                                          now=datetime.now(UTC)).flags  # fmt: skip
        dropped = record_probe(session, stream_id, _result(500), deep=False, now=datetime.now(UTC))
        assert "quality_degraded" in dropped.flags


def test_quality_history_api(client: TestClient, engine: Engine, settings: Settings, admin: Account,
                             streams: dict[str, int]) -> None:  # fmt: skip
    _sample(engine, settings, stream_ids=(streams["Movies 24 HD"],))
    history = client.get(f"/api/admin/streams/{streams['Movies 24 HD']}/quality-history", headers=admin.headers)
    assert history.status_code == 200
    (row,) = history.json()
    assert (row["resolution"], row["codec"], row["method"]) == ("720p", "h264", "probe")
    assert row["quality_score"] >= 600 and row["bitrate"] and row["fps"] == pytest.approx(25, abs=1)


def _watch(engine: Engine, stream_id: int, times: int, *, zap: bool = False) -> None:
    """Viewing sessions of the stream's channel, as the gateway would have stored them."""
    from m3u_strm.accounts.users import create_user
    from m3u_strm.db.models import User, ViewingSession

    with Session(engine) as session, session.begin():
        stream = session.get_one(Stream, stream_id)
        user = session.scalars(select(User)).first() or create_user(session, "v", "viewer password 1", role="viewer")
        now = datetime.now(UTC)
        for n in range(times):
            session.add(
                ViewingSession(
                    key=f"{stream_id}-{n}-{zap}", user_id=user.id, content_kind="channel",
                    content_id=stream.channel_id, started_at=now, last_seen_at=now, source="proxy", is_zap=zap,
                )
            )  # fmt: skip


def test_the_most_watched_channels_are_sampled_first_then_the_longest_unsampled(
    engine: Engine, settings: Settings, streams: dict[str, int]
) -> None:
    from m3u_strm.monitor.sampling import due_streams

    _watch(engine, streams["Gone TV"], 3)
    _watch(engine, streams["Dark TV"], 1)
    _watch(engine, streams["Movies 24 HD"], 9, zap=True)  # zaps are not viewing
    with Session(engine) as session:
        due = due_streams(session, 4, now=datetime.now(UTC))
    assert due[:2] == [streams["Gone TV"], streams["Dark TV"]]  # half the budget: most watched first
    assert sorted(due[2:]) == sorted([streams["UK: Movies 24 4K"], streams["Movies 24 HD"]])
    _sample(engine, settings, stream_ids=(streams["Gone TV"],))
    with Session(engine) as session:  # just probed: no longer "due because watched"
        assert due_streams(session, 2, now=datetime.now(UTC))[0] == streams["Dark TV"]


def test_a_provider_without_a_free_connection_is_left_for_the_next_run(
    engine: Engine, settings: Settings, streams: dict[str, int]
) -> None:
    from m3u_strm.db.models import Provider
    from m3u_strm.playback.connections import ConnectionLedger

    ledger = ConnectionLedger()
    with Session(engine) as session, session.begin():
        provider = session.scalars(select(Provider)).one()
        provider.max_connections = 1
        provider_id = provider.id
    held = ledger.try_acquire(provider_id, 1, "viewer")  # a viewer holds the only connection
    run = _sample(engine, settings, ledger=ledger)
    assert (run.probed, run.skipped_busy) == (0, 4)
    with Session(engine) as session:
        assert session.scalars(select(QualitySample)).first() is None
    assert held is not None
    held.release()
    settings.quality_concurrency = 1  # two probes at once would be one over the limit: the second waits a run
    run = _sample(engine, settings, ledger=ledger)
    assert (run.probed, run.skipped_busy) == (4, 0) and ledger.in_use(provider_id) == 0
