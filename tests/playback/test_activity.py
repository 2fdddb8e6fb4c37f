"""Who is watching now: the admin API (the gateway's own view) and ``m3u-strm activity`` (the database's)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from sqlalchemy import Engine

from tests.api.conftest import Account
from tests.cli.conftest import Cli
from tests.playback.app_server import AppServer
from tests.playback.conftest import Catalogue, ended_sessions, sessions, wait_for
from tests.playback.test_gateway_live import play_url, read, watching


def test_admins_see_the_plays_in_progress_and_viewers_do_not(
    gateway: AppServer, catalogue: Catalogue, play_token: str, engine: Engine, admin: Account, viewer: Account,
    db_url: str, tmp_path: Path,
) -> None:  # fmt: skip
    channel = catalogue.channels["News"]
    best = catalogue.streams(engine, "News")[0]
    active = f"{gateway.base_url}/api/streams/active"
    with watching(play_url(gateway, play_token, channel), headers={"User-Agent": "Kodi/21"}) as (_, chunks):
        read(chunks, 100_000)
        body = httpx.get(active, headers=admin.headers).json()
        assert body["count"] == 1
        (play,) = body["plays"]
        assert (play["username"], play["content_kind"], play["content_id"]) == ("viewer", "channel", channel)
        assert (play["stream_id"], play["provider_id"], play["source"]) == (best.id, best.provider_id, "proxy")
        assert play["provider"] in ("a", "b") and play["client"] == "Kodi/21"
        assert play["bytes_sent"] >= 100_000 and play["failovers"] == 0
        assert body["connections"] == [{"provider_id": best.provider_id, "viewer": 1}]
        assert httpx.get(active, headers=viewer.headers).status_code == 403
        assert "url" not in json.dumps(body).lower().replace("url_hash", "")
        wait_for(lambda: sessions(engine), what="the session to be stored")
        shown = json.loads(Cli(db_url, tmp_path / "data")("activity", "--json").stdout)
        assert [(p["username"], p["content_id"], p["source"]) for p in shown] == [("viewer", channel, "proxy")]
    wait_for(lambda: httpx.get(active, headers=admin.headers).json()["count"] == 0, what="the play to end")
    ended_sessions(engine)
    assert "Nobody is watching" in Cli(db_url, tmp_path / "data")("activity").stdout
