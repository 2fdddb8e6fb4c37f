"""The fake provider: a deterministic catalogue, the real routes over loopback, and every switchable fault."""

from __future__ import annotations

import gzip
import json
import threading
import tracemalloc
from collections.abc import Iterator

import av
import httpx
import pytest
from defusedxml import ElementTree

from m3u_strm.demo.catalogue import FakeCatalogue, build_catalogue, mutate
from m3u_strm.demo.fake_provider import TS_PACKET, FakeProviderServer, media_bytes
from m3u_strm.demo.xtream_wire import live_record, movie_record, series_info_record


def _api(server: FakeProviderServer, **params: str) -> httpx.Response:
    query = {"username": server.username, "password": server.password} | params
    return httpx.get(f"{server.base_url}/player_api.php", params=query, timeout=10)


def _extinf_count(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.startswith("#EXTINF"))


# -- catalogue -----------------------------------------------------------------------------------------------------


def test_same_seed_gives_the_same_catalogue_and_another_seed_a_different_one() -> None:
    one, again, other = (build_catalogue(live=50, movies=10, series=3, seed=s) for s in (4, 4, 5))
    assert list(one.iter_live()) == list(again.iter_live())
    assert list(one.iter_movies()) == list(again.iter_movies())
    assert [e.id for e in one.iter_episodes()] == [e.id for e in again.iter_episodes()]
    assert [c.name for c in one.iter_live()] != [c.name for c in other.iter_live()]
    assert [c.stream_id for c in one.iter_live()] == [c.stream_id for c in other.iter_live()]


def test_catalogue_names_look_like_real_provider_lists() -> None:
    catalogue = build_catalogue(live=300, movies=100, series=20)
    names = [item.name for item in catalogue.iter_live()] + [m.name for m in catalogue.iter_movies()]
    assert any("," in name for name in names) and any('"' in name for name in names)
    assert any(name.startswith("UK: ") for name in names) and any(name.startswith("|US| ") for name in names)
    assert any(not name.isascii() for name in names)
    spellings: dict[str, set[str]] = {}
    for item in catalogue.iter_live():
        if item.epg_channel_id:
            spellings.setdefault(item.epg_channel_id, set()).add(item.name)
    assert max(len(names) for names in spellings.values()) >= 3  # one channel, spelt several ways


def test_counts_and_ids_are_as_asked() -> None:
    catalogue = build_catalogue(live=7, movies=3, series=2, episodes_per_series=5)
    assert [item.stream_id for item in catalogue.iter_live()] == list(range(1, 8))
    assert len(list(catalogue.iter_movies())) == 3
    episodes = list(catalogue.iter_episodes())
    assert len(episodes) == 10 and len({e.id for e in episodes}) == 10
    assert all(e.title.startswith(catalogue.series_by_id(e.series_id).name) for e in episodes)  # type: ignore[union-attr]


def test_a_million_channel_catalogue_is_built_lazily() -> None:
    tracemalloc.start()
    try:
        catalogue = build_catalogue(live=1_000_000)
        last = catalogue.live_by_id(1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert catalogue.live_count == 1_000_000 and last is not None and last.num == 1_000_000
    assert catalogue.live_by_id(1_000_001) is None
    assert peak < 1_000_000


def test_mutate_adds_removes_and_renames_exactly_as_asked() -> None:
    before = build_catalogue(live=100, movies=20, series=4)
    after = mutate(before, add=5, remove=3, rename=4, kinds=("live", "vod"))
    old = {item.stream_id: item.name for item in before.iter_live()}
    new = {item.stream_id: item.name for item in after.iter_live()}
    assert len(set(new) - set(old)) == 5 and len(set(old) - set(new)) == 3
    assert sum(1 for key in set(old) & set(new) if old[key] != new[key]) == 4
    assert after.count("vod") == 22 and after.count("series") == 4
    again = mutate(after, remove=1, rename=1, seed=2)
    assert again.live_count == after.live_count - 1


def test_type_drift_sends_real_world_shapes_and_some_broken_records() -> None:
    catalogue = build_catalogue(live=400, movies=100, type_drift=True)
    records = [live_record(catalogue, item, "http://x") for item in catalogue.iter_live()]
    assert {type(r["stream_id"]) for r in records} >= {int, str}
    assert "" in {r["num"] for r in records}
    assert {type(r["category_id"]) for r in records} == {str, int, type(None)}
    ratings = {type(movie_record(catalogue, m, "http://x")["rating"]) for m in catalogue.iter_movies()}
    assert ratings == {float, str}
    broken = [item for item in catalogue.iter_live() if catalogue.is_broken("live", item.stream_id)]
    assert 0 < len(broken) < 40
    shapes = {type(series_info_record(catalogue, sid, "http://x")["episodes"]) for sid in (1, 2)}
    assert shapes == {dict, list}


# -- routes --------------------------------------------------------------------------------------------------------


def test_get_php_serves_the_whole_catalogue_with_xtream_urls(demo: FakeProviderServer) -> None:
    response = httpx.get(demo.m3u_url, timeout=10)
    catalogue = demo.catalogue
    assert response.status_code == 200
    first = response.text.splitlines()[0]
    assert first.startswith('#EXTM3U x-tvg-url="') and "/xmltv.php?" in first
    expected = catalogue.live_count + catalogue.count("vod") + len(list(catalogue.iter_episodes()))
    assert _extinf_count(response.text) == expected
    assert f"/live/{demo.username}/{demo.password}/1.ts" in response.text
    assert 'group-title="' in response.text and 'tvg-logo="http://' in response.text
    assert "/movie/" in response.text and "/series/" in response.text


def test_get_php_with_wrong_password_is_401(demo: FakeProviderServer) -> None:
    response = httpx.get(demo.m3u_url.replace(demo.password, "wrong"), timeout=10)
    assert response.status_code == 401


def test_m3u8_output_and_plain_m3u_type(demo: FakeProviderServer) -> None:
    text = httpx.get(demo.m3u_url.replace("output=ts", "output=m3u8").replace("m3u_plus", "m3u"), timeout=10).text
    assert "/1.m3u8" in text and "tvg-id" not in text.split("\n", 2)[1]


def test_public_playlist_has_no_credentials_and_gz_is_the_same(demo: FakeProviderServer) -> None:
    plain = httpx.get(demo.public_m3u_url, timeout=10)
    packed = httpx.get(demo.public_m3u_url + ".gz", timeout=10)
    assert demo.password not in plain.text and "/stream/1.ts" in plain.text
    assert "content-encoding" not in packed.headers and packed.content[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed.content) == plain.content


def test_player_api_account_and_wrong_credentials(demo: FakeProviderServer) -> None:
    account = _api(demo).json()
    assert account["user_info"]["auth"] == 1 and account["user_info"]["status"] == "Active"
    assert int(account["user_info"]["exp_date"]) > int(account["server_info"]["timestamp_now"])
    assert account["server_info"]["port"] == str(demo.port)
    wrong = httpx.get(f"{demo.base_url}/player_api.php", params={"username": "x", "password": "y"}, timeout=10)
    assert wrong.status_code == 200 and wrong.json() == {"user_info": {"auth": 0}}


def test_player_api_lists_and_filters(demo: FakeProviderServer) -> None:
    catalogue = demo.catalogue
    categories = _api(demo, action="get_live_categories").json()
    live = _api(demo, action="get_live_streams").json()
    assert len(live) == catalogue.live_count and {c["category_id"] for c in categories} >= {
        r["category_id"] for r in live
    }
    one = live[0]["category_id"]
    filtered = _api(demo, action="get_live_streams", category_id=one).json()
    assert filtered and all(r["category_id"] == one for r in filtered)
    assert len(_api(demo, action="get_vod_streams").json()) == catalogue.count("vod")
    assert len(_api(demo, action="get_series").json()) == catalogue.count("series")
    assert _api(demo, action="get_vod_categories").json() and _api(demo, action="get_series_categories").json()
    info = _api(demo, action="get_series_info", series_id="2").json()
    assert sum(len(v) for v in info["episodes"].values()) == 4 and info["info"]["name"]
    movie_id = str(next(catalogue.iter_movies()).stream_id)
    assert _api(demo, action="get_vod_info", vod_id=movie_id).json()["movie_data"]["stream_id"] == int(movie_id)
    assert _api(demo, action="get_series_info", series_id="999").json()["episodes"] == []


def test_json_escapes_slashes_like_php(demo: FakeProviderServer) -> None:
    assert "http:\\/\\/" in _api(demo, action="get_live_streams").text


def test_xmltv_guide_names_each_epg_channel_with_programmes(demo: FakeProviderServer) -> None:
    response = httpx.get(demo.xmltv_url, timeout=10)
    root = ElementTree.fromstring(response.content)
    channels = {c.get("id") for c in root.iter("channel")}
    expected = {item.epg_channel_id for item in demo.catalogue.iter_live() if item.epg_channel_id}
    assert channels == expected
    assert len(list(root.iter("programme"))) == 4 * len(channels)
    assert httpx.get(demo.xmltv_url.replace(demo.password, "nope"), timeout=10).status_code == 401


def _head_of(url: str, size: int) -> bytes:
    """The first ``size`` bytes of an endless live stream."""
    with httpx.stream("GET", url, timeout=10) as response:
        assert response.status_code == 200
        data = b""
        for chunk in response.iter_raw():
            data += chunk
            if len(data) >= size:
                return data[:size]
    return data


def test_live_ts_is_endless_real_media_paced_like_a_channel(demo: FakeProviderServer) -> None:
    url = f"{demo.base_url}/live/{demo.username}/{demo.password}/3.ts"
    with av.open(url) as container:  # real media, made with PyAV: it decodes, and goes on past one clip
        frames = [frame for _, frame in zip(range(120), container.decode(video=0), strict=False)]
    assert len(frames) == 120 and (frames[0].width, frames[0].height) == (640, 360)
    assert frames[-1].time is not None and frames[0].time is not None and frames[-1].time > frames[0].time + 4
    body = _head_of(url, 100 * TS_PACKET)
    assert all(body[i] == 0x47 for i in range(0, len(body), TS_PACKET))
    assert _head_of(f"{demo.base_url}/stream/3.ts", TS_PACKET)[:1] == b"\x47"
    movie = httpx.get(f"{demo.base_url}/movie/{demo.username}/{demo.password}/3.mkv", timeout=10).content
    assert movie == media_bytes(3)
    assert httpx.get(f"{demo.base_url}/live/{demo.username}/bad/3.ts", timeout=10).status_code == 401
    assert httpx.get(f"{demo.base_url}/logos/bbcone.uk.png", timeout=10).content.startswith(b"\x89PNG")


def test_swapping_the_catalogue_changes_what_is_served(demo: FakeProviderServer) -> None:
    demo.catalogue = mutate(demo.catalogue, add=3, remove=1)
    assert len(_api(demo, action="get_live_streams").json()) == demo.catalogue.live_count == 42


# -- faults --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "value", "status", "check"),
    [
        ("status_code", 503, 503, lambda r: True),
        ("rate_limit_retry_after", 120, 429, lambda r: r.headers["retry-after"] == "120"),
        ("html_200", True, 200, lambda r: r.text.lstrip().startswith("<!DOCTYPE html>")),
        ("json_error_200", True, 200, lambda r: "error" in r.json()),
        ("empty_200", True, 200, lambda r: r.content == b""),
    ],
    ids=["status", "429", "html", "json-error", "empty"],
)
def test_response_faults_replace_every_answer(
    demo: FakeProviderServer, fault: str, value: object, status: int, check: object
) -> None:
    setattr(demo.faults, fault, value)
    for url in (demo.m3u_url, f"{demo.base_url}/player_api.php"):
        response = httpx.get(url, timeout=10)
        assert response.status_code == status and check(response)  # type: ignore[operator]


def test_fail_times_fails_only_the_first_requests(demo: FakeProviderServer) -> None:
    demo.faults.status_code, demo.faults.fail_times = 500, 2
    codes = [httpx.get(demo.m3u_url, timeout=10).status_code for _ in range(3)]
    assert codes == [500, 500, 200] and demo.faults.hits["/get.php"] == 3


def test_only_paths_aims_faults_at_a_path_or_an_action(demo: FakeProviderServer) -> None:
    demo.faults.status_code = 502
    demo.faults.only_paths = {"get_vod_streams"}
    assert _api(demo).status_code == 200 and _api(demo, action="get_live_streams").status_code == 200
    assert _api(demo, action="get_vod_streams").status_code == 502
    demo.faults.only_paths = {"/xmltv.php"}
    assert httpx.get(demo.m3u_url, timeout=10).status_code == 200
    assert httpx.get(demo.xmltv_url, timeout=10).status_code == 502
    assert demo.faults.hits["get_vod_streams"] == 1 and demo.faults.hits["authenticate"] == 1


def test_auth_zero_and_expired_accounts(demo: FakeProviderServer) -> None:
    demo.faults.expired = True
    info = _api(demo).json()["user_info"]
    assert info["status"] == "Expired" and int(info["exp_date"]) < int(
        _api(demo).json()["server_info"]["timestamp_now"]
    )
    demo.faults.auth_zero = True
    assert _api(demo).json() == {"user_info": {"auth": 0}}


def test_truncated_body_breaks_the_connection(demo: FakeProviderServer) -> None:
    demo.faults.truncate_after_bytes = 1000
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(demo.m3u_url, timeout=10)
    demo.faults.reset()
    assert httpx.get(demo.m3u_url, timeout=10).status_code == 200  # the server is fine afterwards


def test_stalled_body_times_the_client_out_after_the_first_bytes(demo: FakeProviderServer) -> None:
    demo.faults.stall_after_bytes = 500
    received = bytearray()
    with pytest.raises(httpx.ReadTimeout), httpx.stream("GET", demo.m3u_url, timeout=httpx.Timeout(5, read=0.3)) as r:
        for chunk in r.iter_bytes():
            received += chunk
    assert len(received) == 500


def test_reset_turns_every_fault_off_and_clears_hits(demo: FakeProviderServer) -> None:
    demo.faults.status_code, demo.faults.html_200, demo.faults.only_paths = 500, True, {"/get.php"}
    httpx.get(demo.m3u_url, timeout=10)
    demo.faults.reset()
    assert demo.faults.status_code is None and not demo.faults.html_200 and demo.faults.only_paths is None
    assert not demo.faults.hits and demo.faults.failed == 0


# -- the server ----------------------------------------------------------------------------------------------------


@pytest.fixture
def stalling_server() -> Iterator[FakeProviderServer]:
    server = FakeProviderServer(build_catalogue(live=30), username="stall-user", password="stall-pass").start()
    yield server
    server.stop()


def test_stop_does_not_hang_on_a_stalled_response(stalling_server: FakeProviderServer) -> None:
    stalling_server.faults.stall_after_bytes = 100
    failures: list[BaseException] = []

    def fetch() -> None:
        try:
            httpx.get(stalling_server.m3u_url, timeout=60)
        except httpx.HTTPError as exc:
            failures.append(exc)

    client = threading.Thread(target=fetch, daemon=True)
    client.start()
    while stalling_server.faults.failed == 0:
        threading.Event().wait(0.01)
    thread = stalling_server._thread
    stalling_server.stop()
    client.join(timeout=30)
    assert thread is not None and not thread.is_alive()
    assert failures and isinstance(failures[0], httpx.RemoteProtocolError)


def test_two_servers_run_side_by_side_in_one_process() -> None:
    with (
        FakeProviderServer(build_catalogue(live=3, movies=0, series=0)) as one,
        FakeProviderServer(build_catalogue(live=5, movies=0, series=0)) as two,
    ):
        assert one.port != two.port
        assert _extinf_count(httpx.get(one.m3u_url, timeout=10).text) == 3
        assert _extinf_count(httpx.get(two.m3u_url, timeout=10).text) == 5


def test_a_million_entry_playlist_is_streamed_not_built(demo_catalogue: FakeCatalogue) -> None:
    big = build_catalogue(live=1_000_000, movies=0, series=0)
    with FakeProviderServer(big) as server:
        tracemalloc.start()
        try:
            received = 0
            with httpx.stream("GET", server.m3u_url, timeout=30) as response:
                for chunk in response.iter_bytes():
                    received += len(chunk)
                    if received > 2_000_000:
                        break
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert received > 2_000_000 and peak < 20_000_000


def test_json_arrays_are_streamed_in_chunks(demo: FakeProviderServer) -> None:
    demo.catalogue = build_catalogue(live=3000, movies=0, series=0)
    query = {"username": demo.username, "password": demo.password, "action": "get_live_streams"}
    with httpx.stream("GET", f"{demo.base_url}/player_api.php", params=query, timeout=10) as response:
        assert "content-length" not in response.headers
        body = response.read()
    assert len(json.loads(body)) == 3000
