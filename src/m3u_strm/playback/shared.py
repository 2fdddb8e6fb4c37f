"""One upstream per channel, shared by every viewer of it, with failover while they watch.

:class:`SharedUpstream` reads one upstream and hands each chunk to every attached :class:`Viewer`. Rules:

* **Fan-out through bounded buffers.** Each viewer has its own buffer of at most ``limit`` bytes (references to the
  same chunks, so ten viewers do not cost ten copies). When a viewer is over its limit the upstream read waits for
  it, so viewers that all pull slower than the upstream sends set the pace together instead of being dropped. A
  viewer is dropped (its connection ends) when it took nothing for :data:`SLOW_VIEWER_SECONDS` while over its limit
  (a stalled or vanished client), or when it has stayed behind for :data:`LAG_SECONDS` while another viewer keeps
  up (it cannot follow the stream: it must not hold the others back).
* **Whole TS packets.** For MPEG-TS only whole 188-byte packets are handed out, so a switch to another upstream
  never leaves a torn packet in the viewer's stream.
* **Failover.** An upstream error, reset, end or stall (no bytes for ``stall_seconds``: the client's read timeout)
  closes that upstream (its connection is released first, so a provider allowing one connection can switch to its
  other stream), reports the failure (the stream's health is updated; an end after :data:`HEALTHY_RUN_SECONDS` of
  play is not a failure) and opens the next candidate of the plan
  that plays, without closing any viewer's connection. At most ``max_failovers`` switches per shared upstream;
  each switch is counted on every viewer attached at the time. No candidate left → the viewers' streams end.
* **Grace.** When the last viewer leaves, the upstream stays open ``grace_seconds`` (a viewer zapping back gets
  the channel at once), reading and dropping; then it closes and leaves the registry (``on_close``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx

from m3u_strm.errors import NoPlayableStreamError
from m3u_strm.playback.connections import ConnectionLedger
from m3u_strm.playback.gateway import Candidate, PlayPlan
from m3u_strm.playback.upstream import OpenFailure, Upstream, UpstreamError, open_first

__all__ = ["SLOW_VIEWER_SECONDS", "SharedUpstream", "Viewer"]

log = logging.getLogger(__name__)

#: A viewer over its buffer that takes nothing for this long is dropped.
SLOW_VIEWER_SECONDS = 2.0
#: A viewer that stays more than half its buffer behind for this long, while another keeps up, is dropped.
LAG_SECONDS = 10.0
#: A live upstream that ends after playing this long is replaced, but not counted against the stream's health
#: (providers cut long connections on purpose).
HEALTHY_RUN_SECONDS = 30.0
#: Most bytes handed to the HTTP layer in one piece.
MAX_WRITE = 1 << 20
TS_PACKET = 188
#: Chunks relayed between deliberate yields to the event loop.
YIELD_EVERY = 8
_ids = itertools.count(1)


@dataclass(eq=False)
class Viewer:
    """One viewer's place on a shared upstream: its buffer, counters and why it ended."""

    limit: int
    id: int = field(default_factory=lambda: next(_ids))
    buffer: deque[bytes] = field(default_factory=deque)
    size: int = 0
    bytes_sent: int = 0
    failovers: int = 0
    over_since: float | None = None  # since when it is more than half its buffer behind
    last_take: float = field(default_factory=time.monotonic)
    ended: str | None = None
    data: asyncio.Event = field(default_factory=asyncio.Event)
    space: asyncio.Event = field(default_factory=asyncio.Event)

    def push(self, chunk: bytes) -> None:
        self.buffer.append(chunk)
        self.size += len(chunk)
        self.data.set()

    def end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason
        self.buffer.clear()
        self.size = 0
        self.data.set()
        self.space.set()

    async def wait_space(self, seconds: float) -> bool:
        """Wait until the buffer is back under the limit; ``False`` when ``seconds`` passed first."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while self.size > self.limit and self.ended is None:
                    self.space.clear()
                    await self.space.wait()
        return self.size <= self.limit or self.ended is not None

    async def stream(self) -> AsyncIterator[bytes]:
        """The bytes for this viewer's HTTP response, until it is ended."""
        while True:
            if self.buffer:
                data = self._take()
                self.bytes_sent += len(data)
                yield data
                continue
            if self.ended is not None:
                return
            self.data.clear()
            await self.data.wait()

    def _take(self) -> bytes:
        first = self.buffer.popleft()
        if not self.buffer or len(first) >= MAX_WRITE:
            data = first
        else:
            parts, size = [first], len(first)
            while self.buffer and size + len(self.buffer[0]) <= MAX_WRITE:
                size += len(self.buffer[0])
                parts.append(self.buffer.popleft())
            data = b"".join(parts)
        self.size -= len(data)
        self.last_take = time.monotonic()
        if self.size <= self.limit // 2:
            self.over_since = None
        if self.size <= self.limit:
            self.space.set()
        return data


@dataclass(frozen=True, slots=True)
class ShareSettings:
    connect_timeout: float
    max_failovers: int
    grace_seconds: float
    viewer_limit_bytes: int


class SharedUpstream:
    """The shared upstream of one channel (or one chosen stream); see the module rules."""

    def __init__(
        self,
        plan: PlayPlan,
        upstream: Upstream,
        *,
        client: httpx.AsyncClient,
        ledger: ConnectionLedger,
        settings: ShareSettings,
        on_failure: Callable[[OpenFailure], None],
        on_close: Callable[[SharedUpstream], None],
    ) -> None:
        self.plan, self.upstream = plan, upstream
        self.viewers: set[Viewer] = set()
        self.switches = 0
        self.started = time.time()
        self.closed = False
        self._client, self._ledger, self._settings = client, ledger, settings
        self._on_failure, self._on_close = on_failure, on_close
        self._carry = b""
        self._is_ts = upstream.container == "mpegts"
        self._task: asyncio.Task[None] | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._idle_deadline: float | None = None

    @property
    def current(self) -> Candidate:
        return self.upstream.candidate

    @property
    def media_type(self) -> str:
        return self.upstream.response.headers.get("content-type") or "video/mp2t"

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name=f"shared upstream {self.plan.share_key}")

    def attach(self) -> Viewer:
        self._idle_deadline = None
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        viewer = Viewer(self._settings.viewer_limit_bytes)
        self.viewers.add(viewer)
        return viewer

    def detach(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)
        viewer.end(viewer.ended or "left")
        if not self.viewers and not self.closed and self._idle is None:
            self._idle_deadline = time.monotonic() + self._settings.grace_seconds
            loop = asyncio.get_running_loop()
            self._idle = loop.call_later(self._settings.grace_seconds, self._close_if_idle)

    async def run(self) -> None:
        try:
            while True:
                try:
                    if await self._pump():
                        return  # nobody watches any more
                    failure = UpstreamError("dead", "ended", "the upstream ended the stream")
                except UpstreamError as error:
                    failure = error
                if not await self._fail_over(failure):
                    return
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("the shared upstream of %s failed", self.plan.title)
        finally:
            self.closed = True
            await self.upstream.aclose()
            for viewer in list(self.viewers):
                viewer.end("upstream closed")
            self._on_close(self)

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _close_if_idle(self) -> None:
        self._idle = None
        if not self.viewers and self._task is not None:
            self._task.cancel()

    async def _pump(self) -> bool:
        """Relay the upstream until it ends (``False``) or the grace period after the last viewer ran out (``True``).

        Reads that find data waiting do not suspend, so a fast upstream would never let the event loop run: every
        :data:`YIELD_EVERY` chunks the pump yields on purpose (viewers drain, cancellation arrives)."""
        count = 0
        async for chunk in self.upstream.chunks():
            data = self._aligned(chunk)
            if data and self.viewers:
                await self._deliver(data)
            elif self._idle_deadline is not None and time.monotonic() >= self._idle_deadline:
                return True
            count += 1
            if count % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        return False

    def _aligned(self, chunk: bytes) -> bytes:
        if not self._is_ts:
            return chunk
        data = self._carry + chunk if self._carry else chunk
        if not self._carry and data[:1] != b"\x47":
            start = data.find(b"\x47")  # after a switch: skip to the first sync byte
            data = data[start:] if start >= 0 else b""
        cut = len(data) - len(data) % TS_PACKET
        self._carry = data[cut:]
        return data[:cut] if cut != len(data) else data

    async def _deliver(self, data: bytes) -> None:
        slow: list[Viewer] = []
        keeping_up = False
        now = time.monotonic()
        for viewer in self.viewers:
            viewer.push(data)
            if viewer.size > viewer.limit // 2:
                if viewer.over_since is None:
                    viewer.over_since = now
                if viewer.size > viewer.limit:
                    slow.append(viewer)
            else:
                keeping_up = True
        for viewer in slow:
            assert viewer.over_since is not None
            if keeping_up and now - viewer.over_since > LAG_SECONDS:
                self._drop(viewer, "behind the others")
                continue
            while viewer.size > viewer.limit and viewer.ended is None:
                remaining = viewer.last_take + SLOW_VIEWER_SECONDS - time.monotonic()
                if remaining <= 0:
                    self._drop(viewer, "stalled")
                    break
                await viewer.wait_space(remaining)

    def _drop(self, viewer: Viewer, reason: str) -> None:
        log.info("dropping a viewer of %s (%s, %d KB behind)", self.plan.title, reason, viewer.size // 1024)
        self.viewers.discard(viewer)
        viewer.end(reason)

    async def _fail_over(self, failure: UpstreamError) -> bool:
        """Replace the failed upstream; ``False`` when the viewers' streams must end."""
        failed = self.upstream.candidate
        await self.upstream.aclose()
        if failure.kind != "ended" or time.monotonic() - self.upstream.opened_at < HEALTHY_RUN_SECONDS:
            self._on_failure(OpenFailure(failed, failure))
        if not self.viewers:
            return False
        if self.switches >= self._settings.max_failovers:
            log.info("%s: no failover left after %d switches (%s)", self.plan.title, self.switches, failure.kind)
            return False
        upstream = await self._open_next(_after(self.plan.candidates, failed))
        if upstream is None:
            log.info("%s: no other stream plays after %s", self.plan.title, failure.kind)
            return False
        self.switches += 1
        self.upstream, self._carry = upstream, b""
        self._is_ts = upstream.container == "mpegts"
        for viewer in self.viewers:
            viewer.failovers += 1
        log.info("%s: failed over (%s) to stream %s", self.plan.title, failure.kind, upstream.candidate.stream_id)
        return True

    async def _open_next(self, candidates: list[Candidate]) -> Upstream | None:
        """The first of ``candidates`` that opens as a byte stream (an HLS playlist cannot be spliced in)."""
        while candidates:
            try:
                upstream = await open_first(
                    self._client, self._ledger, candidates,
                    first_bytes_within=self._settings.connect_timeout, on_failure=self._on_failure,
                )  # fmt: skip
            except NoPlayableStreamError:
                return None
            if upstream.container != "hls":
                return upstream
            await upstream.aclose()
            candidates = candidates[candidates.index(upstream.candidate) + 1 :]
        return None


def _after(candidates: tuple[Candidate, ...], failed: Candidate) -> list[Candidate]:
    """The candidates ranked after ``failed``, then the ones before it (they failed or were full when it opened)."""
    index = next((n for n, candidate in enumerate(candidates) if candidate is failed), -1)
    return [*candidates[index + 1 :], *candidates[: max(index, 0)]]
