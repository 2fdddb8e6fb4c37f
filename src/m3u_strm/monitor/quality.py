"""The stream quality prober: what a stream really carries, measured with PyAV (FFmpeg in the wheel, no ffprobe).

:func:`probe` opens a URL (HTTP, HLS, anything FFmpeg reads), a local path, bytes or a binary file object, and
reads a bounded sample — never the whole stream:

* **Bounds.** Reading stops at whichever comes first: ``sample_seconds`` of media by timestamps (``deep_seconds``
  when deeper), ``max_bytes`` of packets, the end of the stream, or ``timeout`` seconds of wall time. FFmpeg's own
  probing during the open is held to half a second of media and the byte budget; every wait for data, to
  ``timeout``.
* **Facts.** Container, video codec, width x height, audio codec and channels from the first video and audio
  streams. ``fps`` is measured (video packets over the time their timestamps span; the container's guess only when
  the sample is too short), and so is ``bitrate_kbps`` (bytes of the sample's packets, all streams, over the time
  they span; the container's own figure when too short). ``tier`` and ``score`` come from
  :mod:`m3u_strm.catalog.quality` with the measured height and bitrate.
* **Deep check** (``deep=True``): the sample is decoded and judged by :mod:`.quality_deep` — black, frozen, silent,
  placeholder. Any flag makes the outcome ``broken``.
* **Never raises for a bad stream.** A stream that cannot be opened or read is outcome ``failed`` with
  ``error_kind`` one of ``timeout``, ``not_media`` (an HTML page, a text body, no audio or video stream),
  ``http_error`` (4xx/5xx; the status is in ``error``), ``refused``, ``reset``, ``unreachable`` or ``error``;
  ``error`` is the redacted message (:func:`m3u_strm.privacy.redaction.redact`): stream URLs carry credentials.

Blocking: it runs FFmpeg in the caller's thread; async callers wrap it (``anyio.to_thread.run_sync``).

>>> from m3u_strm.demo.media import mpegts
>>> result = probe(mpegts(1.0, width=320, height=180))
>>> result.outcome, result.video_codec, result.width, result.height, result.tier
('ok', 'h264', 320, 180, '240p')
"""

from __future__ import annotations

import io
import math
import os
import time
from dataclasses import dataclass, field, replace
from typing import IO, Literal

import av
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.packet import Packet
from av.stream import Stream
from av.video.stream import VideoStream

from m3u_strm.catalog.quality import quality_score, tier_from_height
from m3u_strm.monitor.quality_deep import DeepWatch, deep_flags
from m3u_strm.privacy.redaction import redact

__all__ = ["USER_AGENT", "ProbeOutcome", "ProbeResult", "probe"]

ProbeOutcome = Literal["ok", "broken", "failed"]
ProbeSource = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]

USER_AGENT = "m3u-strm/0.1 (quality probe)"
_MIN_MEASURED_SECONDS = 0.2
# FFmpeg's stream-parameter probing during the open decodes what it reads; half a second of media finds the codecs
# and picture size of a broadcast stream, and the sample proper (which measures fps and bitrate) is read after it.
_ANALYZE_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one probe found. ``failed``: could not open or read (``error_kind``/``error`` say why); ``broken``:
    it plays, but the deep check found it black, frozen, silent or a placeholder (``flags``)."""

    outcome: ProbeOutcome
    container: str | None = None
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    bitrate_kbps: int | None = None
    audio_codec: str | None = None
    audio_channels: int | None = None
    tier: str | None = None
    score: int | None = None
    flags: tuple[str, ...] = ()
    error: str | None = None
    elapsed_ms: int = 0
    error_kind: str | None = None


@dataclass(slots=True)
class _Tally:
    """Bytes and time span of the packets read so far, and the video packets' count and span (mutable: it lives
    for one read loop)."""

    video_index: int | None
    packets: int = 0
    bytes: int = 0
    start: float = math.inf
    end: float = -math.inf
    video_packets: int = 0
    video_first: float = math.inf
    video_last: float = -math.inf
    _time_bases: dict[int, float] = field(default_factory=dict)

    def add(self, packet: Packet[Stream]) -> None:
        self.packets += 1
        self.bytes += packet.size
        index = packet.stream.index
        base = self._time_bases.get(index)
        if base is None:
            base = self._time_bases[index] = float(packet.time_base or 0)
        if packet.pts is None or not base:
            return
        begin = packet.pts * base
        self.start = min(self.start, begin)
        self.end = max(self.end, begin + (packet.duration or 0) * base)
        if index == self.video_index:
            self.video_packets += 1
            self.video_first, self.video_last = min(self.video_first, begin), max(self.video_last, begin)

    @property
    def seconds(self) -> float:
        return max(self.end - self.start, 0.0)

    @property
    def fps(self) -> float | None:
        """Frames per second over the sample (a packet is a frame in broadcast codecs)."""
        span = self.video_last - self.video_first
        return (self.video_packets - 1) / span if self.video_packets > 1 and span > 0 else None


def probe(
    url: ProbeSource,
    *,
    timeout: float = 10.0,
    sample_seconds: float = 2.0,
    max_bytes: int = 4_000_000,
    deep: bool = False,
    deep_seconds: float = 4.0,
    headers: dict[str, str] | None = None,
) -> ProbeResult:
    """Probe one stream (see the module docstring); never raises for a bad stream.

    >>> probe(b"<html>Buy a plan</html>").error_kind
    'not_media'
    """
    started = time.monotonic()
    seconds = max(sample_seconds, deep_seconds) if deep else sample_seconds
    try:
        with _open(url, timeout=timeout, seconds=seconds, max_bytes=max_bytes, headers=headers) as container:
            result = _measure(container, seconds=seconds, max_bytes=max_bytes, deadline=started + timeout, deep=deep)
    except (av.FFmpegError, OSError, UnicodeError) as exc:
        kind = _failure_kind(exc)
        result = _failed(kind, f"{kind}: {exc}", url)
    return _with_elapsed(result, started)


def _open(
    url: ProbeSource, *, timeout: float, seconds: float, max_bytes: int, headers: dict[str, str] | None
) -> InputContainer:
    """Open for reading with every wait bounded; network options only for URLs."""
    analyze = min(seconds, _ANALYZE_SECONDS)
    budget = {
        "analyzeduration": str(int(analyze * 1_000_000)),
        "probesize": str(max(max_bytes, 32)),
        "fpsprobesize": "0",  # FFmpeg would decode frames to guess the frame rate; the sample measures it
    }
    if isinstance(url, bytes | bytearray | memoryview):
        return av.open(io.BytesIO(bytes(url)), "r", container_options=budget)
    if not isinstance(url, str | os.PathLike):
        return av.open(url, "r", container_options=budget)
    extra = dict(headers or {})
    user_agent = next((extra.pop(key) for key in list(extra) if key.casefold() == "user-agent"), USER_AGENT)
    micros = str(int(timeout * 1_000_000))
    options = budget | {"rw_timeout": micros, "timeout": micros, "user_agent": user_agent}
    if extra:
        options["headers"] = "".join(f"{name}: {value}\r\n" for name, value in extra.items())
    return av.open(os.fspath(url), "r", container_options=options, timeout=(timeout, timeout))


def _measure(container: InputContainer, *, seconds: float, max_bytes: int, deadline: float, deep: bool) -> ProbeResult:
    video = container.streams.video[0] if container.streams.video else None
    audio = container.streams.audio[0] if container.streams.audio else None
    if video is None and audio is None:
        return _failed("not_media", "not_media: no audio or video stream", container.name)
    watch = DeepWatch() if deep else None
    if video is not None and deep:
        video.thread_type = "AUTO"
    tally = _read(container, video, audio, seconds=seconds, max_bytes=max_bytes, deadline=deadline, watch=watch)
    if tally.packets == 0:
        return _failed("not_media", "not_media: no packets before the end of the stream", container.name)
    bitrate = _bitrate_kbps(tally, container)
    height = video.codec_context.height if video is not None else None
    tier = tier_from_height(height)
    flags = deep_flags(watch.stats, height=height, bitrate_kbps=bitrate) if watch else ()
    return ProbeResult(
        outcome="broken" if flags else "ok",
        container=container.format.name,
        video_codec=video.codec_context.name if video is not None else None,
        width=video.codec_context.width if video is not None else None,
        height=height,
        fps=_fps(tally, video),
        bitrate_kbps=bitrate,
        audio_codec=audio.codec_context.name if audio is not None else None,
        audio_channels=audio.codec_context.channels if audio is not None else None,
        tier=tier,
        score=quality_score(tier, bitrate) if tier else None,
        flags=flags,
    )


def _read(
    container: InputContainer,
    video: VideoStream | None,
    audio: AudioStream | None,
    *,
    seconds: float,
    max_bytes: int,
    deadline: float,
    watch: DeepWatch | None,
) -> _Tally:
    """Demux (and with a ``watch``, decode) packets until a bound is reached (see the module docstring)."""
    tally = _Tally(video_index=video.index if video is not None else None)
    for packet in container.demux([stream for stream in (video, audio) if stream is not None]):
        if packet.size == 0:  # the flush packet at the end of each stream
            continue
        tally.add(packet)
        if watch is not None:
            _decode_into(watch, packet)
        if tally.bytes >= max_bytes or tally.seconds >= seconds or time.monotonic() >= deadline:
            break
    return tally


def _decode_into(watch: DeepWatch, packet: Packet[Stream]) -> None:
    """Feed the packet's frames to the watch; a packet that fails to decode (a live stream joined mid-GOP,
    a corrupt packet) is skipped, as a player would."""
    try:
        frames = packet.decode()
    except av.error.InvalidDataError:
        return
    for frame in frames:
        if isinstance(frame, av.VideoFrame):
            watch.see(frame)
        elif isinstance(frame, av.AudioFrame):
            watch.hear(frame)


def _fps(tally: _Tally, video: VideoStream | None) -> float | None:
    """Measured over the sample; else the container's guess (less reliable: it may count fields)."""
    rate = tally.fps or (video and (video.average_rate or video.guessed_rate))
    return round(float(rate), 3) if rate else None


def _bitrate_kbps(tally: _Tally, container: InputContainer) -> int | None:
    if tally.seconds >= _MIN_MEASURED_SECONDS:
        return round(tally.bytes * 8 / tally.seconds / 1000)
    return round(container.bit_rate / 1000) if container.bit_rate else None


def _failure_kind(exc: BaseException) -> str:
    """The error kind of an exception PyAV or the network raised (see the module docstring)."""
    kinds: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
        ((av.error.ExitError, TimeoutError), "timeout"),
        ((av.error.HTTPError, av.error.HTTPClientError, av.error.HTTPServerError), "http_error"),
        ((av.error.InvalidDataError, UnicodeError), "not_media"),
        (ConnectionRefusedError, "refused"),
        ((ConnectionResetError, ConnectionAbortedError, BrokenPipeError, av.error.EOFError), "reset"),
        (OSError, "unreachable"),
    )
    return next((kind for types, kind in kinds if isinstance(exc, types)), "error")


def _failed(kind: str, message: str, url: ProbeSource) -> ProbeResult:
    where = os.fspath(url) if isinstance(url, str | os.PathLike) else "<bytes or file object>"
    text = message if where in message else f"{message} ({where})"
    return ProbeResult(outcome="failed", error=redact(text), error_kind=kind)


def _with_elapsed(result: ProbeResult, started: float) -> ProbeResult:
    return replace(result, elapsed_ms=round((time.monotonic() - started) * 1000))
