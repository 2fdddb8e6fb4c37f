"""Viewing sessions as the gateway sees them: who watches what now, turned into start, progress and end events.

* :class:`PlayRecord` is one session in progress. It sends a start when the first bytes flow to the viewer
  (:meth:`~PlayRecord.start`), a progress event with the totals at most every :data:`PROGRESS_SECONDS` (so a
  crash loses little: the session is closed at its last-seen time on the next start-up), and an end when the
  viewer leaves. It never carries the stream URL: the stream id and the URL's hash.
* :class:`Activity` holds the records in progress, for ``GET /api/streams/active`` and ``m3u-strm activity``;
  bytes per second are measured over the last :data:`RATE_WINDOW` seconds.
* :class:`GroupedPlays` is for plays made of many requests — HLS segments, a player's byte-range requests for a
  movie: requests of one user for one content from one client belong to one session while they come closer
  together than the idle window; the session ends at its last request once the window passed. Watched time of
  HLS is the sum of the segments' durations.
* Events go to a :class:`SessionSink` (the session writer). Writing never blocks playback: a failed write is
  logged, the play goes on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from m3u_strm.playback.gateway import Candidate, ContentKind
from m3u_strm.playback.session_events import SessionEnd, SessionEvent, SessionProgress, SessionSource, SessionStart

__all__ = ["Activity", "ClientInfo", "GroupedPlays", "PlayRecord", "SessionSink"]

log = logging.getLogger(__name__)

PROGRESS_SECONDS = 30.0
RATE_WINDOW = 5.0


class SessionSink(Protocol):
    def submit(self, event: SessionEvent) -> concurrent.futures.Future[int]: ...


@dataclass(frozen=True, slots=True)
class ClientInfo:
    user_agent: str | None
    ip: str | None


@dataclass(eq=False)
class PlayRecord:
    """One viewing session in progress; see the module rules."""

    sink: SessionSink | None
    user_id: int
    content_kind: ContentKind
    content_id: int
    title: str
    client: ClientInfo
    source: SessionSource = "proxy"
    media_duration_s: float | None = None
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    candidate: Candidate | None = None
    started_at: datetime | None = None
    bytes_sent: int = 0
    failovers: int = 0
    watched_s: float | None = None
    ended: bool = False
    _progress_at: float = 0.0
    _rate_mark: tuple[float, int] = (0.0, 0)
    _rate: float = 0.0

    def start(self, candidate: Candidate, *, at: datetime | None = None) -> None:
        if self.started_at is not None:
            return
        self.candidate, self.started_at = candidate, at or datetime.now(UTC)
        self._progress_at = time.monotonic()
        self._rate_mark = (self._progress_at, 0)
        self._send(
            SessionStart(
                self.key, self.user_id, self.content_kind, self.content_id, self.started_at, self.source,
                title=self.title, stream_id=candidate.stream_id, provider_id=candidate.provider_id,
                client=self.client.user_agent, client_ip=self.client.ip, url_hash=candidate.url_hash,
                media_duration_s=self.media_duration_s,
            )
        )  # fmt: skip

    def sent(self, count: int) -> None:
        """``count`` more bytes reached the viewer; sends a progress event when one is due."""
        self.bytes_sent += count
        now = time.monotonic()
        if now - self._rate_mark[0] >= RATE_WINDOW:
            mark_time, mark_bytes = self._rate_mark
            self._rate = (self.bytes_sent - mark_bytes) / (now - mark_time)
            self._rate_mark = (now, self.bytes_sent)
        if self.started_at is not None and now - self._progress_at >= PROGRESS_SECONDS:
            self.progress()

    def switched(self, candidate: Candidate) -> None:
        """A failover: the viewer now gets ``candidate``."""
        if candidate is not self.candidate:
            self.candidate = candidate
            self.failovers += 1
            self.progress()

    def progress(self, *, at: datetime | None = None) -> None:
        if self.started_at is None or self.ended:
            return
        self._progress_at = time.monotonic()
        candidate = self.candidate
        self._send(
            SessionProgress(
                self.key, at or datetime.now(UTC), bytes_sent=self.bytes_sent, failovers=self.failovers,
                watched_s=self.watched_s, stream_id=candidate.stream_id if candidate else None,
                provider_id=candidate.provider_id if candidate else None,
            )
        )  # fmt: skip

    def end(self, *, at: datetime | None = None, completed: bool | None = None) -> None:
        if self.ended:
            return
        self.ended = True
        if self.started_at is None:
            return  # no byte ever flowed: nothing was watched
        candidate = self.candidate
        self._send(
            SessionEnd(
                self.key, at or datetime.now(UTC), bytes_sent=self.bytes_sent, failovers=self.failovers,
                watched_s=self.watched_s, stream_id=candidate.stream_id if candidate else None,
                provider_id=candidate.provider_id if candidate else None, completed=completed,
            )
        )  # fmt: skip

    def bytes_per_second(self) -> float:
        return self._rate if time.monotonic() - self._rate_mark[0] < 2 * RATE_WINDOW else 0.0

    def _send(self, event: SessionEvent) -> None:
        if self.sink is None:
            return
        try:
            future = self.sink.submit(event)
        except Exception:  # a stopped writer at shutdown: the play itself must not fail
            log.warning("could not record a viewing event of %s", self.title, exc_info=True)
            return
        future.add_done_callback(_log_failure)


def _log_failure(future: concurrent.futures.Future[int]) -> None:
    if not future.cancelled() and (error := future.exception()) is not None:
        log.warning("a viewing event was not stored: %s", error)


class Activity:
    """The plays in progress in this process."""

    def __init__(self) -> None:
        self._records: dict[str, PlayRecord] = {}

    def add(self, record: PlayRecord) -> None:
        self._records[record.key] = record

    def remove(self, record: PlayRecord) -> None:
        self._records.pop(record.key, None)

    def __iter__(self) -> Iterator[PlayRecord]:
        return iter(list(self._records.values()))

    def __len__(self) -> int:
        return len(self._records)


@dataclass(eq=False)
class _Group:
    record: PlayRecord
    last_seen: float
    last_seen_at: datetime
    in_flight: int = 0
    max_position: int = 0  # highest byte reached (VOD), for "completed"
    size: int | None = None


class GroupedPlays:
    """Sessions made of many requests (HLS segments, VOD ranges); see the module rules."""

    def __init__(self, activity: Activity, idle_seconds: float, *, completed_ratio: float = 0.9) -> None:
        self._activity, self._idle, self._ratio = activity, idle_seconds, completed_ratio
        self._groups: dict[Hashable, _Group] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def begin(self, key: Hashable, make: Callable[[], PlayRecord], candidate: Candidate) -> PlayRecord:
        """A request of the group starts (its first bytes are about to flow)."""
        group = self._groups.get(key)
        if group is None:
            record = make()
            group = self._groups[key] = _Group(record, time.monotonic(), datetime.now(UTC))
            self._activity.add(record)
            record.start(candidate)
            self._ensure_sweeper()
        elif group.record.candidate is not None and candidate.stream_id != group.record.candidate.stream_id:
            group.record.switched(candidate)
        group.in_flight += 1
        group.last_seen, group.last_seen_at = time.monotonic(), datetime.now(UTC)
        return group.record

    def finish(self, key: Hashable, *, watched_s: float = 0.0, position: int = 0, size: int | None = None) -> None:
        """A request of the group ended: ``watched_s`` more seconds (an HLS segment), the byte position reached."""
        group = self._groups.get(key)
        if group is None:
            return
        group.in_flight = max(group.in_flight - 1, 0)
        group.last_seen, group.last_seen_at = time.monotonic(), datetime.now(UTC)
        if watched_s:
            group.record.watched_s = (group.record.watched_s or 0.0) + watched_s
        group.max_position = max(group.max_position, position)
        group.size = size or group.size

    def close_idle(self, *, everything: bool = False) -> int:
        now = time.monotonic()
        done = [
            key
            for key, group in self._groups.items()
            if everything or (not group.in_flight and now - group.last_seen > self._idle)
        ]
        for key in done:
            group = self._groups.pop(key)
            self._activity.remove(group.record)
            group.record.end(at=group.last_seen_at, completed=self._completed(group))
        return len(done)

    async def aclose(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        self.close_idle(everything=True)

    def _completed(self, group: _Group) -> bool | None:
        if group.record.content_kind == "channel" or not group.size or group.record.watched_s is not None:
            return None  # HLS VOD: the writer judges watched time against the media's length
        return group.max_position >= self._ratio * group.size

    def _ensure_sweeper(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="grouped plays sweeper")

    async def _sweep(self) -> None:
        while self._groups:
            await asyncio.sleep(min(self._idle / 4, 5.0))
            self.close_idle()
