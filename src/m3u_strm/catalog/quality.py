"""A stream's resolution tier, guessed from its name and URL, and the score that ranks streams by it.

* **Name first.** The quality tag :func:`~m3u_strm.catalog.normalize.normalize_name` found (same vocabulary, see
  :mod:`.vocabulary`): UHD, 2160p and "4K UHD" -> 4K; FHD, Full HD, 1080i -> 1080p; HD and HD+ -> 720p; SD -> SD;
  ``<height>p``/``<height>i`` -> :func:`tier_from_height` (540p -> 480p). Several tags: the best tier.
* **Then the URL path** (never the host, query or credentials), split into words at every non-alphanumeric
  character: a word that is a quality tag (``/1080p/``, ``hd.m3u8``, ``_uhd_``, ``-4k``) or a standard height
  (240 ... 4320) beside another word of its path segment (``stream_720.m3u8``). A whole segment that is a number
  (``/live/u/p/720.ts``) is a stream id, not a height; words that merely contain a tag ("hdtv", "shd") say
  nothing. The last hint in the path wins: the file name is more specific than a folder.
* **Score** (:func:`quality_score`): the tier's :data:`TIER_SCORES` entry (an unknown tier scores 0) plus up to 50
  for the measured bitrate: 50 at or above the tier's floor (:data:`BITRATE_FLOORS_KBPS`), else
  ``int(50 * bitrate / floor)``; no bitrate, no bonus. A bonus never lifts a stream past the next tier (100 apart).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from m3u_strm.catalog.normalize import NormalizedName, normalize_name
from m3u_strm.catalog.vocabulary import TIERS, tag_of, tier_from_height

__all__ = [
    "BITRATE_FLOORS_KBPS",
    "TIER_SCORES",
    "QualityGuess",
    "quality_from_name",
    "quality_score",
    "tier_from_height",
]

TIER_SCORES: dict[str, int] = {
    "8K": 1000, "4K": 900, "1440p": 800, "1080p": 700, "720p": 600, "576p": 500, "480p": 400, "SD": 300,
    "360p": 200, "240p": 100,
}  # fmt: skip
# Defined for 4K, 1080p, 720p, 480p and 360p; every other tier borrows the floor named beside it.
BITRATE_FLOORS_KBPS: dict[str, int] = {
    "8K": 15_000,  # 4K's
    "4K": 15_000,
    "1440p": 5_000,  # 1080p's
    "1080p": 5_000,
    "720p": 2_500,
    "576p": 1_000,  # 480p's
    "480p": 1_000,
    "SD": 1_000,  # 480p's
    "360p": 500,
    "240p": 500,  # 360p's
}
_BITRATE_BONUS = 50
_TIER_ALIASES: dict[str, str] = {tier.casefold(): tier for tier in TIERS}
_URL_WORDS = re.compile(r"[a-z0-9]+")
_BARE_HEIGHTS = frozenset({"240", "360", "480", "576", "720", "1080", "1440", "2160", "4320"})
_FILE_EXTENSION = re.compile(r"\.[a-z0-9]{1,5}$")


@dataclass(frozen=True, slots=True)
class QualityGuess:
    tier: str | None  # "8K", "4K", "1440p", "1080p", "720p", "576p", "480p", "SD", "360p", "240p"
    source: Literal["name", "url"] | None
    score: int  # quality_score(tier, None)


def quality_from_name(name: str, url: str | None = None, *, normalized: NormalizedName | None = None) -> QualityGuess:
    """The tier a stream's name promises, else the one its URL path hints at. Pass ``normalized`` when the name
    was normalised already (the merge does, for every stream).

    >>> quality_from_name("UK: Sky Sports 1 FHD")
    QualityGuess(tier='1080p', source='name', score=700)
    >>> quality_from_name("Sky Sports 1", "http://host/live/u/p/sky_720.m3u8").tier
    '720p'
    """
    tag = (normalized or normalize_name(name)).quality
    tier = _tier_of_tag(tag) if tag else None
    if tier:
        return QualityGuess(tier, "name", quality_score(tier))
    tier = _tier_from_url(url) if url else None
    return QualityGuess(tier, "url" if tier else None, quality_score(tier))


def quality_score(tier: str | None, bitrate_kbps: int | None = None) -> int:
    """Tier score plus the bitrate bonus (see the module docstring); tier names are read case-blind ("fhd" too).

    >>> quality_score("1080p"), quality_score("1080p", 2_500), quality_score("FHD", 8_000), quality_score(None, 900)
    (700, 725, 750, 0)
    """
    canonical = _canonical_tier(tier)
    if canonical is None:
        return 0
    score = TIER_SCORES[canonical]
    if bitrate_kbps is None:
        return score
    floor = BITRATE_FLOORS_KBPS[canonical]
    if bitrate_kbps >= floor:
        return score + _BITRATE_BONUS
    return score + int(_BITRATE_BONUS * max(bitrate_kbps, 0) / floor)


def _canonical_tier(tier: str | None) -> str | None:
    """ "1080p" -> "1080p", "fhd" -> "1080p", "2160p" -> "4K", "junk" -> None."""
    if not tier:
        return None
    return _TIER_ALIASES.get(tier.casefold()) or _tier_of_tag(tier)


def _tier_of_tag(tag: str) -> str | None:
    found = tag_of(tag.casefold(), bracketed=True)
    return found.tier if found and found.kind == "quality" else None


def _tier_from_url(url: str) -> str | None:
    """The tier the last quality word of the URL path names (see the module docstring)."""
    segments = [segment for segment in urlsplit(url.casefold()).path.split("/") if segment]
    if segments:
        segments[-1] = _FILE_EXTENSION.sub("", segments[-1])
    found = None
    for segment in segments:
        words = _URL_WORDS.findall(segment)
        for word in words:
            tier = _tier_of_tag(word)
            if tier is None and len(words) > 1 and word in _BARE_HEIGHTS:
                tier = tier_from_height(int(word))
            found = tier or found
    return found
