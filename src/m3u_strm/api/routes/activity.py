"""``GET /api/streams/active``: who is watching what now, and each provider's open connections (admin)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from m3u_strm.api.deps import AdminUser, SessionDep
from m3u_strm.playback.activity import live_activity, stored_activity
from m3u_strm.playback.proxy import Gateway

router = APIRouter(prefix="/api/streams", tags=["playback"])


@router.get("/active")
def active_streams(_: AdminUser, session: SessionDep, request: Request) -> dict[str, Any]:
    """Plays in progress: user, content, stream and provider, bytes sent and per second, failovers, client.

    The gateway's own plays are exact to the second; client-reported and redirected plays come from the
    database. ``connections`` counts the upstream connections open per provider (viewers, HLS fetches).
    """
    gateway: Gateway = request.app.state.gateway
    now = datetime.now(UTC)
    live, connections = live_activity(session, gateway.activity, gateway.ledger, now)
    stored = stored_activity(session, now, exclude=frozenset(play.key for play in live))
    plays = [play.as_dict() for play in (*live, *stored)]
    return {
        "count": len(plays),
        "plays": plays,
        "connections": [{"provider_id": pid, **purposes} for pid, purposes in sorted(connections.items())],
    }
