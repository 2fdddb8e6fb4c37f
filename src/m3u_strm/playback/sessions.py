"""Viewing sessions: the events the gateway and the history API send, and the one writer that stores them.

Rules:

* **Group commit.** One writer thread takes every queued event (up to ``batch_size``), applies them in ONE
  transaction and commits (one fsync; SQLite runs WAL with ``synchronous=FULL`` by default), then resolves the
  events' futures with the session id. A resolved future means the event is durable.
* **A bad event fails alone.** Events are checked before they are queued (:func:`check_event`: aware timestamps,
  at most ``sessions_max_future_seconds`` ahead, no negative totals). What needs the stored session fails that
  event only: progress or an end for an unknown key is :class:`NotFoundError`, an end before its start
  :class:`InputError`. If the transaction itself fails (a foreign key, a unique key another process took first),
  the batch is retried event by event, so only the bad one fails; a database that is down or locked (an
  ``OperationalError``) fails the batch.
* **Idempotent.** A start whose key is stored returns the stored id and changes nothing; progress and end carry
  totals, not deltas. How events change a session is in :mod:`m3u_strm.playback.session_state`.
* **Memory.** The writer keeps the open proxy and redirect sessions it has seen (at most ``cache_size``, oldest
  dropped first), so their progress and end need no query; anything else is read in the batch. API sessions are
  always read (``FOR UPDATE`` on PostgreSQL), because several API instances may write the same one.
* **One connection.** The writer thread holds one connection for its life; a connection the server dropped is
  replaced and the batch tried once more.
* **Start and stop.** :func:`close_abandoned` at start-up ends what a crash left open. ``stop(close_open_at=t)``
  drains the queue, then ends the proxy sessions this writer saw open and that are still open, at ``t`` (or when
  they were last seen, if that is later); events submitted after ``stop`` fail with :class:`RuntimeError`.
* **Requests wait for the writer, not the reverse.** Code that waits for an acknowledgement must not hold a write
  transaction of its own meanwhile: on SQLite the writer needs that lock to commit.

Example::

    writer = SessionWriter(engine, settings)
    writer.start()
    session_id = await writer.record(SessionStart(key, user.id, "channel", 42, utcnow(), "proxy"))
    writer.stop(close_open_at=utcnow())
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from m3u_strm.config import Settings
from m3u_strm.errors import InputError, NotFoundError
from m3u_strm.playback.session_events import (
    ContentKind,
    SessionEnd,
    SessionEvent,
    SessionProgress,
    SessionRules,
    SessionSource,
    SessionStart,
    check_event,
)
from m3u_strm.playback.session_state import SessionState, apply_update, new_state
from m3u_strm.playback.session_store import close_abandoned, close_open, insert_states, load_states, update_states

__all__ = [
    "ContentKind",
    "SessionEnd",
    "SessionEvent",
    "SessionProgress",
    "SessionRules",
    "SessionSource",
    "SessionStart",
    "SessionWriter",
    "close_abandoned",
]

log = logging.getLogger(__name__)

_Item = tuple[SessionEvent, "Future[int]"]
_Outcome = tuple["Future[int]", SessionState | Exception]


class SessionWriter:
    def __init__(
        self, engine: Engine, settings: Settings, *, batch_size: int = 1000, cache_size: int = 100_000
    ) -> None:
        self._engine = engine
        self._rules = SessionRules.from_settings(settings)
        self._batch_size = batch_size
        self._cache_size = cache_size
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._cache: OrderedDict[str, SessionState] = OrderedDict()  # open gateway sessions, by key
        self._open_proxy: set[str] = set()  # keys of the proxy sessions this writer saw open
        self._lock = threading.Lock()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the writer thread (events submitted before wait in the queue)."""
        with self._lock:
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._run, name="session-writer", daemon=True)
                self._thread.start()

    def submit(self, event: SessionEvent) -> Future[int]:
        """Queue ``event``; the future gives the session id once the event is committed.

        The future is running from the start: a caller that gives up cannot cancel a queued event, which is stored
        all the same.
        """
        future: Future[int] = Future()
        future.set_running_or_notify_cancel()
        try:
            check_event(event, datetime.now(UTC), self._rules)
        except InputError as exc:
            future.set_exception(exc)
            return future
        with self._lock:
            if self._stopped:
                future.set_exception(RuntimeError("The session writer is stopped; no more viewing events are taken."))
            else:
                self._queue.put((event, future))
        return future

    async def record(self, event: SessionEvent) -> int:
        """``submit`` for asyncio code: the session id once the event is durable."""
        return await asyncio.wrap_future(self.submit(event))

    def stop(self, *, close_open_at: datetime | None = None) -> None:
        """Store everything queued, then end the proxy sessions still open at ``close_open_at`` (if given)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self._queue.put(None)
            thread = self._thread
        if thread is not None:
            thread.join()
        else:
            self._run()  # never started: store what was queued here
        if close_open_at is not None and self._open_proxy:
            with self._engine.connect() as connection:
                close_open(connection, self._open_proxy, close_open_at, self._rules)
            self._open_proxy.clear()

    def _run(self) -> None:
        """The writer thread: one connection for its whole life (no pool round trip per batch)."""
        connection: Connection | None = None
        try:
            while True:
                batch, more = self._next_batch()
                if batch:
                    connection = connection or self._connect(batch)
                    if connection is not None:
                        self._write(connection, batch)
                if not more:
                    return
        finally:
            if connection is not None:
                connection.close()

    def _connect(self, batch: list[_Item]) -> Connection | None:
        """A connection, or None when the database cannot be reached: then ``batch`` fails and the next one tries."""
        try:
            return self._engine.connect()
        except Exception as exc:
            for _, future in batch:
                future.set_exception(exc)
            return None

    def _next_batch(self) -> tuple[list[_Item], bool]:
        """Wait for an event, then take what else is queued (up to the batch bound); False once stop() was called."""
        item = self._queue.get()
        batch: list[_Item] = []
        while item is not None:
            batch.append(item)
            if len(batch) >= self._batch_size:
                return batch, True
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch, True
        return batch, False

    def _write(self, connection: Connection, items: list[_Item], *, retry: bool = True) -> None:
        """Apply ``items`` in one transaction; resolve every future (see the module docstring)."""
        try:
            with connection.begin():
                outcomes, touched = self._apply(connection, items)
        except Exception as exc:
            self._forget(event.key for event, _ in items)
            if retry and isinstance(exc, DBAPIError) and exc.connection_invalidated:
                self._write(connection, items, retry=False)  # the server dropped the connection: once more, anew
            elif len(items) > 1 and not isinstance(exc, OperationalError):
                log.warning("a batch of %d viewing events failed (%s); retrying one by one", len(items), type(exc))
                for item in items:
                    self._write(connection, [item], retry=False)
            else:
                for _, future in items:
                    future.set_exception(_translated(exc))
            return
        self._remember(touched)
        for future, outcome in outcomes:
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                assert outcome.id is not None
                future.set_result(outcome.id)

    def _apply(self, connection: Connection, items: list[_Item]) -> tuple[list[_Outcome], list[SessionState]]:
        work = self._states(connection, {event.key for event, _ in items})
        fresh: list[SessionState] = []
        changed: dict[str, SessionState] = {}
        outcomes: list[_Outcome] = []
        for event, future in items:
            try:
                outcomes.append((future, self._apply_one(event, work, fresh, changed)))
            except InputError as exc:
                outcomes.append((future, exc))
        insert_states(connection, fresh)
        update_states(connection, list(changed.values()))
        return outcomes, list(work.values())

    def _apply_one(
        self, event: SessionEvent, work: dict[str, SessionState], fresh: list[SessionState],
        changed: dict[str, SessionState],
    ) -> SessionState:  # fmt: skip
        state = work.get(event.key)
        if isinstance(event, SessionStart):
            if state is None:
                state = work[event.key] = new_state(event, self._rules)
                fresh.append(state)
            return state
        if state is None:
            raise NotFoundError(f"There is no viewing session with key {event.key[:64]!r}.", hint="Start it first.")
        apply_update(state, event, self._rules)
        if state.id is not None:
            changed[event.key] = state
        return state

    def _states(self, connection: Connection, keys: set[str]) -> dict[str, SessionState]:
        """The cached sessions among ``keys`` and the stored rest (a failed batch drops its keys from the cache)."""
        work = {key: self._cache[key] for key in keys if key in self._cache}
        work.update(load_states(connection, keys - work.keys()))
        return work

    def _remember(self, states: list[SessionState]) -> None:
        for state in states:
            if state.source == "proxy":
                (self._open_proxy.add if state.is_open else self._open_proxy.discard)(state.key)
            if state.is_open and state.source != "api":
                self._cache[state.key] = state
                self._cache.move_to_end(state.key)
            else:
                self._cache.pop(state.key, None)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _forget(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._cache.pop(key, None)


def _translated(exc: Exception) -> Exception:
    """A foreign key the event broke says so; anything else (a database down or locked) passes unchanged."""
    if not isinstance(exc, IntegrityError):
        return exc
    error = InputError(
        "The viewing event refers to a user, stream or provider that does not exist (any more).",
        hint="Check the ids it carries.",
    )
    error.__cause__ = exc
    return error
