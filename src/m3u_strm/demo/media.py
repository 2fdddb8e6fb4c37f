"""Real, playable media made with PyAV, for the demo provider and the tests: MPEG-TS streams and HLS packages.

The rules:

* **Video** is FFmpeg's ``testsrc2`` pattern (moving, colourful, mean luma well above black), encoded with H.264
  (``libx264``, ultrafast, one keyframe a second) when the PyAV wheel has it, else MPEG-2 video. **Audio** is a
  440 Hz stereo sine at 48 kHz, AAC (MP2 without it). Both go into one MPEG-TS, interleaved by time.
* **Kinds** give the "online but broken" streams a deep probe must catch: ``black`` encodes all-black frames,
  ``frozen`` repeats the pattern's first frame, ``silent`` carries audio of zeros, ``placeholder`` is a tiny
  (:data:`PLACEHOLDER_SIZE`, whatever ``width``/``height`` say) low-bitrate moving card like a "buy a plan" loop.
* **HLS** (:func:`hls`) is a master playlist pointing at ``variant.m3u8``, which lists ``seg0.ts`` ... with
  relative URIs. Each segment is its own MPEG-TS that starts with a keyframe, its timestamps offset so that the
  segments follow each other (from 10 s on).
* Generation takes a noticeable fraction of a second, so results are cached (:func:`functools.lru_cache`): ask for
  the same arguments again and you get the same bytes object.

>>> data = mpegts(1.0, width=320, height=180)
>>> data[0] == 0x47  # the MPEG-TS sync byte
True
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Literal

import av
import av.filter
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

__all__ = ["PLACEHOLDER_SIZE", "HlsPackage", "MediaKind", "hls", "mpegts"]

MediaKind = Literal["normal", "black", "frozen", "silent", "placeholder"]

PLACEHOLDER_SIZE = (160, 90)
PLACEHOLDER_KBPS = 32
SAMPLE_RATE = 48_000
AUDIO_SAMPLES_PER_FRAME = 1024
AUDIO_KBPS = 64
_VIDEO_CODECS = ("libx264", "mpeg2video")
_AUDIO_CODECS = ("aac", "mp2")
# HLS timestamps start here, not at 0: the muxer shifts a stream starting at 0 by the audio encoder's priming delay,
# which would put the first segment a little out of step with the next ones (live HLS rarely starts at 0 anyway).
_HLS_START_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class HlsPackage:
    """An HLS stream: ``master`` points at ``variant.m3u8`` (the text of ``variant``), which lists
    ``seg0.ts`` ... ``seg{n-1}.ts`` (the bytes of ``segments``, in order)."""

    master: str
    variant: str
    segments: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class _Spec:
    """What to encode: the arguments of :func:`mpegts` after the kind's overrides."""

    seconds: float
    width: int
    height: int
    fps: int
    kind: MediaKind
    video_kbps: int | None


@lru_cache(maxsize=64)
def mpegts(
    seconds: float = 4.0,
    *,
    width: int = 1280,
    height: int = 720,
    fps: int = 25,
    kind: MediaKind = "normal",
    video_kbps: int | None = None,
) -> bytes:
    """An MPEG-TS of ``seconds`` of test pattern and tone (see the module docstring for ``kind``).
    ``video_kbps`` asks the encoder for that average bitrate; ``None`` lets it pick by quality."""
    return _encode(_spec(seconds, width, height, fps, kind, video_kbps), offset_seconds=0.0)


@lru_cache(maxsize=16)
def hls(
    seconds_per_segment: float = 2.0,
    segments: int = 3,
    *,
    width: int = 1280,
    height: int = 720,
    fps: int = 25,
    kind: MediaKind = "normal",
    video_kbps: int | None = None,
) -> HlsPackage:
    """A VOD HLS package of ``segments`` MPEG-TS segments (the keywords are :func:`mpegts`'s).

    >>> package = hls(1.0, 2, width=320, height=180)
    >>> package.variant.splitlines()[-3:]
    ['#EXTINF:1.000,', 'seg1.ts', '#EXT-X-ENDLIST']
    """
    spec = _spec(seconds_per_segment, width, height, fps, kind, video_kbps)
    parts = tuple(
        _encode(spec, offset_seconds=_HLS_START_SECONDS + index * seconds_per_segment) for index in range(segments)
    )
    peak_bps = max(len(part) * 8 / seconds_per_segment for part in parts)
    master = (
        "#EXTM3U\n#EXT-X-VERSION:3\n"
        f"#EXT-X-STREAM-INF:BANDWIDTH={math.ceil(peak_bps)},RESOLUTION={spec.width}x{spec.height}\n"
        "variant.m3u8\n"
    )
    entries = "".join(f"#EXTINF:{seconds_per_segment:.3f},\nseg{index}.ts\n" for index in range(segments))
    variant = (
        "#EXTM3U\n#EXT-X-VERSION:3\n"
        f"#EXT-X-TARGETDURATION:{math.ceil(seconds_per_segment)}\n"
        "#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n"
        f"{entries}#EXT-X-ENDLIST\n"
    )
    return HlsPackage(master=master, variant=variant, segments=parts)


def _spec(seconds: float, width: int, height: int, fps: int, kind: MediaKind, video_kbps: int | None) -> _Spec:
    if kind == "placeholder":
        width, height = PLACEHOLDER_SIZE
        video_kbps = video_kbps or PLACEHOLDER_KBPS
    return _Spec(seconds, width, height, fps, kind, video_kbps)


def _encode(spec: _Spec, *, offset_seconds: float) -> bytes:
    """Encode ``spec`` into one MPEG-TS whose timestamps start ``offset_seconds`` in (for HLS segments)."""
    buffer = io.BytesIO()
    options = {"output_ts_offset": f"{offset_seconds:.6f}"} if offset_seconds else {}
    with av.open(buffer, "w", format="mpegts", container_options=options) as output:
        _mux(output, spec)
    return buffer.getvalue()


def _mux(output: OutputContainer, spec: _Spec) -> None:
    """Add the two streams and write the frames, each audio frame before the video frame it precedes in time."""
    video, audio = _video_stream(output, spec), _audio_stream(output)
    sounds = _audio_frames(spec)
    pending = next(sounds, None)
    for index, picture in enumerate(_video_frames(spec)):
        while pending is not None and pending.samples_before * spec.fps <= index * SAMPLE_RATE:
            output.mux(audio.encode(pending.frame))
            pending = next(sounds, None)
        output.mux(video.encode(picture))
    while pending is not None:
        output.mux(audio.encode(pending.frame))
        pending = next(sounds, None)
    output.mux(video.encode(None))
    output.mux(audio.encode(None))


def _video_stream(output: OutputContainer, spec: _Spec) -> VideoStream:
    """H.264 (or MPEG-2) with a keyframe every second, so that a probe joining anywhere decodes soon."""
    video = output.add_stream(_first_available(_VIDEO_CODECS), rate=spec.fps)
    assert isinstance(video, VideoStream)
    video.width, video.height, video.pix_fmt = spec.width, spec.height, "yuv420p"
    video.codec_context.gop_size = spec.fps
    if video.codec_context.name == "libx264":
        video.codec_context.options = {"preset": "ultrafast", "tune": "zerolatency"}
    if spec.video_kbps:
        video.bit_rate = spec.video_kbps * 1000
    return video


def _audio_stream(output: OutputContainer) -> AudioStream:
    audio = output.add_stream(_first_available(_AUDIO_CODECS), rate=SAMPLE_RATE, layout="stereo")
    assert isinstance(audio, AudioStream)
    audio.bit_rate = AUDIO_KBPS * 1000
    return audio


def _first_available(names: tuple[str, ...]) -> str:
    return next((name for name in names if name in av.codecs_available), names[-1])


def _video_frames(spec: _Spec) -> Iterator[VideoFrame]:
    """``seconds * fps`` frames with pts 0, 1, ... in a 1/fps time base."""
    size = f"size={spec.width}x{spec.height}:rate={spec.fps}"
    source = ("color", f"c=black:{size}") if spec.kind == "black" else ("testsrc2", size)
    count = round(spec.seconds * spec.fps)
    frames = _pull([source, ("format", "pix_fmts=yuv420p")], count)
    first: VideoFrame | None = None
    for index, frame in enumerate(frames):
        assert isinstance(frame, VideoFrame)
        if spec.kind == "frozen":
            first = first or frame
            frame = first
        frame.pts, frame.time_base = index, Fraction(1, spec.fps)
        yield frame


@dataclass(frozen=True, slots=True)
class _Sound:
    samples_before: int
    frame: AudioFrame


def _audio_frames(spec: _Spec) -> Iterator[_Sound]:
    """Stereo s16 frames of 1024 samples covering ``seconds``: a 440 Hz sine, or zeros when ``silent``."""
    rate = f"sample_rate={SAMPLE_RATE}"
    if spec.kind == "silent":
        source = ("anullsrc", f"channel_layout=stereo:{rate}:nb_samples={AUDIO_SAMPLES_PER_FRAME}")
    else:
        source = ("sine", f"frequency=440:{rate}:samples_per_frame={AUDIO_SAMPLES_PER_FRAME}")
    chain = [source, ("aformat", "sample_fmts=s16:channel_layouts=stereo")]
    count = math.ceil(spec.seconds * SAMPLE_RATE / AUDIO_SAMPLES_PER_FRAME)
    for index, frame in enumerate(_pull(chain, count, audio=True)):
        assert isinstance(frame, AudioFrame)
        samples_before = index * AUDIO_SAMPLES_PER_FRAME
        frame.pts, frame.time_base = samples_before, Fraction(1, SAMPLE_RATE)
        yield _Sound(samples_before, frame)


def _pull(chain: list[tuple[str, str]], count: int, *, audio: bool = False) -> Iterator[VideoFrame | AudioFrame]:
    """The first ``count`` frames out of a chain of FFmpeg source and filters (``[("sine", "..."), ...]``)."""
    graph = av.filter.Graph()
    nodes = [graph.add(name, args) for name, args in chain]
    nodes.append(graph.add("abuffersink" if audio else "buffersink"))
    for upstream, downstream in itertools.pairwise(nodes):
        upstream.link_to(downstream)
    graph.configure()
    for _ in range(count):
        frame = nodes[-1].pull()
        assert isinstance(frame, VideoFrame | AudioFrame)
        yield frame
