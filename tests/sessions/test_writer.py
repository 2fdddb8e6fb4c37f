"""The session writer on a real SQLite file and on PostgreSQL: group commit, idempotency, validation, isolation of
bad events, and the rules that close a session."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from m3u_strm.config import Settings
from m3u_strm.db.engine import build_engine
from m3u_strm.db.models import Channel, Provider, Stream
from m3u_strm.db.types import utcnow
from m3u_strm.errors import InputError, NotFoundError
from m3u_strm.playback.sessions import SessionEnd, SessionProgress, SessionStart, SessionWriter
from tests.sessions.conftest import CommitCounter, ago, stored


def start(key: str, user_id: int, **fields: Any) -> SessionStart:
    values: dict[str, Any] = {"content_kind": "channel", "content_id": 7, "started_at": ago(minutes=10),
                              "source": "proxy"} | fields  # fmt: skip
    return SessionStart(key=key, user_id=user_id, **values)


def outcome(future: Future[int]) -> int | BaseException:
    error = future.exception(timeout=30)
    return error if error is not None else future.result()


def test_queued_events_are_committed_in_one_transaction(
    engine: Engine, settings: Settings, users: list[int], commits: CommitCounter
) -> None:
    writer = SessionWriter(engine, settings)  # not started: everything below waits in the queue
    futures = []
    for n in range(100):
        key = f"s{n}"
        futures.append(writer.submit(start(key, users[n % 2], started_at=ago(minutes=30))))
        futures += [writer.submit(SessionProgress(key, ago(minutes=20 - m), bytes_sent=1000 * m)) for m in range(3)]
        futures.append(writer.submit(SessionEnd(key, ago(minutes=5), bytes_sent=5000)))
    writer.start()
    ids = [future.result(timeout=30) for future in futures]
    writer.stop()
    assert commits.commits == 1
    rows = stored(engine)
    assert len(rows) == 100 and len(set(ids)) == 100
    assert all(row.bytes_sent == 5000 and row.ended_at is not None for row in rows.values())


def test_batch_size_bounds_a_transaction(
    engine: Engine, settings: Settings, users: list[int], commits: CommitCounter
) -> None:
    writer = SessionWriter(engine, settings, batch_size=25)
    futures = [writer.submit(start(f"b{n}", users[0])) for n in range(100)]
    writer.start()
    assert all(future.result(timeout=30) > 0 for future in futures)
    writer.stop()
    assert commits.commits == 4


def test_a_future_resolves_only_after_its_commit(engine: Engine, writer: SessionWriter, users: list[int]) -> None:
    session_id = writer.submit(start("durable", users[0])).result(timeout=30)
    assert stored(engine)["durable"].id == session_id  # read through another connection


def test_a_repeated_start_returns_the_stored_id_and_changes_nothing(
    engine: Engine, writer: SessionWriter, users: list[int]
) -> None:
    first = writer.submit(start("same", users[0], title="News")).result(timeout=30)
    again = writer.submit(start("same", users[1], content_id=99, title="Other")).result(timeout=30)
    writer.submit(SessionEnd("same", ago(minutes=1))).result(timeout=30)
    after_end = writer.submit(start("same", users[0], title="Later")).result(timeout=30)
    assert first == again == after_end
    row = stored(engine)["same"]
    assert (row.user_id, row.content_id, row.title) == (users[0], 7, "News")
    assert row.ended_at is not None


def test_starts_with_one_key_in_one_batch_are_stored_once(engine: Engine, settings: Settings, users: list[int]) -> None:
    writer = SessionWriter(engine, settings)
    futures = [writer.submit(start("twice", users[0])) for _ in range(3)]
    writer.start()
    assert len({future.result(timeout=30) for future in futures}) == 1
    writer.stop()
    assert list(stored(engine)) == ["twice"]


def test_applying_the_same_progress_twice_changes_nothing(
    engine: Engine, writer: SessionWriter, users: list[int]
) -> None:
    writer.submit(start("p", users[0])).result(timeout=30)
    progress = SessionProgress("p", ago(minutes=2), bytes_sent=4096, failovers=1, watched_s=300.0)
    writer.submit(progress).result(timeout=30)
    once = stored(engine)["p"]
    writer.submit(progress).result(timeout=30)
    twice = stored(engine)["p"]
    columns = ("bytes_sent", "failovers", "watched_s", "last_seen_at", "ended_at")
    assert [getattr(once, c) for c in columns] == [getattr(twice, c) for c in columns]
    assert (twice.bytes_sent, twice.failovers, twice.watched_s) == (4096, 1, 300.0)


@pytest.mark.parametrize(
    ("seconds_ahead", "accepted"), [(60, True), (119, True), (200, False), (86_400, False)], ids=str
)
def test_events_too_far_in_the_future_are_refused_naming_the_limit(
    writer: SessionWriter, users: list[int], seconds_ahead: int, accepted: bool
) -> None:
    when = utcnow() + timedelta(seconds=seconds_ahead)
    result = outcome(writer.submit(start(f"f{seconds_ahead}", users[0], started_at=when)))
    if accepted:
        assert isinstance(result, int)
        return
    assert isinstance(result, InputError)
    assert "120 s" in result.message and "sessions_max_future_seconds" in result.message


def test_progress_in_the_future_is_refused(writer: SessionWriter, users: list[int]) -> None:
    writer.submit(start("fp", users[0])).result(timeout=30)
    result = outcome(writer.submit(SessionProgress("fp", utcnow() + timedelta(hours=1))))
    assert isinstance(result, InputError) and "in the future" in result.message


def test_naive_timestamps_are_refused(writer: SessionWriter, users: list[int]) -> None:
    naive = datetime.now(UTC).replace(tzinfo=None)
    result = outcome(writer.submit(start("naive", users[0], started_at=naive)))
    assert isinstance(result, InputError) and "time zone" in result.message


@pytest.mark.parametrize(
    "event", [SessionProgress("ghost", ago(minutes=1)), SessionEnd("ghost", ago(minutes=1))], ids=["progress", "end"]
)
def test_progress_or_end_of_an_unknown_key_is_not_found(
    writer: SessionWriter, users: list[int], event: SessionProgress | SessionEnd
) -> None:
    assert isinstance(outcome(writer.submit(event)), NotFoundError)


def test_an_end_before_the_start_is_refused_and_the_session_stays_open(
    engine: Engine, writer: SessionWriter, users: list[int]
) -> None:
    writer.submit(start("early", users[0], started_at=ago(minutes=10))).result(timeout=30)
    result = outcome(writer.submit(SessionEnd("early", ago(minutes=20))))
    assert isinstance(result, InputError) and "before it started" in result.message
    assert stored(engine)["early"].ended_at is None


@pytest.mark.parametrize(
    "bad",
    [SessionProgress("ok", ago(minutes=1), bytes_sent=-1),
     SessionProgress("ok", ago(minutes=1), watched_s=float("nan")),
     SessionEnd("k" * 65, ago(minutes=1)), SessionEnd("", ago(minutes=1))],
    ids=["negative-bytes", "nan-watched", "long-key", "empty-key"],
)  # fmt: skip
def test_malformed_events_are_refused(writer: SessionWriter, users: list[int], bad: SessionProgress) -> None:
    writer.submit(start("ok", users[0])).result(timeout=30)
    assert isinstance(outcome(writer.submit(bad)), InputError)


def test_bad_events_in_a_batch_fail_alone(
    engine: Engine, settings: Settings, users: list[int], commits: CommitCounter
) -> None:
    writer = SessionWriter(engine, settings)
    good = [writer.submit(start(f"g{n}", users[0])) for n in range(5)]
    unknown = writer.submit(SessionProgress("nobody", ago(minutes=1)))
    early = writer.submit(SessionEnd("g0", ago(hours=1)))
    good += [writer.submit(SessionEnd(f"g{n}", ago(minutes=1))) for n in range(1, 5)]
    writer.start()
    assert all(isinstance(outcome(future), int) for future in good)
    assert isinstance(outcome(unknown), NotFoundError)
    assert isinstance(outcome(early), InputError)
    writer.stop()
    assert commits.commits == 1  # refused events did not cost a transaction of their own
    rows = stored(engine)
    assert sorted(rows) == [f"g{n}" for n in range(5)]
    assert rows["g0"].ended_at is None and all(rows[f"g{n}"].ended_at is not None for n in range(1, 5))


def test_an_event_the_database_refuses_fails_alone(engine: Engine, settings: Settings, users: list[int]) -> None:
    writer = SessionWriter(engine, settings)
    before = [writer.submit(start(f"a{n}", users[0])) for n in range(3)]
    broken = writer.submit(start("no-such-stream", users[0], stream_id=999_999))  # a foreign key fails in the INSERT
    gone_user = writer.submit(start("no-such-user", 999_999))
    after = [writer.submit(start(f"z{n}", users[1])) for n in range(3)]
    writer.start()
    assert all(isinstance(outcome(future), int) for future in before + after)
    for future in (broken, gone_user):
        error = outcome(future)
        assert isinstance(error, InputError) and "does not exist" in error.message
    writer.stop()
    assert sorted(stored(engine)) == ["a0", "a1", "a2", "z0", "z1", "z2"]


@pytest.mark.parametrize(
    ("kind", "media", "watched", "elapsed_min", "said", "completed", "zap"),
    [
        ("movie", 6000.0, None, 95, None, True, False),
        ("movie", 6000.0, None, 80, None, False, False),
        ("movie", 6000.0, 5500.0, 30, None, True, False),  # watched time wins over wall time
        ("episode", 1800.0, 1000.0, 40, None, False, False),
        ("movie", None, None, 200, None, False, False),  # unknown length: never computed as completed
        ("channel", 3600.0, None, 120, None, False, False),  # a channel is completed only when a client says so
        ("channel", None, None, 120, True, True, False),
        ("movie", 6000.0, None, 100, False, False, False),  # the client's word wins
        ("channel", None, 12.0, 10, None, False, True),
        ("channel", None, None, 0.25, None, False, True),
    ],
    ids=["movie-95%", "movie-80%", "movie-watched", "episode-short", "movie-no-length", "channel-long",
         "channel-said", "movie-said-no", "zap-by-watched", "zap-by-time"],
)  # fmt: skip
def test_an_end_computes_duration_completed_and_zap(
    engine: Engine, writer: SessionWriter, users: list[int], kind: str, media: float | None,
    watched: float | None, elapsed_min: float, said: bool | None, completed: bool, zap: bool,
) -> None:  # fmt: skip
    begin = ago(hours=5)
    event = start("c", users[0], content_kind=kind, started_at=begin, media_duration_s=media)
    writer.submit(event).result(timeout=30)
    end = begin + timedelta(minutes=elapsed_min)
    writer.submit(SessionEnd("c", end, watched_s=watched, completed=said)).result(timeout=30)
    row = stored(engine)["c"]
    assert row.ended_at == end and row.last_seen_at == end
    assert row.duration_s == pytest.approx(watched if watched is not None else elapsed_min * 60)
    assert (row.completed, row.is_zap) == (completed, zap)


def test_a_later_end_keeps_a_completed_session_completed(
    engine: Engine, writer: SessionWriter, users: list[int]
) -> None:
    writer.submit(start("credits", users[0], content_kind="movie", source="api", started_at=ago(hours=2))).result()
    writer.submit(SessionEnd("credits", ago(minutes=20), completed=True)).result(timeout=30)
    writer.submit(SessionEnd("credits", ago(minutes=10), watched_s=6000.0)).result(timeout=30)
    row = stored(engine)["credits"]
    assert row.completed and row.watched_s == 6000.0 and row.duration_s == 6000.0


def test_progress_after_the_end_changes_nothing(engine: Engine, writer: SessionWriter, users: list[int]) -> None:
    writer.submit(start("late", users[0])).result(timeout=30)
    writer.submit(SessionEnd("late", ago(minutes=5), bytes_sent=100)).result(timeout=30)
    writer.submit(SessionProgress("late", ago(minutes=1), bytes_sent=999)).result(timeout=30)
    row = stored(engine)["late"]
    assert row.bytes_sent == 100 and row.last_seen_at < ago(minutes=4)


def test_a_failover_moves_the_session_to_the_new_stream(
    engine: Engine, writer: SessionWriter, users: list[int]
) -> None:
    with Session(engine) as session, session.begin():
        provider = Provider(name="p", kind="m3u")
        channel = Channel(name="News", normalized_name="news")
        session.add_all([provider, channel])
        session.flush()
        streams = [Stream(provider_id=provider.id, channel_id=channel.id, item_key=f"i{n}", content_hash="h",
                          name="News", url=f"http://upstream.example/{n}.ts", url_hash=f"{n:064d}")
                   for n in range(2)]  # fmt: skip
        session.add_all(streams)
        session.flush()
        first, second, provider_id = streams[0].id, streams[1].id, provider.id
    writer.submit(start("fo", users[0], stream_id=first, provider_id=provider_id)).result(timeout=30)
    writer.submit(SessionProgress("fo", ago(minutes=1), failovers=1, stream_id=second)).result(timeout=30)
    row = stored(engine)["fo"]
    assert (row.stream_id, row.provider_id, row.failovers) == (second, provider_id, 1)


def test_client_is_cut_and_the_address_is_kept_only_when_enabled(
    engine: Engine, settings: Settings, users: list[int]
) -> None:
    for record_ip in (False, True):
        writer = SessionWriter(engine, settings.model_copy(update={"sessions_record_ip": record_ip}))
        writer.start()
        event = start(f"ip-{record_ip}", users[0], client="VLC/3.0 " + "x" * 400, client_ip="192.0.2.7")
        writer.submit(event).result(timeout=30)
        writer.stop()
    rows = stored(engine)
    assert rows["ip-False"].client_ip is None and rows["ip-True"].client_ip == "192.0.2.7"
    assert len(rows["ip-False"].client or "") == 255


def test_progress_and_end_work_without_the_memory_of_open_sessions(
    engine: Engine, settings: Settings, users: list[int]
) -> None:
    small = SessionWriter(engine, settings, cache_size=1)
    small.start()
    for n in range(5):
        small.submit(start(f"m{n}", users[0], started_at=ago(hours=1))).result(timeout=30)
    for n in range(5):
        small.submit(SessionProgress(f"m{n}", ago(minutes=30), bytes_sent=n)).result(timeout=30)
    small.stop()
    other = SessionWriter(engine, settings)  # a new process: nothing in memory
    other.start()
    for n in range(5):
        other.submit(SessionEnd(f"m{n}", ago(minutes=1))).result(timeout=30)
    other.stop()
    rows = stored(engine)
    assert [rows[f"m{n}"].bytes_sent for n in range(5)] == list(range(5))
    assert all(row.ended_at is not None and row.duration_s == pytest.approx(59 * 60, abs=5) for row in rows.values())


def test_record_awaits_the_commit(engine: Engine, writer: SessionWriter, users: list[int]) -> None:
    async def play() -> list[int]:
        return await asyncio.gather(*(writer.record(start(f"r{n}", users[0])) for n in range(20)))

    ids = asyncio.run(play())
    assert sorted(ids) == sorted(row.id for row in stored(engine).values())


def test_a_cancelled_wait_neither_stops_the_writer_nor_loses_the_event(
    engine: Engine, writer: SessionWriter, users: list[int]
) -> None:
    async def give_up_then_go_on() -> int:
        waiting = asyncio.ensure_future(writer.record(start("abandoned", users[0])))
        await asyncio.sleep(0)
        waiting.cancel()
        return await writer.record(start("after", users[0]))

    after = asyncio.run(give_up_then_go_on())
    rows = stored(engine)
    assert rows["after"].id == after and "abandoned" in rows


def test_a_database_that_cannot_be_opened_fails_the_events_instead_of_hanging(tmp_path: Path) -> None:
    unopenable = build_engine(f"sqlite:///{tmp_path}")  # a directory, not a database file
    writer = SessionWriter(unopenable, Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}"))
    writer.start()
    futures = [writer.submit(start(f"x{n}", 1)) for n in range(3)]
    assert all(isinstance(future.exception(timeout=30), OperationalError) for future in futures)
    again = writer.submit(start("y", 1))
    assert isinstance(again.exception(timeout=30), OperationalError)  # the writer thread is still there
    writer.stop()
    unopenable.dispose()
