"""Playlists, guide, tuner and gateway through the real app: every URL goes through the gateway with the user's
playback token, nothing answers without a valid token, and the gateway redirects to the best ranked stream."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from defusedxml import ElementTree
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from m3u_strm.accounts import tokens
from m3u_strm.config import Settings
from m3u_strm.db.models import Channel, Stream, User
from m3u_strm.ingest.m3u import parse_m3u
from m3u_strm.outputs.hdhomerun import device_id_is_valid
from tests.api.conftest import Account
from tests.catalogue_helpers import Line, add_provider, channel_of, sync, write_playlist
from tests.outputs.test_guide import tv_validate_file

A = [
    Line("UK: BBC One HD", "http://a.example/live/alice/s3cret/1.ts", "bbcone.uk", "UK", "http://logo.example/1.png"),
    Line("UK: Sky News", "http://a.example/live/alice/s3cret/2.ts", "skynews.uk", "News", "javascript:alert(1)"),
]
B = [
    Line("|UK| BBC ONE FHD", "http://b.example/play?token=b0bsecret&id=7", "", "ENT"),
    Line("|UK| DAVE", "http://b.example/play?token=b0bsecret&id=8", "", "ENT"),
]
PROVIDER_SECRETS = ("alice", "s3cret", "b0bsecret", "a.example", "b.example")


def _guide(path: Path) -> Path:
    start = datetime(2026, 11, 24, 18, tzinfo=UTC)
    programmes = "".join(
        f'<programme start="{(start + timedelta(hours=h)):%Y%m%d%H%M%S} +0000" '
        f'stop="{(start + timedelta(hours=h + 1)):%Y%m%d%H%M%S} +0000" channel="bbcone.uk">'
        f"<title>News &amp; Weather {h}</title></programme>"
        for h in range(3)
    )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><tv><channel id="bbcone.uk"><display-name>BBC One</display-name>'
        f'</channel><channel id="dave.uk"><display-name>Dave</display-name></channel>{programmes}</tv>',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def catalogue(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    add_provider(engine, "a", write_playlist(tmp_path / "a.m3u", A), priority=1, epg=_guide(tmp_path / "a.xml"))
    add_provider(engine, "b", write_playlist(tmp_path / "b.m3u", B))
    sync(engine, settings, "a")
    sync(engine, settings, "b")


def _playback_token(engine: Engine, account: Account) -> str:
    with Session(engine) as session, session.begin():
        return tokens.playback_token(session, session.get_one(User, account.id)).token


@pytest.fixture
def token(engine: Engine, viewer: Account, catalogue: None) -> str:
    return _playback_token(engine, viewer)


def test_playlist_lists_each_channel_once_behind_the_gateway(client: TestClient, engine: Engine, token: str) -> None:
    response = client.get("/output/m3u", params={"token": token})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("audio/x-mpegurl")
    parsed, report = parse_m3u(response.text)
    where = channel_of(engine)
    assert sorted(e.url for e in parsed) == sorted(
        f"http://testserver/play/{token}/live/{where[name]}" for name in ("UK: BBC One HD", "UK: Sky News", "|UK| DAVE")
    )
    bbc = next(e for e in parsed if e.tvg_id == "bbcone.uk")
    assert bbc.title == "BBC One" and bbc.tvg_logo == "http://logo.example/1.png"
    assert report.header.epg_urls == [f"http://testserver/output/epg.xml?token={token}"]
    sky = next(e for e in parsed if e.tvg_id == "skynews.uk")
    assert sky.tvg_logo is None  # javascript: never leaves


def test_multi_quality_playlist_lists_every_stream_ranked(client: TestClient, engine: Engine, token: str) -> None:
    parsed, _ = parse_m3u(client.get("/output/m3u", params={"token": token, "quality": "all"}).text)
    bbc = [e for e in parsed if e.tvg_id == "bbcone.uk"]
    assert [e.title for e in bbc] == ["BBC One (#1 1080p)", "BBC One (#2 720p)"]
    with Session(engine) as session:
        best = session.scalars(select(Stream.id).where(Stream.name == "|UK| BBC ONE FHD")).one()
    assert bbc[0].url == f"http://testserver/play/{token}/stream/{best}"


def test_playlist_by_category(client: TestClient, token: str) -> None:
    parsed, _ = parse_m3u(client.get("/output/m3u", params={"token": token, "category": "News"}).text)
    assert [e.tvg_id for e in parsed] == ["skynews.uk"]


@pytest.mark.parametrize(
    "path",
    ["/output/m3u", "/output/epg.xml", "/output/epg.xml.gz", "/hdhr/{bad}/discover.json", "/hdhr/{bad}/lineup.json",
     "/play/{bad}/live/1"],
)  # fmt: skip
def test_outputs_refuse_an_unknown_token(client: TestClient, token: str, path: str) -> None:
    bad = "not-a-real-token-123"
    response = client.get(path.format(bad=bad), params={"token": bad}, follow_redirects=False)
    assert response.status_code == 401
    assert "playback token" in response.json()["message"]


def test_rotated_token_stops_working(client: TestClient, engine: Engine, viewer: Account, token: str) -> None:
    with Session(engine) as session, session.begin():
        tokens.rotate_playback_token(session, session.get_one(User, viewer.id))
    assert client.get("/output/m3u", params={"token": token}).status_code == 401


def test_guide_holds_merged_channels_and_validates(client: TestClient, token: str, tmp_path: Path) -> None:
    response = client.get("/output/epg.xml", params={"token": token})
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    assert [c.get("id") for c in root.iter("channel")] == ["bbcone.uk"]
    assert [p.findtext("title") for p in root.iter("programme")] == [f"News & Weather {h}" for h in range(3)]
    packed = client.get("/output/epg.xml.gz", params={"token": token})
    assert gzip.decompress(packed.content) == response.content
    path = tmp_path / "ours.xml"
    path.write_bytes(response.content)
    result = tv_validate_file(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_guide_links_channels_by_name_when_they_have_no_tvg_id(
    client: TestClient, engine: Engine, settings: Settings, token: str, tmp_path: Path
) -> None:
    guide = tmp_path / "a.xml"
    guide.write_text(guide.read_text().replace('channel="bbcone.uk"><title>News &amp; Weather 0', 'channel="dave.uk">'
                                               "<title>Top Gear"), encoding="utf-8")  # fmt: skip
    sync(engine, settings, "a")
    root = ElementTree.fromstring(client.get("/output/epg.xml", params={"token": token}).content)
    dave = channel_of(engine)["|UK| DAVE"]
    assert f"{dave}.m3u-strm" in [c.get("id") for c in root.iter("channel")]
    assert [p.findtext("title") for p in root.iter("programme") if p.get("channel") == f"{dave}.m3u-strm"] == [
        "Top Gear"
    ]


def test_gateway_redirects_to_the_best_ranked_stream(
    client: TestClient, engine: Engine, token: str, settings: Settings
) -> None:
    settings.playback_mode = "redirect"  # the app reads the setting per request
    bbc = channel_of(engine)["UK: BBC One HD"]
    response = client.get(f"/play/{token}/live/{bbc}.ts", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "http://b.example/play?token=b0bsecret&id=7"  # FHD beats HD
    with Session(engine) as session, session.begin():
        session.execute(update(Stream).where(Stream.name == "|UK| BBC ONE FHD").values(is_active=False))
    response = client.get(f"/play/{token}/live/{bbc}", follow_redirects=False)
    assert response.headers["location"] == "http://a.example/live/alice/s3cret/1.ts"


def test_gateway_says_why_when_no_stream_can_play(client: TestClient, engine: Engine, token: str) -> None:
    with Session(engine) as session, session.begin():
        session.execute(update(Stream).values(is_active=False))
    bbc = channel_of(engine)["UK: BBC One HD"]
    response = client.get(f"/play/{token}/live/{bbc}", follow_redirects=False)
    assert response.status_code == 503
    assert response.json()["error"] == "no_playable_stream"


def test_gateway_refuses_disabled_and_unknown_channels(client: TestClient, engine: Engine, token: str) -> None:
    bbc = channel_of(engine)["UK: BBC One HD"]
    with Session(engine) as session, session.begin():
        session.execute(update(Channel).where(Channel.id == bbc).values(enabled=False))
    assert client.get(f"/play/{token}/live/{bbc}", follow_redirects=False).status_code == 404
    assert client.get(f"/play/{token}/live/987654", follow_redirects=False).status_code == 404
    assert client.get(f"/play/{token}/live/abc", follow_redirects=False).status_code == 404
    ids = [e.url.rsplit("/", 1)[1] for e in parse_m3u(client.get("/output/m3u", params={"token": token}).text)[0]]
    assert str(bbc) not in ids


def test_tuner_documents_point_through_the_gateway(client: TestClient, engine: Engine, token: str) -> None:
    discover = client.get(f"/hdhr/{token}/discover.json").json()
    assert discover["BaseURL"] == f"http://testserver/hdhr/{token}"
    assert discover["LineupURL"] == f"http://testserver/hdhr/{token}/lineup.json"
    assert discover["TunerCount"] == 4
    assert device_id_is_valid(discover["DeviceID"])
    lineup = client.get(f"/hdhr/{token}/lineup.json").json()
    assert {entry["GuideName"] for entry in lineup} == {"BBC One", "Sky News", "DAVE"}
    assert all(entry["URL"].startswith(f"http://testserver/play/{token}/live/") for entry in lineup)
    assert client.get(f"/hdhr/{token}/lineup_status.json").json()["ScanInProgress"] == 0
    device = ElementTree.fromstring(client.get(f"/hdhr/{token}/device.xml").content)
    assert device.tag.endswith("root")
    number = next(entry["GuideNumber"] for entry in lineup if entry["GuideName"] == "BBC One")
    tuned = client.get(f"/hdhr/{token}/auto/v{number}", follow_redirects=False)
    assert tuned.status_code == 302
    assert tuned.headers["location"] == f"http://testserver/play/{token}/live/{channel_of(engine)['UK: BBC One HD']}"


def test_tokenless_tuner_paths_are_off_unless_a_user_is_named(
    settings: Settings, engine: Engine, viewer: Account, catalogue: None
) -> None:
    from m3u_strm.api.app import create_app

    with TestClient(create_app(settings, engine)) as client:
        response = client.get("/discover.json")
        assert response.status_code == 404 and "M3U_STRM_HDHR_USER" in response.json()["hint"]
    named = settings.model_copy(update={"hdhr_user": "viewer"})
    with TestClient(create_app(named, engine)) as client:
        assert client.get("/discover.json").json()["BaseURL"] == "http://testserver"
        lineup = client.get("/lineup.json").json()
        token = _playback_token(engine, viewer)
        assert lineup and all(f"/play/{token}/live/" in entry["URL"] for entry in lineup)


def test_no_output_carries_provider_urls_or_credentials(client: TestClient, admin: Account, token: str) -> None:
    bodies = [
        client.get(path, params={"token": token}).content
        for path in (
            "/output/m3u",
            "/output/epg.xml",
            f"/hdhr/{token}/discover.json",
            f"/hdhr/{token}/lineup.json",
            f"/hdhr/{token}/device.xml",
        )
    ]
    bodies.append(client.get("/output/m3u", params={"token": token, "quality": "all"}).content)
    channels = client.get("/api/channels", headers=admin.headers).json()
    bodies.append(json.dumps(channels).encode())
    for channel in channels["items"]:
        for suffix in ("", "/streams", "/merge-details"):
            bodies.append(client.get(f"/api/channels/{channel['id']}{suffix}", headers=admin.headers).content)
    for body in bodies:
        for secret in PROVIDER_SECRETS:
            assert secret.encode() not in body


def test_generate_strm_over_the_api(client: TestClient, admin: Account, settings: Settings, catalogue: None) -> None:
    response = client.post("/api/vod/generate-strm", json={"movies": False, "series": False, "live": True},
                           headers=admin.headers)  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["parts"]["live"]["created"] == 3
    channels = client.get("/api/channels", headers=admin.headers).json()["items"]
    expected = sorted(f"Live/{c['category']}/{c['name']}.strm" for c in channels)
    files = sorted(Path(body["output_dir"]).rglob("*.strm"))
    assert sorted(f.relative_to(body["output_dir"]).as_posix() for f in files) == expected
    assert all(f.read_text().startswith("http://testserver/play/") for f in files)


def test_live_channels_sharing_a_name_both_get_a_file(
    client: TestClient, engine: Engine, admin: Account, catalogue: None
) -> None:
    with Session(engine) as session, session.begin():
        session.execute(update(Channel).values(name="Same Name", category="Same"))
    body = client.post("/api/vod/generate-strm", json={"movies": False, "series": False, "live": True},
                       headers=admin.headers).json()  # fmt: skip
    names = sorted(p.name for p in Path(body["output_dir"], "Live", "Same").iterdir())
    assert names == ["Same Name (2).strm", "Same Name (3).strm", "Same Name.strm"]
    assert body["parts"]["live"]["renamed_collisions"] == 2


def test_timeshift_channel_sharing_a_guide_id_gets_its_programmes_an_hour_later(
    client: TestClient, engine: Engine, settings: Settings, token: str, tmp_path: Path
) -> None:
    plus_one = Line("UK: BBC One +1", "http://a.example/live/alice/s3cret/9.ts", "bbcone.uk", "UK")
    write_playlist(tmp_path / "a.m3u", [*A, plus_one])
    sync(engine, settings, "a")
    playlist, _ = parse_m3u(client.get("/output/m3u", params={"token": token}).text)
    assert {e.title: e.tvg_id for e in playlist}["BBC One +1"] == "bbcone.uk-plus1"
    guide = client.get("/output/epg.xml", params={"token": token}).content
    root = ElementTree.fromstring(guide)
    starts = {c: [p.get("start") for p in root.iter("programme") if p.get("channel") == c]
              for c in ("bbcone.uk", "bbcone.uk-plus1")}  # fmt: skip
    assert starts["bbcone.uk"][:2] == ["20261124180000 +0000", "20261124190000 +0000"]
    assert starts["bbcone.uk-plus1"][:2] == ["20261124190000 +0000", "20261124200000 +0000"]
    path = tmp_path / "shifted.xml"
    path.write_bytes(guide)
    assert tv_validate_file(path).returncode == 0
