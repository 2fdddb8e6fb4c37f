"""Resolution tier from a stream's name, then its URL path, and the score that ranks streams by it."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from m3u_strm.catalog.quality import (
    BITRATE_FLOORS_KBPS,
    TIER_SCORES,
    QualityGuess,
    quality_from_name,
    quality_score,
    tier_from_height,
)
from m3u_strm.catalog.vocabulary import TIERS

TIER_ROWS = [
    ("UK: Sky Sports 1 UHD", None, "4K", "name"),
    ("Sky Sports Main Event 4K UHD", None, "4K", "name"),
    ("Sky Sports Main Event 8K", None, "8K", "name"),
    ("ZDF (2160p)", None, "4K", "name"),
    ("|UK| SKY SPORTS 1 FHD", None, "1080p", "name"),
    ("Das Erste (1080i)", None, "1080p", "name"),
    ("RTL Full HD", None, "1080p", "name"),
    ("UK ▎ SKY SPORTS 1 ᴴᴰ", None, "720p", "name"),
    ("Nick HD+", None, "720p", "name"),
    ("BBC Two HD (720p)", None, "720p", "name"),
    ("BBC Four HD (1080p) (HEVC)", None, "1080p", "name"),
    ("QVC UK (540p)", None, "480p", "name"),
    ("ITV2 (576i)", None, "576p", "name"),
    ("Kanali 7 Ⓢ", None, "SD", "name"),
    ("US: ESPN SD", None, "SD", "name"),
    ("Garshom TV (360p)", None, "360p", "name"),
    ("ATV (160p)", None, "240p", "name"),
    ("Antena Stars (1280p)", None, "1080p", "name"),
    ("Sky Sports 1 FHD", "http://host/live/u/p/sky_720.m3u8", "1080p", "name"),
    ("Sky Sports 1", "http://host/hls/1080p/index.m3u8", "1080p", "url"),
    ("Sky Sports 1", "http://host/live/u/p/stream_720.m3u8", "720p", "url"),
    ("Sky Sports 1", "http://host/channels/hd.m3u8", "720p", "url"),
    ("Sky Sports 1", "http://host/channels/sky-sports-1-uhd/playlist.m3u8", "4K", "url"),
    ("Sky Sports 1", "http://host/4k/sky.ts", "4K", "url"),
    ("Sky Sports 1", "http://host/sd/480p/sky_1080p.m3u8", "1080p", "url"),
    ("Sky Sports 1", "http://host:8080/live/user/pass/720.ts", None, None),
    ("Sky Sports 1", "http://host/live/1080/index.m3u8", None, None),
    ("Sky Sports 1", "http://host/hdtv/shd/index.m3u8", None, None),
    ("Sky Sports 1", "http://hd.provider.example/live/stream.m3u8", None, None),
    ("Sky Sports 1", "http://host/live/stream.m3u8?quality=1080p&password=hd", None, None),
    ("Sky Sports 1", "http://host/archive/news_2024.ts", None, None),
    ("Sky Sports 1", None, None, None),
    ("WWE Raw", "", None, None),
]  # fmt: skip
TIER_IDS = [
    "uhd", "4k-uhd", "8k", "2160p", "fhd", "1080i", "full-hd", "superscript-hd", "hd-plus", "hd-and-720p",
    "best-of-hd-and-1080p", "540p-is-480p", "576i", "free-tv-sd", "sd", "360p", "below-240-is-240p",
    "1280p-is-1080p", "name-before-url", "url-folder", "url-bare-height-beside-word", "url-hd-file",
    "url-uhd-word", "url-4k-folder", "url-last-hint-wins", "url-stream-id-is-not-a-height",
    "url-numeric-folder-is-not-a-height", "url-words-containing-hd-say-nothing", "url-host-ignored",
    "url-query-ignored", "url-year-is-not-a-height", "no-url", "empty-url",
]  # fmt: skip


@pytest.mark.parametrize(("name", "url", "tier", "source"), TIER_ROWS, ids=TIER_IDS)
def test_tier_from_name_then_url(name: str, url: str | None, tier: str | None, source: str | None) -> None:
    guess = quality_from_name(name, url)
    assert (guess.tier, guess.source) == (tier, source)
    assert guess.score == quality_score(tier)


SCORE_ROWS = [
    ("8K", None, 1000), ("4K", None, 900), ("2160p", None, 900), ("1440p", None, 800), ("1080p", None, 700),
    ("FHD", None, 700), ("720p", None, 600), ("HD", None, 600), ("576p", None, 500), ("480p", None, 400),
    ("SD", None, 300), ("360p", None, 200), ("240p", None, 100), (None, None, 0), ("junk", None, 0),
    (None, 9_000, 0), ("1080p", 5_000, 750), ("1080p", 20_000, 750), ("1080p", 2_500, 725),
    ("1080p", 0, 700), ("1080p", -10, 700), ("4K", 7_500, 925), ("8K", 15_000, 1050), ("1440p", 2_500, 825),
    ("720p", 1_250, 625), ("576p", 500, 525), ("SD", 999, 349), ("240p", 250, 125), ("360p", 500, 250),
]  # fmt: skip
SCORE_IDS = [
    "8k", "4k", "2160p-alias", "1440p", "1080p", "fhd-alias", "720p", "hd-alias", "576p", "480p", "sd",
    "360p", "240p", "unknown", "junk", "unknown-with-bitrate", "at-floor", "above-floor", "half-floor",
    "zero-bitrate", "negative-bitrate", "4k-half", "8k-uses-4k-floor", "1440p-uses-1080p-floor",
    "720p-half", "576p-uses-480p-floor", "sd-uses-480p-floor-truncates", "240p-uses-360p-floor",
    "360p-at-floor",
]  # fmt: skip


@pytest.mark.parametrize(("tier", "bitrate", "score"), SCORE_ROWS, ids=SCORE_IDS)
def test_quality_score(tier: str | None, bitrate: int | None, score: int) -> None:
    assert quality_score(tier, bitrate) == score


HEIGHT_ROWS = [
    (4320, "8K"), (2160, "4K"), (2176, "4K"), (1440, "1440p"), (1080, "1080p"), (1088, "1080p"),
    (1072, "1080p"), (720, "720p"), (704, "720p"), (576, "576p"), (540, "480p"), (480, "480p"), (404, "360p"),
    (360, "360p"), (288, "240p"), (144, "240p"), (0, None), (-1, None), (None, None),
]  # fmt: skip
HEIGHT_IDS = [
    "4320", "2160", "2176", "1440", "1080", "1088", "1072-cropped", "720", "704-cropped", "576", "540",
    "480", "404", "360", "288", "144", "zero", "negative", "unknown",
]  # fmt: skip


@pytest.mark.parametrize(("height", "tier"), HEIGHT_ROWS, ids=HEIGHT_IDS)
def test_tier_from_height(height: int | None, tier: str | None) -> None:
    assert tier_from_height(height) == tier


def test_tier_scores_rank_the_tiers_best_first_a_hundred_apart() -> None:
    assert list(TIER_SCORES) == list(TIERS)
    scores = [TIER_SCORES[tier] for tier in TIERS]
    assert scores == sorted(scores, reverse=True)
    assert {first - second for first, second in itertools.pairwise(scores)} == {100}
    assert set(BITRATE_FLOORS_KBPS) == set(TIERS)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(TIERS), st.one_of(st.none(), st.integers(min_value=-1000, max_value=100_000)))
def test_a_bitrate_bonus_never_lifts_a_stream_into_the_next_tier(tier: str, bitrate: int | None) -> None:
    score = quality_score(tier, bitrate)
    assert TIER_SCORES[tier] <= score <= TIER_SCORES[tier] + 50


def test_a_guess_says_where_it_came_from() -> None:
    assert quality_from_name("Sky Sports 1", "http://host/x/1080p/a.ts") == QualityGuess("1080p", "url", 700)
