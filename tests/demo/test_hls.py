"""The fake provider's HLS (live, master, VOD) opened by PyAV over loopback, byte ranges on movie files, and the
HEAD-rejecting fault."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from itertools import islice, pairwise

import av
import httpx
import pytest
from av.video.frame import VideoFrame

from m3u_strm.demo import hls
from m3u_strm.demo.fake_provider import FakeProviderServer, media_bytes
from m3u_strm.demo.media import PLACEHOLDER_SIZE
from m3u_strm.demo.ranges import UnsatisfiableRangeError, byte_range
from m3u_strm.monitor.quality_deep import BLACK_MAX_LUMA, mean_luma, thumbnail

T0 = 1_000_000 * hls.SEGMENT_SECONDS  # a live clock at the start of segment 1,000,000


def _base(server: FakeProviderServer, kind: str = "live") -> str:
    return f"{server.base_url}/{kind}/{server.username}/{server.password}"


def _decoded(url: str, frames: int) -> list[VideoFrame]:
    with av.open(url, timeout=10) as container:
        return list(islice(container.decode(video=0), frames))


def _tag(text: str, name: str) -> int:
    match = re.search(rf"^#{name}:(\d+)$", text, re.MULTILINE)
    assert match is not None, text
    return int(match[1])


def _uris(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@pytest.fixture
def frozen_clock(demo: FakeProviderServer) -> Iterator[list[float]]:
    """The live clock under the test's control: set ``now[0]``."""
    now = [T0 + 0.5]
    demo.provider.clock = lambda: now[0]
    yield now


# -- live -----------------------------------------------------------------------------------------------------------


def test_pyav_plays_the_live_playlist_over_http_with_timestamps_running_on(demo: FakeProviderServer) -> None:
    frames = _decoded(f"{_base(demo)}/3.m3u8", 3 * 25)  # 3 s: at least one segment boundary crossed
    assert len(frames) == 75 and {(f.width, f.height) for f in frames} == {(640, 360)}
    times = [f.time for f in frames]
    assert all(b > a for a, b in pairwise(times))  # no jump back at a segment boundary
    assert times[-1] - times[0] == pytest.approx(74 / 25, abs=0.01)


def test_live_media_sequence_slides_with_the_clock(demo: FakeProviderServer, frozen_clock: list[float]) -> None:
    first = httpx.get(f"{_base(demo)}/3.m3u8", timeout=10)
    frozen_clock[0] += 2 * hls.SEGMENT_SECONDS
    later = httpx.get(f"{_base(demo)}/3.m3u8", timeout=10).text
    assert first.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert _tag(first.text, "EXT-X-TARGETDURATION") == 2
    assert _tag(first.text, "EXT-X-MEDIA-SEQUENCE") == 1_000_000 - hls.LIVE_WINDOW + 1
    assert _tag(later, "EXT-X-MEDIA-SEQUENCE") == _tag(first.text, "EXT-X-MEDIA-SEQUENCE") + 2
    assert 3 <= len(_uris(later)) <= 5 and "#EXT-X-ENDLIST" not in later
    assert _uris(later)[-1] == "3/1000002.ts"  # relative to the playlist: /live/<u>/<p>/3/1000002.ts


def test_live_segments_are_real_mpegts_and_only_near_the_window(
    demo: FakeProviderServer, frozen_clock: list[float]
) -> None:
    newest = f"{_base(demo)}/3/1000000.ts"
    body = httpx.get(newest, timeout=10).content
    with av.open(io.BytesIO(body)) as container:
        assert container.format.name == "mpegts" and container.streams.video and container.streams.audio
    assert httpx.get(f"{_base(demo)}/3/1000001.ts", timeout=10).status_code == 200  # a player a little ahead
    assert httpx.get(f"{_base(demo)}/3/1000002.ts", timeout=10).status_code == 404
    assert httpx.get(f"{_base(demo)}/3/{1_000_000 - hls.LIVE_RETAIN - 1}.ts", timeout=10).status_code == 404
    assert httpx.get(f"{_base(demo)}/3/nine.ts", timeout=10).status_code == 404


def test_timestamps_restart_after_a_cycle_with_a_discontinuity() -> None:
    boundary = hls.TIMESTAMP_CYCLE * 5
    around = hls.live_playlist(now=boundary * hls.SEGMENT_SECONDS + 0.1, prefix="")
    assert f"#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\n{boundary}.ts\n" in around
    assert _tag(around, "EXT-X-DISCONTINUITY-SEQUENCE") == 4
    after = hls.live_playlist(now=(boundary + hls.LIVE_WINDOW) * hls.SEGMENT_SECONDS, prefix="")
    assert "#EXT-X-DISCONTINUITY\n" not in after and _tag(after, "EXT-X-DISCONTINUITY-SEQUENCE") == 5
    low = hls.RENDITIONS[0]
    assert hls.segment_bytes("normal", low, boundary) == hls.segment_bytes("normal", low, 0)


# -- master -----------------------------------------------------------------------------------------------------------


def test_master_lists_two_variants_that_play(demo: FakeProviderServer) -> None:
    master = httpx.get(f"{_base(demo)}/3/master.m3u8", timeout=10).text
    variants = re.findall(r"#EXT-X-STREAM-INF:BANDWIDTH=(\d+),RESOLUTION=(\d+)x(\d+)\n(\S+)", master)
    assert [(w, h, uri) for _, w, h, uri in variants] == [("640", "360", "low.m3u8"), ("1280", "720", "high.m3u8")]
    assert int(variants[0][0]) < int(variants[1][0])
    high = httpx.get(f"{_base(demo)}/3/high.m3u8", timeout=10).text
    assert _uris(high)[0].startswith("high-")
    with av.open(f"{_base(demo)}/3/master.m3u8", timeout=10) as container:
        assert sorted(s.codec_context.height for s in container.streams.video) == [360, 720]


def test_a_placeholder_master_says_how_tiny_it_is(demo: FakeProviderServer) -> None:
    demo.faults.media_kind = "placeholder"
    master = httpx.get(f"{_base(demo)}/3/master.m3u8", timeout=10).text
    size = f"RESOLUTION={PLACEHOLDER_SIZE[0]}x{PLACEHOLDER_SIZE[1]}"
    assert master.count(size) == 2


@pytest.mark.parametrize("path", ["3/low.m3u8", "3/master.m3u8", "3.m3u8", "3/1.ts"])
def test_hls_routes_check_credentials(demo: FakeProviderServer, path: str) -> None:
    url = f"{demo.base_url}/live/{demo.username}/wrong/{path}"
    assert httpx.get(url, timeout=10).status_code == 401


@pytest.mark.parametrize("path", ["live/u/p/3/medium.m3u8", "movie/u/p/3/master.m3u8", "live/u/p/x/1.ts"])
def test_unknown_hls_parts_are_404(demo: FakeProviderServer, path: str) -> None:
    url = f"{demo.base_url}/{path.replace('u/p', f'{demo.username}/{demo.password}')}"
    assert httpx.get(url, timeout=10).status_code == 404


# -- faults on HLS ----------------------------------------------------------------------------------------------------


def test_black_media_kind_reaches_the_hls_segments(demo: FakeProviderServer) -> None:
    demo.faults.media_kind = "black"
    frames = _decoded(f"{_base(demo)}/3.m3u8", 10)
    assert frames and all(mean_luma(thumbnail(f)) <= BLACK_MAX_LUMA for f in frames)
    demo.faults.media_kind = "normal"
    assert all(mean_luma(thumbnail(f)) > BLACK_MAX_LUMA for f in _decoded(f"{_base(demo)}/3.m3u8", 10))


@pytest.mark.parametrize(
    ("fault", "value", "status"),
    [("status_code", 503, 503), ("rate_limit_retry_after", 30, 429)],
    ids=["5xx", "429"],
)
def test_status_faults_aimed_at_segments_spare_the_playlist(
    demo: FakeProviderServer, fault: str, value: object, status: int
) -> None:
    setattr(demo.faults, fault, value)
    demo.faults.only_paths = {f"/live/{demo.username}/{demo.password}/3/"}
    playlist = httpx.get(f"{_base(demo)}/3.m3u8", timeout=10)
    segment = httpx.get(f"{_base(demo)}/3/{_uris(playlist.text)[-1].split('/')[-1]}", timeout=10)
    assert playlist.status_code == 200 and segment.status_code == status


# -- VOD --------------------------------------------------------------------------------------------------------------


def test_vod_playlist_ends_and_plays_through(demo: FakeProviderServer) -> None:
    text = httpx.get(f"{_base(demo, 'movie')}/4.m3u8", timeout=10).text
    assert text.rstrip().endswith("#EXT-X-ENDLIST") and "#EXT-X-PLAYLIST-TYPE:VOD" in text
    assert _uris(text) == [f"4/{n}.ts" for n in range(hls.VOD_SEGMENTS)]
    frames = _decoded(f"{_base(demo, 'movie')}/4.m3u8", 10_000)
    expected = round(hls.VOD_SEGMENTS * hls.SEGMENT_SECONDS * 25)
    assert len(frames) == expected
    assert frames[-1].time - frames[0].time == pytest.approx((expected - 1) / 25, abs=0.01)
    assert httpx.get(f"{_base(demo, 'movie')}/4/{hls.VOD_SEGMENTS}.ts", timeout=10).status_code == 404


def test_vod_files_keep_working_beside_their_playlists(demo: FakeProviderServer) -> None:
    for ext in ("ts", "mp4"):
        response = httpx.get(f"{_base(demo, 'movie')}/4.{ext}", timeout=10)
        assert response.content == media_bytes(4) and response.headers["accept-ranges"] == "bytes"


# -- byte ranges ------------------------------------------------------------------------------------------------------

FULL = media_bytes(5)


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, len(FULL) - 1),
        ("bytes=-50", len(FULL) - 50, len(FULL) - 1),
        ("bytes=10-99999999", 10, len(FULL) - 1),
        (f"bytes=-{len(FULL) + 5}", 0, len(FULL) - 1),
    ],
    ids=["closed", "open-ended", "suffix", "end-past-file", "suffix-longer-than-file"],
)
@pytest.mark.parametrize("path", ["movie/{u}/{p}/5.mp4", "series/{u}/{p}/5.mkv", "stream/movie/5.ts"])
def test_movie_files_answer_byte_ranges_with_206(
    demo: FakeProviderServer, header: str, first: int, last: int, path: str
) -> None:
    url = f"{demo.base_url}/" + path.format(u=demo.username, p=demo.password)
    response = httpx.get(url, headers={"Range": header}, timeout=10)
    assert response.status_code == 206
    assert response.content == FULL[first : last + 1]
    assert response.headers["content-range"] == f"bytes {first}-{last}/{len(FULL)}"


@pytest.mark.parametrize(
    "header",
    ["bytes=99999999-", "bytes=50-10", "bytes=0-1,5-6", "items=0-1", "bytes=-0", "bytes=-", "bytes=a-b"],
    ids=["start-past-end", "backwards", "several", "other-unit", "empty-suffix", "no-numbers", "garbage"],
)
def test_unsatisfiable_ranges_are_416(demo: FakeProviderServer, header: str) -> None:
    response = httpx.get(f"{_base(demo, 'movie')}/5.mp4", headers={"Range": header}, timeout=10)
    assert response.status_code == 416 and response.headers["content-range"] == f"bytes */{len(FULL)}"
    with pytest.raises(UnsatisfiableRangeError):
        byte_range(header, len(FULL))


# -- HEAD -------------------------------------------------------------------------------------------------------------

MEDIA_PATHS = ["live/{u}/{p}/3.ts", "live/{u}/{p}/3.m3u8", "live/{u}/{p}/3/master.m3u8", "movie/{u}/{p}/3.mp4",
               "movie/{u}/{p}/3.m3u8", "stream/3.ts"]  # fmt: skip


@pytest.mark.parametrize("path", MEDIA_PATHS)
def test_head_rejected_fault_makes_media_routes_answer_head_405_while_get_works(
    demo: FakeProviderServer, path: str
) -> None:
    url = f"{demo.base_url}/" + path.format(u=demo.username, p=demo.password)
    assert httpx.head(url, timeout=10).status_code == 200
    demo.faults.head_rejected = True
    rejected = httpx.head(url, timeout=10)
    assert rejected.status_code == 405 and rejected.headers["allow"] == "GET"
    with httpx.stream("GET", url, timeout=10) as response:  # live .ts never ends: the status is enough
        assert response.status_code == 200


def test_head_rejected_leaves_the_playlist_and_api_alone(demo: FakeProviderServer) -> None:
    demo.faults.head_rejected = True
    assert httpx.head(demo.m3u_url, timeout=10).status_code == 200
