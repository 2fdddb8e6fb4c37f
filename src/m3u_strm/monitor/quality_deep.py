"""The deep check of a quality probe: decode a few seconds and name the ways a stream is "online but broken".

Video frames are looked at a few times a second (:data:`LOOKS_PER_SECOND`), each shrunk to a 64x36 grey
thumbnail (:data:`THUMBNAIL`), so the cost does not grow with the resolution beyond decoding itself. Audio is
down-mixed to mono 16-bit and its RMS level taken over the whole sample. The flags:

* ``black``: (nearly) every thumbnail (:data:`NEARLY_ALL`) has a mean luma at most :data:`BLACK_MAX_LUMA` (0..255).
* ``frozen``: (nearly) every pair of consecutive thumbnails differs by a mean absolute pixel difference of at most
  :data:`FROZEN_MAX_DIFF` — identical pictures, give or take encoder noise. A black stream is not also called
  frozen: black is the more specific cause.
* ``silent``: the audio's RMS is at most :data:`SILENT_MAX_RMS` (about -60 dBFS). A stream without audio is not
  silent: it has no audio, which the shallow probe reports (``audio_codec`` is None).
* ``placeholder``: a tiny picture (at most :data:`PLACEHOLDER_MAX_HEIGHT` lines) at a very low bitrate (at most
  :data:`PLACEHOLDER_MAX_KBPS`, audio included): a "buy a plan" card, not a channel. No channel broadcasts at
  QCIF size, so the height alone nearly decides; the bitrate keeps a real low-resolution stream with content out.

Too few looks to judge (fewer than :data:`MIN_LOOKS` thumbnails, no audio samples) flag nothing.

>>> deep_flags(DeepStats(looks=20, dark_looks=20, pairs=19, still_pairs=19), height=720, bitrate_kbps=3000)
('black',)
"""

from __future__ import annotations

import array
import math
import operator
from dataclasses import dataclass, field, replace

import av
from av.audio.frame import AudioFrame
from av.video.frame import VideoFrame

__all__ = [
    "BLACK_MAX_LUMA",
    "FROZEN_MAX_DIFF",
    "PLACEHOLDER_MAX_HEIGHT",
    "PLACEHOLDER_MAX_KBPS",
    "SILENT_MAX_RMS",
    "DeepStats",
    "DeepWatch",
    "deep_flags",
    "mean_abs_diff",
]

THUMBNAIL = (64, 36)
LOOKS_PER_SECOND = 5
MIN_LOOKS = 3
NEARLY_ALL = 0.95
BLACK_MAX_LUMA = 24.0
FROZEN_MAX_DIFF = 0.5
SILENT_MAX_RMS = 32.0
PLACEHOLDER_MAX_HEIGHT = 144
PLACEHOLDER_MAX_KBPS = 200


@dataclass(frozen=True, slots=True)
class DeepStats:
    """What the deep check saw: thumbnails looked at, how many were dark, consecutive pairs and how many of
    them were still, and the audio's sample count and sum of squares (16-bit units)."""

    looks: int = 0
    dark_looks: int = 0
    pairs: int = 0
    still_pairs: int = 0
    audio_samples: int = 0
    audio_square_sum: int = 0

    @property
    def audio_rms(self) -> float | None:
        return math.sqrt(self.audio_square_sum / self.audio_samples) if self.audio_samples else None


def deep_flags(stats: DeepStats, *, height: int | None, bitrate_kbps: int | None) -> tuple[str, ...]:
    """The flags ``stats`` earn, in the order black, frozen, silent, placeholder (see the module docstring)."""
    flags: list[str] = []
    judged = stats.looks >= MIN_LOOKS
    black = judged and stats.dark_looks >= NEARLY_ALL * stats.looks
    if black:
        flags.append("black")
    if judged and not black and stats.pairs and stats.still_pairs >= NEARLY_ALL * stats.pairs:
        flags.append("frozen")
    rms = stats.audio_rms
    if rms is not None and rms <= SILENT_MAX_RMS:
        flags.append("silent")
    tiny = height is not None and 0 < height <= PLACEHOLDER_MAX_HEIGHT
    if tiny and bitrate_kbps is not None and bitrate_kbps <= PLACEHOLDER_MAX_KBPS:
        flags.append("placeholder")
    return tuple(flags)


def mean_luma(pixels: bytes) -> float:
    """Mean of 8-bit grey pixels (0 for none)."""
    return sum(pixels) / len(pixels) if pixels else 0.0


def mean_abs_diff(first: bytes, second: bytes) -> float:
    """Mean absolute difference of two equally sized grey thumbnails, 0..255.

    >>> mean_abs_diff(bytes([0, 10]), bytes([4, 10]))
    2.0
    """
    if not first:
        return 0.0
    total: int = sum(map(abs, map(operator.sub, first, second)))
    return total / len(first)


def thumbnail(frame: VideoFrame) -> bytes:
    """The frame shrunk to a :data:`THUMBNAIL` grey picture, row padding removed."""
    width, height = THUMBNAIL
    plane = frame.reformat(width=width, height=height, format="gray").planes[0]
    data = bytes(plane)
    if plane.line_size == width:
        return data[: width * height]
    return b"".join(data[row * plane.line_size : row * plane.line_size + width] for row in range(height))


@dataclass(slots=True)
class DeepWatch:
    """Accumulates :class:`DeepStats` from decoded frames, looking at :data:`LOOKS_PER_SECOND` video frames per
    second of timestamps (every frame when frames carry no timestamp).

    Mutable on purpose: it lives for one probe, fed frame by frame, and hands back a frozen :class:`DeepStats`.
    """

    stats: DeepStats = field(default_factory=DeepStats)
    _next_look: float | None = None
    _previous: bytes | None = None
    _resampler: av.AudioResampler = field(default_factory=lambda: av.AudioResampler(format="s16", layout="mono"))

    def see(self, frame: VideoFrame) -> None:
        at = frame.time
        if at is not None and self._next_look is not None and at < self._next_look:
            return
        self._next_look = None if at is None else at + 1 / LOOKS_PER_SECOND
        pixels = thumbnail(frame)
        stats = self.stats
        dark = mean_luma(pixels) <= BLACK_MAX_LUMA
        stats = replace(stats, looks=stats.looks + 1, dark_looks=stats.dark_looks + dark)
        if self._previous is not None:
            still = mean_abs_diff(self._previous, pixels) <= FROZEN_MAX_DIFF
            stats = replace(stats, pairs=stats.pairs + 1, still_pairs=stats.still_pairs + still)
        self.stats, self._previous = stats, pixels

    def hear(self, frame: AudioFrame) -> None:
        for mono in self._resampler.resample(frame):
            samples = array.array("h", bytes(mono.planes[0])[: mono.samples * 2])
            self.stats = replace(
                self.stats,
                audio_samples=self.stats.audio_samples + len(samples),
                audio_square_sum=self.stats.audio_square_sum + sum(map(operator.mul, samples, samples)),
            )
