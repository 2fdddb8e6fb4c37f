"""The channel routes: anyone logged in may browse; only an admin may see streams, merge, split, disable or edit
rules; every change is audited and survives a re-sync."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from m3u_strm.config import Settings
from m3u_strm.db.models import AuditLog
from tests.api.conftest import Account
from tests.catalogue_helpers import Line, add_provider, channel_of, sync, write_playlist

LINES_A = [
    Line("UK: ITV 1 HD", "http://a.example/live/u/p/1.ts", "itv1.uk", "UK"),
    Line("UK: ITV 2 HD", "http://a.example/live/u/p/2.ts", "itv2.uk", "UK"),
    Line("UK: Channel 4", "http://a.example/live/u/p/3.ts", "", "UK"),
]
LINES_B = [Line("ITV1 SD", "http://b.example/x/1.ts", "itv1.uk", "Ent"), Line("E4", "http://b.example/x/2.ts")]


@pytest.fixture
def catalogue(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    add_provider(engine, "a", write_playlist(tmp_path / "a.m3u", LINES_A))
    add_provider(engine, "b", write_playlist(tmp_path / "b.m3u", LINES_B))
    sync(engine, settings, "a")
    sync(engine, settings, "b")


def test_any_user_can_list_and_search_channels(client: TestClient, viewer: Account, catalogue: None) -> None:
    page = client.get("/api/channels", headers=viewer.headers).json()
    assert page["total"] == 4 and len(page["items"]) == 4
    assert [c["number"] for c in page["items"]] == sorted(c["number"] for c in page["items"])
    found = client.get("/api/channels", params={"search": "itv"}, headers=viewer.headers).json()
    assert sorted(c["name"] for c in found["items"]) == ["ITV 1", "ITV 2"]
    one = next(c for c in found["items"] if c["name"] == "ITV 1")
    assert one["stream_count"] == 2 and one["epg_id"] == "itv1.uk"
    paged = client.get("/api/channels", params={"limit": 1, "offset": 1}, headers=viewer.headers).json()
    assert paged["items"] == [page["items"][1]]


def test_channels_need_a_login(client: TestClient, catalogue: None) -> None:
    assert client.get("/api/channels").status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/channels/{id}/streams"), ("get", "/api/channels/{id}/merge-details"),
     ("post", "/api/channels/{id}/merge-with/{id}"), ("post", "/api/channels/{id}/split"),
     ("patch", "/api/channels/{id}"), ("post", "/api/channels/{id}/reset"), ("get", "/api/merge-rules"),
     ("post", "/api/merge-rules"),
     ("delete", "/api/merge-rules/1"), ("post", "/api/vod/generate-strm"), ("post", "/api/process-m3u/")],
)  # fmt: skip
def test_viewers_cannot_change_the_merge(
    client: TestClient, engine: Engine, viewer: Account, catalogue: None, method: str, path: str
) -> None:
    channel = channel_of(engine)["UK: ITV 1 HD"]
    response = client.request(method.upper(), path.format(id=channel), headers=viewer.headers, json={})
    assert response.status_code == 403


def test_streams_and_merge_details(client: TestClient, engine: Engine, admin: Account, catalogue: None) -> None:
    channel = channel_of(engine)["UK: ITV 1 HD"]
    streams = client.get(f"/api/channels/{channel}/streams", headers=admin.headers).json()
    assert [s["rank"] for s in streams] == [1, 2]
    assert streams[0]["name"] == "UK: ITV 1 HD" and streams[0]["resolution"] == "720p"
    assert all(s["merge_method"] == "tvg_id" and "url" not in s for s in streams[1:])
    details = client.get(f"/api/channels/{channel}/merge-details", headers=admin.headers).json()
    assert details["channel_id"] == channel and sum(details["methods"].values()) == 2
    assert {s["id"] for s in details["streams"]} == {s["id"] for s in streams}


def test_merge_split_and_disable_over_the_api(
    client: TestClient, engine: Engine, settings: Settings, admin: Account, catalogue: None
) -> None:
    where = channel_of(engine)
    four, e4 = where["UK: Channel 4"], where["E4"]
    merged = client.post(f"/api/channels/{e4}/merge-with/{four}", headers=admin.headers)
    assert merged.status_code == 200 and merged.json()["stream_count"] == 2
    assert client.get(f"/api/channels/{e4}", headers=admin.headers).json()["merged_into_id"] == four
    streams = client.get(f"/api/channels/{four}/streams", headers=admin.headers).json()
    e4_stream = next(s["id"] for s in streams if s["name"] == "E4")
    split = client.post(f"/api/channels/{four}/split", json={"stream_ids": [e4_stream]}, headers=admin.headers)
    assert split.status_code == 201 and split.json()["manual"] is True
    disabled = client.patch(f"/api/channels/{four}", json={"enabled": False}, headers=admin.headers)
    assert disabled.json()["enabled"] is False
    sync(engine, settings, "a")
    sync(engine, settings, "b")
    assert channel_of(engine)["E4"] == split.json()["id"]
    assert client.get(f"/api/channels/{four}", headers=admin.headers).json()["enabled"] is False
    with Session(engine) as session:
        actions = set(session.scalars(select(AuditLog.action)))
    assert {"channel.merge", "channel.split", "channel.disable"} <= actions


def test_rename_and_renumber_over_the_api(client: TestClient, engine: Engine, admin: Account,
                                          catalogue: None) -> None:  # fmt: skip
    itv1, itv2 = channel_of(engine)["UK: ITV 1 HD"], channel_of(engine)["UK: ITV 2 HD"]
    changed = client.patch(f"/api/channels/{itv1}", json={"name": "ITV", "number": 100}, headers=admin.headers)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["number"], changed.json()["name_locked"]) == ("ITV", 100, True)
    taken = client.patch(f"/api/channels/{itv2}", json={"number": 100}, headers=admin.headers)
    assert taken.status_code == 409 and "number 100 already" in taken.json()["message"]
    assert client.patch(f"/api/channels/{itv2}", json={"name": ""}, headers=admin.headers).status_code == 422


def test_reset_undoes_manual_merges_over_the_api(client: TestClient, engine: Engine, admin: Account,
                                                 catalogue: None) -> None:  # fmt: skip
    where = channel_of(engine)
    four, e4 = where["UK: Channel 4"], where["E4"]
    client.post(f"/api/channels/{e4}/merge-with/{four}", headers=admin.headers)
    reset = client.post(f"/api/channels/{four}/reset", headers=admin.headers)
    assert reset.status_code == 200 and reset.json()["stream_count"] == 1
    assert channel_of(engine)["E4"] == e4
    assert client.post("/api/channels/99999/reset", headers=admin.headers).status_code == 404


def test_bad_manual_changes_get_clear_errors(client: TestClient, engine: Engine, admin: Account,
                                             catalogue: None) -> None:  # fmt: skip
    itv = channel_of(engine)["UK: ITV 1 HD"]
    assert client.post(f"/api/channels/{itv}/merge-with/{itv}", headers=admin.headers).status_code == 422
    missing = client.post(f"/api/channels/{itv}/merge-with/99999", headers=admin.headers)
    assert missing.status_code == 404 and "no channel 99999" in missing.json()["message"]
    assert client.post(f"/api/channels/{itv}/split", json={"stream_ids": []}, headers=admin.headers).status_code == 422
    stranger = client.post(f"/api/channels/{itv}/split", json={"stream_ids": [99999]}, headers=admin.headers)
    assert stranger.status_code == 422 and "not live streams" in stranger.json()["message"]


def test_merge_rules_crud(client: TestClient, engine: Engine, admin: Account, catalogue: None) -> None:
    itv1, itv2 = channel_of(engine)["UK: ITV 1 HD"], channel_of(engine)["UK: ITV 2 HD"]
    created = client.post("/api/merge-rules", json={"pattern": "*itv 2*", "channel_id": itv1}, headers=admin.headers)
    assert created.status_code == 201, created.text
    assert channel_of(engine)["UK: ITV 2 HD"] == itv1
    assert [r["pattern"] for r in client.get("/api/merge-rules", headers=admin.headers).json()] == ["*itv 2*"]
    bad = client.post("/api/merge-rules", json={"pattern": "(", "kind": "regex", "channel_id": itv1},
                      headers=admin.headers)  # fmt: skip
    assert bad.status_code == 422 and "regular expression" in bad.json()["message"]
    assert client.delete(f"/api/merge-rules/{created.json()['id']}", headers=admin.headers).status_code == 204
    assert channel_of(engine)["UK: ITV 2 HD"] == itv2
    assert client.delete("/api/merge-rules/12345", headers=admin.headers).status_code == 404


def test_process_m3u_over_the_api(client: TestClient, admin: Account, tmp_path: Path) -> None:
    source = write_playlist(tmp_path / "in.m3u", LINES_A + LINES_B)
    body = {"source": str(source), "output_dir": str(tmp_path / "out"), "by_category": True}
    response = client.post("/api/process-m3u/", json=body, headers=admin.headers)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["files_created"], result["duplicates_merged"]) == (4, 1)
    assert result["categories"] == ["Ent", "General", "UK"]
    relative = client.post("/api/process-m3u/", json=body | {"output_dir": "out"}, headers=admin.headers)
    assert relative.status_code == 422 and "absolute" in relative.json()["message"]
