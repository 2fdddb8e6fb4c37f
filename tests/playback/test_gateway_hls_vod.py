"""HLS and movies through the gateway: rewritten playlists with sealed links, relayed segments, byte ranges."""

from __future__ import annotations

import av
import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from m3u_strm.accounts import tokens
from m3u_strm.accounts.users import create_user
from m3u_strm.db.models import VodMovie
from tests.api.conftest import Account
from tests.playback.app_server import AppServer
from tests.playback.conftest import Catalogue, ended_sessions, sessions
from tests.playback.upstream_server import Upstream


def test_hls_plays_through_the_gateway_without_showing_the_provider(
    gateway: AppServer, catalogue: Catalogue, play_token: str, engine: Engine, viewer: Account
) -> None:
    url = f"{gateway.base_url}/play/{play_token}/live/{catalogue.channels['Hls']}.m3u8"
    master = httpx.get(url)
    assert master.status_code == 200
    assert master.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert catalogue.a.base_url.split("//")[1] not in master.text and "variant.m3u8" not in master.text
    assert f"/play/{play_token}/hls/" in master.text
    variant_link = next(line for line in master.text.splitlines() if line.startswith("/play/"))
    assert variant_link.endswith(".m3u8")
    variant = httpx.get(gateway.base_url + variant_link).text
    assert "seg0.ts" not in variant and variant.count("#EXTINF:1.000,") == 3 and "#EXT-X-ENDLIST" in variant
    with av.open(url) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames >= 70  # three 1 s segments at 25 fps decoded through the gateway
    (row,) = ended_sessions(engine)  # all segment requests are one session, closed after the idle window
    assert (row.user_id, row.content_kind, row.source) == (viewer.id, "channel", "proxy")
    assert row.watched_s is not None and 2.9 <= row.watched_s <= 3.1  # PyAV fetched the 3 segments of 1 s
    assert row.bytes_sent > 0


def test_a_sealed_link_cannot_be_altered_or_used_with_another_token(
    gateway: AppServer, catalogue: Catalogue, play_token: str, engine: Engine
) -> None:
    url = f"{gateway.base_url}/play/{play_token}/live/{catalogue.channels['Hls']}.m3u8"
    link = next(line for line in httpx.get(url).text.splitlines() if line.startswith("/play/"))
    sealed = link.rsplit("/", 1)[1]
    tampered = link[: -len(sealed)] + sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
    assert httpx.get(gateway.base_url + tampered).status_code == 404
    with Session(engine) as session, session.begin():
        other = create_user(session, "other", "other password 123", role="viewer")
        other_token = tokens.playback_token(session, other).token
    assert httpx.get(gateway.base_url + link.replace(play_token, other_token)).status_code == 404
    assert httpx.get(gateway.base_url + link).status_code == 200


def test_movies_seek_with_byte_ranges_and_one_play_is_one_session(
    gateway: AppServer, catalogue: Catalogue, play_token: str, engine: Engine, tmp_path: object
) -> None:
    with Session(engine) as session:
        movie = session.scalars(select(VodMovie)).one()
    url = f"{gateway.base_url}/play/{play_token}/movie/{movie.id}.ts"
    full = httpx.get(url)
    assert full.status_code == 200, full.text
    assert full.headers["accept-ranges"] == "bytes"
    size = len(full.content)
    part = httpx.get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 1000-1999/{size}"
    assert part.content == full.content[1000:2000]
    assert httpx.get(url, headers={"Range": f"bytes={size + 10}-"}).status_code == 416
    head = httpx.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == size
    (row,) = ended_sessions(engine)
    assert (row.content_kind, row.content_id, row.title) == ("movie", movie.id, movie.name)
    assert row.completed is True  # the player reached the end of the file
    assert row.bytes_sent == size + 1000


def test_every_upstream_fetch_is_counted_against_the_provider(
    gateway: AppServer, catalogue: Catalogue, play_token: str, engine: Engine
) -> None:
    app = gateway.app
    ledger = app.state.gateway.ledger
    url = f"{gateway.base_url}/play/{play_token}/live/{catalogue.channels['Hls']}.m3u8"
    httpx.get(url)
    assert ledger.snapshot() == {}  # playlist fetches give their connection back
    assert not sessions(engine)  # a playlist alone is not viewing


def upstream_of(catalogue: Catalogue, provider_id: int) -> Upstream:
    return catalogue.a if provider_id == catalogue.provider_a else catalogue.b
