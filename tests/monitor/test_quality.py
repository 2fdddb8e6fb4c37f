"""The quality prober against real PyAV-made media served over a real loopback HTTP server."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from m3u_strm.catalog.quality import quality_score, tier_from_height
from m3u_strm.demo.media import MediaKind, hls, mpegts
from m3u_strm.monitor.quality import USER_AGENT, probe
from m3u_strm.monitor.quality_deep import DeepStats, deep_flags, mean_abs_diff
from tests.monitor.media_server import MediaServer, Route, closed_port, serve, silent_listener

SMALL = {"width": 320, "height": 180}
HTML_PAGE = b"<!DOCTYPE html><html><body><h1>Your trial has ended</h1><p>Buy a plan to keep watching.</p></body></html>"
KINDS: tuple[MediaKind, ...] = ("normal", "black", "frozen", "silent", "placeholder")


@pytest.fixture(scope="module")
def server() -> Iterator[MediaServer]:
    with serve() as media:
        for kind in KINDS:
            media.add(f"/{kind}.ts", Route(mpegts(4.0, **SMALL, kind=kind)))
        package = hls(1.0, 3, **SMALL)
        playlist = "application/vnd.apple.mpegurl"
        media.add("/hls/master.m3u8", Route(package.master.encode(), playlist))
        media.add("/hls/variant.m3u8", Route(package.variant.encode(), playlist))
        for index, segment in enumerate(package.segments):
            media.add(f"/hls/seg{index}.ts", Route(segment))
        media.add("/buy.ts", Route(HTML_PAGE, "text/html; charset=utf-8"))
        media.add("/slow.ts", Route(mpegts(4.0, **SMALL), delay_seconds=0.5))
        media.add("/reset.ts", Route(reset=True))
        media.add("/live/alice/s3cretpw/1234.ts", Route(b"no such line", "text/plain", 404))
        yield media


@pytest.mark.parametrize(
    ("width", "height", "fps"),
    [(320, 180, 25), (320, 180, 10), (320, 180, 50), (640, 360, 30), (1280, 720, 25)],
    ids=["180p25", "180p10", "180p50", "360p30", "720p25"],
)
def test_mpegts_over_http_reports_its_real_codec_size_fps_and_bitrate(
    server: MediaServer, width: int, height: int, fps: int
) -> None:
    data = mpegts(4.0, width=width, height=height, fps=fps)
    url = server.add(f"/sized-{width}x{height}@{fps}.ts", Route(data))

    result = probe(url)

    assert (result.outcome, result.container, result.video_codec) == ("ok", "mpegts", "h264")
    assert (result.width, result.height) == (width, height)
    assert result.fps is not None and abs(result.fps - fps) <= 1
    file_kbps = len(data) * 8 / 4.0 / 1000  # TS framing included: the packets carry less
    assert result.bitrate_kbps is not None and 0.5 * file_kbps <= result.bitrate_kbps <= 1.1 * file_kbps
    assert (result.audio_codec, result.audio_channels) == ("aac", 2)
    assert result.tier == tier_from_height(height)
    assert result.score == quality_score(result.tier, result.bitrate_kbps)
    assert (result.flags, result.error, result.error_kind) == ((), None, None)


def test_measured_bitrate_follows_the_encoded_bitrate(server: MediaServer) -> None:
    low = probe(server.add("/kbps-300.ts", Route(mpegts(4.0, **SMALL, video_kbps=300))))
    high = probe(server.add("/kbps-1500.ts", Route(mpegts(4.0, **SMALL, video_kbps=1500))))
    assert low.bitrate_kbps is not None and high.bitrate_kbps is not None
    assert 300 <= low.bitrate_kbps <= 600
    assert high.bitrate_kbps >= 2.5 * low.bitrate_kbps


def test_hls_master_is_followed_to_the_variant_and_its_segments(server: MediaServer) -> None:
    result = probe(f"{server.base_url}/hls/master.m3u8", deep=True)
    assert (result.outcome, result.container, result.video_codec) == ("ok", "hls", "h264")
    assert (result.width, result.height, result.flags) == (320, 180, ())
    fetched = {path for path, _ in server.requests}
    assert {"/hls/master.m3u8", "/hls/variant.m3u8", "/hls/seg0.ts", "/hls/seg1.ts"} <= fetched


@pytest.mark.parametrize(
    ("kind", "flags"),
    [("normal", ()), ("black", ("black",)), ("frozen", ("frozen",)), ("silent", ("silent",)),
     ("placeholder", ("placeholder",))],
    ids=KINDS,
)  # fmt: skip
def test_deep_probe_flags_online_but_broken_streams(server: MediaServer, kind: str, flags: tuple[str, ...]) -> None:
    result = probe(f"{server.base_url}/{kind}.ts", deep=True)
    assert result.flags == flags
    assert result.outcome == ("broken" if flags else "ok")


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_shallow_probe_does_not_judge_the_picture(server: MediaServer, kind: str) -> None:
    result = probe(f"{server.base_url}/{kind}.ts")
    assert (result.outcome, result.flags) == ("ok", ())


@dataclass(frozen=True)
class Failure:
    path: str
    kind: str
    says: str


@pytest.mark.parametrize(
    "case",
    [
        Failure("/buy.ts", "not_media", "Invalid data"),
        Failure("/missing.ts", "http_error", "404"),
        Failure("/reset.ts", "reset", "reset"),
    ],
    ids=["html-200-is-not-media", "404", "connection-reset"],
)
def test_unusable_answers_fail_with_their_kind(server: MediaServer, case: Failure) -> None:
    result = probe(server.base_url + case.path, timeout=5.0)
    assert (result.outcome, result.error_kind) == ("failed", case.kind)
    assert result.error is not None and case.says in result.error
    assert (result.video_codec, result.width, result.bitrate_kbps, result.tier) == (None, None, None, None)


def test_refused_connection_fails_as_refused() -> None:
    result = probe(f"http://127.0.0.1:{closed_port()}/live.ts", timeout=5.0)
    assert (result.outcome, result.error_kind) == ("failed", "refused")


def test_server_that_never_answers_fails_as_timeout() -> None:
    with silent_listener() as url:
        result = probe(f"{url}/live.ts", timeout=0.5)
    assert (result.outcome, result.error_kind) == ("failed", "timeout")


def test_slow_start_within_the_timeout_is_fine(server: MediaServer) -> None:
    assert probe(f"{server.base_url}/slow.ts", timeout=5.0).outcome == "ok"


def test_slow_start_beyond_the_timeout_fails_as_timeout(server: MediaServer) -> None:
    result = probe(f"{server.base_url}/slow.ts", timeout=0.2)
    assert (result.outcome, result.error_kind) == ("failed", "timeout")


@pytest.mark.parametrize(
    "url_of",
    [
        lambda base: f"{base}/live/alice/s3cretpw/1234.ts",
        lambda base: base.replace("http://", "http://alice:s3cretpw@") + "/missing.ts",
        lambda base: f"{base}/missing.ts?username=alice&password=s3cretpw",
    ],
    ids=["xtream-path", "userinfo", "query"],
)
def test_errors_never_show_the_credentials_in_the_url(server: MediaServer, url_of: Callable[[str], str]) -> None:
    result = probe(url_of(server.base_url))
    assert result.outcome == "failed" and result.error is not None
    assert "***" in result.error  # the URL is in the message, masked
    assert "s3cretpw" not in result.error and "alice" not in result.error


def test_headers_and_user_agent_reach_the_server(server: MediaServer) -> None:
    url = f"{server.base_url}/normal.ts"
    probe(url, headers={"X-Token": "t0ken", "User-Agent": "Kodi/21"})
    probe(url)
    (_, first), (_, second) = [request for request in server.requests if request[0] == "/normal.ts"][-2:]
    assert (first["X-Token"], first["User-Agent"]) == ("t0ken", "Kodi/21")
    assert second["User-Agent"] == USER_AGENT


class CountingReader(io.BytesIO):
    """A binary file object that counts the bytes read from it."""

    taken = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk


@pytest.mark.parametrize(
    ("sample_seconds", "max_bytes"), [(1.0, 4_000_000), (10.0, 200_000)], ids=["by-duration", "by-bytes"]
)
def test_probe_reads_a_bounded_sample_not_the_whole_stream(sample_seconds: float, max_bytes: int) -> None:
    data = mpegts(12.0, **SMALL)
    reader = CountingReader(data)
    result = probe(reader, sample_seconds=sample_seconds, max_bytes=max_bytes)
    assert result.outcome == "ok"
    assert reader.taken < len(data) / 3


@pytest.mark.parametrize("shape", ["bytes", "path", "file"], ids=["bytes", "path", "file-object"])
def test_local_sources_probe_like_urls(tmp_path: Path, shape: str) -> None:
    data = mpegts(2.0, **SMALL)
    (tmp_path / "clip.ts").write_bytes(data)
    source = {"bytes": data, "path": tmp_path / "clip.ts", "file": io.BytesIO(data)}[shape]
    result = probe(source)
    assert (result.outcome, result.width, result.height) == ("ok", 320, 180)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=4096))
def test_any_bytes_give_a_result_never_an_exception(data: bytes) -> None:
    result = probe(data, timeout=2.0)
    assert result.outcome in {"ok", "broken", "failed"}
    assert (result.outcome == "failed") == (result.error_kind is not None)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 188 * 40), st.integers(1, 255))
def test_a_corrupted_stream_gives_a_result_never_an_exception(offset: int, noise: int) -> None:
    data = bytearray(mpegts(1.0, **SMALL))
    data[offset : offset + 188] = bytes([noise]) * 188
    assert probe(bytes(data), deep=True).outcome in {"ok", "broken", "failed"}


LOOKED = {"looks": 20, "pairs": 19}


@pytest.mark.parametrize(
    ("stats", "height", "kbps", "flags"),
    [
        (DeepStats(**LOOKED, dark_looks=20, still_pairs=19), 720, 3000, ("black",)),
        (DeepStats(**LOOKED, dark_looks=19, still_pairs=0), 720, 3000, ("black",)),
        (DeepStats(**LOOKED, dark_looks=18, still_pairs=0), 720, 3000, ()),
        (DeepStats(**LOOKED, still_pairs=19), 720, 3000, ("frozen",)),
        (DeepStats(**LOOKED, still_pairs=17), 720, 3000, ()),
        (DeepStats(looks=2, dark_looks=2, pairs=1, still_pairs=1), 720, 3000, ()),
        (DeepStats(**LOOKED, audio_samples=48_000, audio_square_sum=48_000 * 30**2), 720, 3000, ("silent",)),
        (DeepStats(**LOOKED, audio_samples=48_000, audio_square_sum=48_000 * 40**2), 720, 3000, ()),
        (DeepStats(**LOOKED), 90, 150, ("placeholder",)),
        (DeepStats(**LOOKED), 90, 900, ()),
        (DeepStats(**LOOKED), 180, 150, ()),
        (DeepStats(**LOOKED), None, None, ()),
        (DeepStats(looks=20, dark_looks=20, pairs=19, still_pairs=19, audio_samples=1), 90, 20, ("black", "silent",
                                                                                                  "placeholder")),
    ],
    ids=["black-and-still-is-black-only", "black-95pct", "dark-90pct-not-black", "frozen", "still-89pct-not-frozen",
         "too-few-looks", "silent-rms30", "quiet-rms40-not-silent", "tiny-and-thin-is-placeholder",
         "tiny-but-rich-not-placeholder", "180-lines-not-placeholder", "unknown-size", "everything"],
)  # fmt: skip
def test_deep_flags_follow_the_documented_thresholds(
    stats: DeepStats, height: int | None, kbps: int | None, flags: tuple[str, ...]
) -> None:
    assert deep_flags(stats, height=height, bitrate_kbps=kbps) == flags


@given(
    st.binary(min_size=1, max_size=64).flatmap(
        lambda a: st.tuples(st.just(a), st.binary(min_size=len(a), max_size=len(a)))
    )
)
def test_mean_abs_diff_is_symmetric_and_zero_only_for_equal_pictures(pair: tuple[bytes, bytes]) -> None:
    first, second = pair
    assert mean_abs_diff(first, second) == mean_abs_diff(second, first)
    assert (mean_abs_diff(first, second) == 0) == (first == second)
