"""The PyAV-made test media are what they claim: checked by decoding them with PyAV directly, not with the prober."""

from __future__ import annotations

import io
import itertools
import re

import av
import pytest
from av.video.frame import VideoFrame

from m3u_strm.demo.media import PLACEHOLDER_SIZE, MediaKind, hls, mpegts
from m3u_strm.monitor.quality_deep import thumbnail

SMALL = {"width": 320, "height": 180}


def open_bytes(data: bytes) -> av.container.InputContainer:
    return av.open(io.BytesIO(data))


@pytest.mark.parametrize(
    ("kind", "size"),
    [
        ("normal", (320, 180)),
        ("black", (320, 180)),
        ("frozen", (320, 180)),
        ("silent", (320, 180)),
        ("placeholder", PLACEHOLDER_SIZE),
    ],
    ids=["normal", "black", "frozen", "silent", "placeholder-ignores-size"],
)
def test_every_kind_is_an_mpegts_with_h264_video_and_aac_stereo(kind: MediaKind, size: tuple[int, int]) -> None:
    with open_bytes(mpegts(2.0, **SMALL, kind=kind)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert container.format.name == "mpegts"
        assert (video.codec_context.name, video.codec_context.width, video.codec_context.height) == ("h264", *size)
        assert video.average_rate == 25
        assert (audio.codec_context.name, audio.codec_context.channels) == ("aac", 2)


@pytest.mark.parametrize(("seconds", "fps"), [(1.0, 25), (2.0, 30), (3.0, 10)], ids=["1s@25", "2s@30", "3s@10"])
def test_stream_holds_seconds_times_fps_frames(seconds: float, fps: int) -> None:
    with open_bytes(mpegts(seconds, **SMALL, fps=fps)) as container:
        assert sum(1 for _ in container.decode(video=0)) == round(seconds * fps)


def test_generation_is_cached() -> None:
    assert mpegts(1.0, **SMALL) is mpegts(1.0, **SMALL)


def test_video_kbps_sets_the_encoded_bitrate() -> None:
    def video_kbps(data: bytes) -> float:
        with open_bytes(data) as container:
            return sum(packet.size for packet in container.demux(video=0)) * 8 / 4.0 / 1000

    low, high = video_kbps(mpegts(4.0, **SMALL, video_kbps=200)), video_kbps(mpegts(4.0, **SMALL, video_kbps=800))
    assert 100 < low < 400
    assert 500 < high < 1200


def decoded_thumbnails(data: bytes) -> list[bytes]:
    with open_bytes(data) as container:
        return [thumbnail(frame) for frame in container.decode(video=0) if isinstance(frame, VideoFrame)]


def test_frozen_repeats_one_picture_and_normal_moves() -> None:
    frozen = decoded_thumbnails(mpegts(1.0, **SMALL, kind="frozen"))
    moving = decoded_thumbnails(mpegts(1.0, **SMALL))
    assert len(set(frozen[5:])) == 1
    assert len(set(moving)) == len(moving)


def test_black_frames_are_black_and_the_pattern_is_not() -> None:
    assert all(max(pixels) <= 16 for pixels in decoded_thumbnails(mpegts(1.0, **SMALL, kind="black")))
    assert all(sum(pixels) / len(pixels) > 64 for pixels in decoded_thumbnails(mpegts(1.0, **SMALL)))


@pytest.mark.parametrize(("kind", "audible"), [("silent", False), ("normal", True)], ids=["silent", "normal"])
def test_silent_audio_is_zeros_and_the_tone_is_loud(kind: MediaKind, audible: bool) -> None:
    with open_bytes(mpegts(1.0, **SMALL, kind=kind)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono")
        loudest = 0
        for frame in container.decode(audio=0):
            for mono in resampler.resample(frame):
                samples = memoryview(bytes(mono.planes[0])[: mono.samples * 2]).cast("h")
                loudest = max(loudest, *map(abs, samples))
    assert (loudest > 2_000) is audible  # FFmpeg's sine is at 1/8 of full scale
    assert audible or loudest <= 2


def test_hls_master_points_at_variant_which_lists_every_segment() -> None:
    package = hls(1.0, 3, **SMALL)
    assert package.master.startswith("#EXTM3U\n")
    assert "RESOLUTION=320x180" in package.master
    assert package.master.splitlines()[-1] == "variant.m3u8"
    assert re.findall(r"^seg\d+\.ts$", package.variant, re.M) == ["seg0.ts", "seg1.ts", "seg2.ts"]
    assert "#EXT-X-TARGETDURATION:1\n" in package.variant
    assert package.variant.endswith("#EXT-X-ENDLIST\n")
    assert len(package.segments) == 3


def test_hls_segments_start_with_a_keyframe_and_follow_each_other_in_time() -> None:
    starts = []
    for segment in hls(1.0, 3, **SMALL).segments:
        with open_bytes(segment) as container:
            first = next(container.demux(video=0))
            assert first.is_keyframe
            starts.append(float(first.pts * first.time_base))
    assert [round(later - earlier, 2) for earlier, later in itertools.pairwise(starts)] == [1.0, 1.0]
