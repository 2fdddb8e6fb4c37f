"""The gateway's HTTP face: ``/play/<playback token>/<kind>/<id>`` answers 302 to the stream to play."""

from __future__ import annotations

from fastapi import APIRouter, Path
from fastapi.responses import RedirectResponse

from m3u_strm.api.deps import SessionDep
from m3u_strm.playback.gateway import resolve_play

router = APIRouter(prefix="/play", tags=["playback"])


@router.head("/{token}/{kind}/{item}", response_class=RedirectResponse, include_in_schema=False)
@router.get("/{token}/{kind}/{item}", response_class=RedirectResponse)
def play(
    token: str,
    kind: str,
    session: SessionDep,
    item: str = Path(max_length=32),
) -> RedirectResponse:
    """Redirect to the best live stream of the channel, or to the stream, movie or episode asked for.

    ``kind`` is ``live``, ``stream``, ``movie`` or ``episode``; ``item`` an id, optionally with the container
    extension players like to append (``42.ts``).
    """
    target = resolve_play(session, token, kind, item)
    return RedirectResponse(target.url, status_code=302, headers={"Cache-Control": "no-store"})
