"""The gateway in proxy mode: what answers ``/play/<token>/...`` and how each play becomes a viewing session.

:class:`Gateway` is one per app (``app.state.gateway``). For each request it resolves the plan
(:mod:`~m3u_strm.playback.gateway`), then:

* **redirect** (the global ``playback_mode`` or the provider's own): ``302`` to the best stream; a session is
  recorded as started (``source = redirect``), with its duration unknown;
* **live, MPEG-TS or progressive**: the viewer joins the channel's :class:`~m3u_strm.playback.shared.SharedUpstream`
  (opened by the first viewer: concurrent first viewers wait for one open, never open two), one session per viewer
  connection, from its first bytes to its disconnect, with its failovers;
* **HLS** (the upstream answered a playlist): the playlist comes back rewritten (:mod:`~m3u_strm.playback.hls`);
  variant playlists, segments and keys are fetched through sealed links on ``/play/<token>/hls/<link>``; segment
  requests of one user, content and client are one session (:class:`~m3u_strm.playback.recording.GroupedPlays`);
* **movie / episode**: one upstream per request with the viewer's ``Range`` passed through (seeking works; the
  answer's status, length and range come back as the provider gave them); a player's many range requests are one
  session, completed when it reached :attr:`sessions_completed_ratio` of the file.

Every upstream connection is leased from the :class:`~m3u_strm.playback.connections.ConnectionLedger`, so no
provider ever sees more than its ``max_connections`` from us. A stream that fails to open, or fails while playing,
has the failure recorded in its health history (``dead`` and ``timeout`` only: a full provider, a 429 or a refused
account say nothing about the stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Hashable
from dataclasses import replace
from datetime import UTC, datetime

import anyio
from sqlalchemy import Engine
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from m3u_strm.config import Settings
from m3u_strm.db.engine import session_scope
from m3u_strm.errors import NotFoundError
from m3u_strm.monitor.health_result import CheckTarget
from m3u_strm.monitor.records import record_health
from m3u_strm.playback.connections import ConnectionLedger
from m3u_strm.playback.gateway import Candidate, PlayPlan, content_kind_of, resolve_play, token_user
from m3u_strm.playback.hls import HlsLink, LinkKind, LinkSealer, rewrite_playlist
from m3u_strm.playback.recording import Activity, ClientInfo, GroupedPlays, PlayRecord, SessionSink
from m3u_strm.playback.shared import SharedUpstream, ShareSettings
from m3u_strm.playback.upstream import (
    MAX_PLAYLIST_BYTES,
    OpenFailure,
    Upstream,
    build_client,
    open_first,
    open_upstream,
)

__all__ = ["Gateway"]

log = logging.getLogger(__name__)

HLS_TYPE = "application/vnd.apple.mpegurl"
NO_STORE = {"Cache-Control": "no-store"}
_PASSED_HEADERS = ("content-type", "content-length", "content-range", "accept-ranges", "last-modified", "etag")
#: Seconds a checked playback token is trusted before it is looked up again (a revoked token stops new plays
#: at most this late).
TOKEN_CACHE_SECONDS = 10.0


class RelayResponse(StreamingResponse):
    """A streamed relay whose body generator is always closed when the answer ends, the client's disconnect
    included: its ``finally`` (detach the viewer, close the upstream, end the session) runs then, not whenever the
    garbage collector gets to a generator left suspended at a ``yield``."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            body = self.body_iterator
            if isinstance(body, AsyncGenerator):
                await body.aclose()


class Gateway:
    """The playback gateway of one app; see the module rules."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        secret: str,
        ledger: ConnectionLedger | None = None,
        sessions: SessionSink | None = None,
    ) -> None:
        self.engine, self.settings, self.sessions = engine, settings, sessions
        self.ledger = ledger or ConnectionLedger()
        self.activity = Activity()
        self.grouped = GroupedPlays(
            self.activity, settings.playback_hls_idle_seconds, completed_ratio=settings.sessions_completed_ratio
        )
        self.sealer = LinkSealer(secret, settings.playback_hls_link_seconds)
        self.shared: dict[tuple[str, int], SharedUpstream] = {}
        self._opening: dict[tuple[str, int], asyncio.Lock] = {}
        self._tokens: dict[str, tuple[int, float]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._client = build_client(
            connect_timeout=settings.playback_connect_timeout_seconds, stall_seconds=settings.playback_stall_seconds
        )

    # -- entry points ------------------------------------------------------------------------------------------------

    async def play(
        self, token: str, kind: str, item: str, client: ClientInfo, *, range_header: str | None, head: bool
    ) -> Response:
        plan = await anyio.to_thread.run_sync(self._resolve, token, kind, item, self._cached_user(token))
        if plan.best.mode == "redirect":
            if not head:
                self._record(plan, client, source="redirect").start(plan.best)
            return Response(status_code=302, headers={"Location": plan.best.url, **NO_STORE})
        if plan.is_live:
            if head:
                return Response(media_type="video/mp2t", headers=NO_STORE)
            return await self._live(plan, token, client)
        return await self._vod(plan, token, client, range_header, head=head)

    async def hls_link(self, token: str, sealed: str, client: ClientInfo) -> Response:
        link = self.sealer.open(sealed)
        if await self._token_user(token) != link.user_id:
            raise NotFoundError("This playback link is not valid.", hint="Reload the playlist.")
        candidate = Candidate(
            link.url, link.url_hash, link.provider_id, f"#{link.provider_id}", link.max_connections, "proxy",
            link.stream_id, link.user_agent, link.referrer,
        )  # fmt: skip
        upstream = await open_upstream(
            self._client, self.ledger, candidate,
            first_bytes_within=self.settings.playback_connect_timeout_seconds, purpose="hls",
        )  # fmt: skip
        if link.kind == "playlist" or upstream.container == "hls":
            return await self._playlist(upstream, token, link)
        if link.kind == "key":
            try:
                body = await upstream.read_all(64 * 1024)
            finally:
                await upstream.aclose()
            return Response(body, media_type="application/octet-stream", headers=NO_STORE)
        return self._segment(upstream, link, client)

    async def aclose(self) -> None:
        """Shutdown: every shared upstream and grouped play ends (their sessions end now), then the client."""
        await asyncio.gather(*(shared.aclose() for shared in list(self.shared.values())), return_exceptions=True)
        await self.grouped.aclose()
        for record in self.activity:
            record.end()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()

    # -- live ----------------------------------------------------------------------------------------------------------

    async def _live(self, plan: PlayPlan, token: str, client: ClientInfo) -> Response:
        opened = await self._shared_for(plan)
        if isinstance(opened, Upstream):
            return await self._playlist(opened, token, _top_link(plan, opened.candidate))
        shared = opened
        viewer = shared.attach()
        record = self._record(plan, client)

        async def body() -> AsyncIterator[bytes]:
            self.activity.add(record)
            try:
                async for data in viewer.stream():
                    if record.started_at is None:
                        record.start(shared.current)
                    elif shared.current is not record.candidate:
                        record.switched(shared.current)
                    yield data
                    record.sent(len(data))
            finally:
                shared.detach(viewer)
                self.activity.remove(record)
                record.end()

        return RelayResponse(body(), media_type=shared.media_type, headers=NO_STORE)

    async def _shared_for(self, plan: PlayPlan) -> SharedUpstream | Upstream:
        key = plan.share_key
        async with self._opening.setdefault(key, asyncio.Lock()):
            shared = self.shared.get(key)
            if shared is not None and not shared.closed:
                return shared
            upstream = await open_first(
                self._client, self.ledger, plan.candidates,
                first_bytes_within=self.settings.playback_connect_timeout_seconds, on_failure=self._report,
            )  # fmt: skip
            if upstream.container == "hls":
                return upstream
            shared = SharedUpstream(
                plan, upstream, client=self._client, ledger=self.ledger, settings=self._share_settings(),
                on_failure=self._report, on_close=self._forget,
            )  # fmt: skip
            self.shared[key] = shared
            shared.start()
            return shared

    def _forget(self, shared: SharedUpstream) -> None:
        key = shared.plan.share_key
        if self.shared.get(key) is shared:
            del self.shared[key]

    # -- HLS -------------------------------------------------------------------------------------------------------

    async def _playlist(self, upstream: Upstream, token: str, link: HlsLink) -> Response:
        try:
            text = (await upstream.read_all(MAX_PLAYLIST_BYTES)).decode("utf-8", errors="replace")
            base = str(upstream.response.url)
        finally:
            await upstream.aclose()

        def link_for(url: str, kind: LinkKind, duration: float) -> str:
            child = replace(link, url=url, kind=kind, duration_s=duration)
            return f"/play/{token}/hls/{self.sealer.seal(child)}"

        return Response(rewrite_playlist(text, base, link_for), media_type=HLS_TYPE, headers=NO_STORE)

    def _segment(self, upstream: Upstream, link: HlsLink, client: ClientInfo) -> Response:
        content_kind = content_kind_of(link.play_kind)
        group: Hashable = (link.user_id, content_kind, link.content_id, client.user_agent, client.ip)
        candidate = upstream.candidate

        def make() -> PlayRecord:
            return PlayRecord(self.sessions, link.user_id, content_kind, link.content_id, link.title, client)

        record = self.grouped.begin(group, make, candidate)

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in upstream.chunks():
                    yield chunk
                    record.sent(len(chunk))
            finally:
                await upstream.aclose()
                self.grouped.finish(group, watched_s=link.duration_s)

        media_type = upstream.response.headers.get("content-type") or "video/mp2t"
        return RelayResponse(body(), media_type=media_type, headers=NO_STORE)

    # -- movies and episodes ---------------------------------------------------------------------------------------

    async def _vod(
        self, plan: PlayPlan, token: str, client: ClientInfo, range_header: str | None, *, head: bool
    ) -> Response:
        upstream = await open_first(
            self._client, self.ledger, plan.candidates,
            first_bytes_within=self.settings.playback_connect_timeout_seconds, range_header=range_header,
        )  # fmt: skip
        if upstream.container == "hls":
            return await self._playlist(upstream, token, _top_link(plan, upstream.candidate))
        headers = {name: value for name in _PASSED_HEADERS if (value := upstream.response.headers.get(name))}
        if head or upstream.status_code == 416:
            await upstream.aclose()
            return Response(status_code=upstream.status_code, headers={**headers, **NO_STORE})
        start, size = _range_of(upstream)
        group: Hashable = (plan.user_id, plan.content_kind, plan.content_id, client.user_agent, client.ip)
        record = self.grouped.begin(group, lambda: self._record(plan, client), upstream.candidate)

        async def body() -> AsyncIterator[bytes]:
            position = start
            try:
                async for chunk in upstream.chunks():
                    yield chunk
                    position += len(chunk)
                    record.sent(len(chunk))
            finally:
                await upstream.aclose()
                self.grouped.finish(group, position=position, size=size)

        headers.pop("content-type", None)
        media_type = upstream.response.headers.get("content-type") or "application/octet-stream"
        return RelayResponse(
            body(), status_code=upstream.status_code, media_type=media_type, headers={**headers, **NO_STORE}
        )

    # -- helpers -----------------------------------------------------------------------------------------------------

    def _share_settings(self) -> ShareSettings:
        settings = self.settings
        return ShareSettings(
            settings.playback_connect_timeout_seconds, settings.playback_max_failovers,
            settings.playback_grace_seconds, settings.playback_viewer_buffer_kb * 1024,
        )  # fmt: skip

    def _resolve(self, token: str, kind: str, item: str, user_id: int | None) -> PlayPlan:
        with self.engine.connect() as connection:  # reads only: a plain connection, no ORM session
            plan = resolve_play(
                connection, token, kind, item, default_mode=self.settings.playback_mode, user_id=user_id
            )
        if user_id is None:
            self._remember_user(token, plan.user_id)
        return plan

    def _cached_user(self, token: str) -> int | None:
        cached = self._tokens.get(token)
        return cached[0] if cached is not None and cached[1] > time.monotonic() else None

    def _remember_user(self, token: str, user_id: int) -> None:
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[token] = (user_id, time.monotonic() + TOKEN_CACHE_SECONDS)

    async def _token_user(self, token: str) -> int:
        user_id = self._cached_user(token)
        if user_id is None:

            def lookup() -> int:
                with self.engine.connect() as connection:
                    return token_user(connection, token)

            user_id = await anyio.to_thread.run_sync(lookup)
            self._remember_user(token, user_id)
        return user_id

    def _record(self, plan: PlayPlan, client: ClientInfo, *, source: str = "proxy") -> PlayRecord:
        return PlayRecord(
            self.sessions, plan.user_id, plan.content_kind, plan.content_id, plan.title, client,
            source="redirect" if source == "redirect" else "proxy", media_duration_s=plan.media_duration_s,
        )  # fmt: skip

    def _report(self, failure: OpenFailure) -> None:
        """Record a stream's failure in its health history (in a worker thread, off the event loop)."""
        candidate, error = failure.candidate, failure.failure
        if candidate.stream_id is None or error.outcome not in ("dead", "timeout"):
            return
        target = CheckTarget(candidate.stream_id, candidate.provider_id, candidate.url)
        threshold = self.settings.health_failure_threshold

        def write() -> None:
            with session_scope(self.engine) as session:
                now = datetime.now(UTC)
                record_health(session, [(target, error.as_health())], now=now, failure_threshold=threshold)

        async def run() -> None:
            try:
                await anyio.to_thread.run_sync(write)
            except Exception:
                log.warning("could not record the failure of stream %s", candidate.stream_id, exc_info=True)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _top_link(plan: PlayPlan, candidate: Candidate) -> HlsLink:
    return HlsLink(
        candidate.url, "playlist", plan.user_id, plan.kind, plan.content_id, candidate.provider_id,
        candidate.stream_id, candidate.max_connections, candidate.user_agent, candidate.referrer,
        title=plan.title, url_hash=candidate.url_hash,
    )  # fmt: skip


def _range_of(upstream: Upstream) -> tuple[int, int | None]:
    """Where the answer starts in the file and the file's size (``Content-Range: bytes a-b/size``)."""
    content_range = upstream.response.headers.get("content-range", "")
    with contextlib.suppress(ValueError, IndexError):
        span, total = content_range.split(" ", 1)[1].split("/", 1)
        return int(span.split("-", 1)[0]), None if total == "*" else int(total)
    length = upstream.response.headers.get("content-length")
    return 0, int(length) if length and length.isdigit() else None
