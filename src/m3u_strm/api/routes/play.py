"""The gateway's HTTP face: ``/play/<playback token>/<kind>/<id>`` plays (proxy) or redirects to the content.

The rules live in :mod:`m3u_strm.playback.proxy`; this module only reads the request.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Request, Response

from m3u_strm.api.deps import client_address
from m3u_strm.playback.proxy import Gateway
from m3u_strm.playback.recording import ClientInfo

router = APIRouter(prefix="/play", tags=["playback"])


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def _client(request: Request) -> ClientInfo:
    return ClientInfo(request.headers.get("user-agent"), client_address(request))


@router.get("/{token}/hls/{link}", include_in_schema=False)
async def play_hls(token: str, request: Request, link: str = Path(max_length=4096)) -> Response:
    """A variant playlist, segment or key of a proxied HLS stream (links come from the rewritten playlists)."""
    return await _gateway(request).hls_link(token, link, _client(request))


@router.head("/{token}/{kind}/{item}", include_in_schema=False)
@router.get("/{token}/{kind}/{item}")
async def play(token: str, kind: str, request: Request, item: str = Path(max_length=32)) -> Response:
    """Play the best live stream of the channel, or the stream, movie or episode asked for.

    ``kind`` is ``live``, ``stream``, ``movie`` or ``episode``; ``item`` an id, optionally with the container
    extension players like to append (``42.ts``). In proxy mode the bytes come through this server (one shared
    upstream per channel, failover while playing); in redirect mode the answer is a 302 to the provider.
    """
    return await _gateway(request).play(
        token, kind, item, _client(request), range_header=request.headers.get("range"), head=request.method == "HEAD"
    )
