"""normalize_name: what identifies a channel (key, region, variant, number, country) and what describes a stream.

The expectations are written from how panels and iptv-org spell channels, not read off the function; the rules
they exercise are listed in the docstring of :mod:`m3u_strm.catalog.normalize`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from m3u_strm.catalog.normalize import normalize_name, normalize_tvg_id

# name, key, country, region, variant, number, quality
ROWS: list[tuple[str, str, str | None, str | None, str | None, str | None, str | None]] = [
    ("UK: Sky Sports 1 HD", "sky sports 1", "UK", None, None, "1", "HD"),
    ("|UK| SKY SPORTS 1 FHD", "sky sports 1", "UK", None, None, "1", "FHD"),
    ("UK - Sky Sports 1", "sky sports 1", "UK", None, None, "1", None),
    ("[UK] Sky Sports 1", "sky sports 1", "UK", None, None, "1", None),
    ("UK| Sky Sports 1", "sky sports 1", "UK", None, None, "1", None),
    ("(UK) Sky Sports 1", "sky sports 1", "UK", None, None, "1", None),
    ("UK ▎ SKY SPORTS 1 ᴴᴰ", "sky sports 1", "UK", None, None, "1", "HD"),
    ("UK ★ Sky Sports 1", "sky sports 1", "UK", None, None, "1", None),
    ("uk: sky sports 1", "sky sports 1", "UK", None, None, "1", None),
    ("US/CA: TSN 1", "tsn 1", "US", None, None, "1", None),
    ("UK-BBC One", "bbc 1", "UK", None, None, "1", None),
    ("Al-Jazeera", "al jazeera", None, None, None, None, None),
    ("AL-HAYAT TV", "al hayat tv", None, None, None, None, None),
    ("BS-TBS", "bs tbs", None, None, None, None, None),
    ("GB: BBC Two", "bbc 2", "UK", None, None, "2", None),
    ("USA: CNN", "cnn", "US", None, None, None, None),
    ("EX-YU: RTS 1", "rts 1", "EXYU", None, None, "1", None),
    ("🇬🇧 Sky News", "sky news", "UK", None, None, None, None),
    ("Sky Sports 1 | HD | UK", "sky sports 1", "UK", None, None, "1", "HD"),
    ("Tennis Channel (UK) (720p)", "tennis channel", "UK", None, None, None, "720p"),
    ("CNBC UK", "cnbc uk", None, None, None, None, None),
    ("Bounce TV", "bounce tv", None, None, None, None, None),
    ("It's Anime", "its anime", None, None, None, None, None),
    ("Sky Sports 1 (Backup)", "sky sports 1", None, None, None, "1", None),
    ("Sky Sports One", "sky sports 1", None, None, None, "1", None),
    ("SKY SPORTS 1HD", "sky sports 1", None, None, None, "1", "HD"),
    ("ESPN2", "espn 2", None, None, None, "2", None),
    ("ESPN", "espn", None, None, None, None, None),
    ("US: ESPN 2 HD", "espn 2", "US", None, None, "2", "HD"),
    ("Sky Sports F1", "sky sports f1", None, None, None, None, None),
    ("Film4 (HEVC)", "film 4", None, None, None, "4", None),
    ("5USA", "5 usa", None, None, None, "5", None),
    ("RTL II", "rtl 2", None, None, None, "2", None),
    ("Rai Uno", "rai 1", None, None, None, "1", None),
    ("One", "one", None, None, None, None, None),
    ("Sat.1", "sat 1", None, None, None, "1", None),
    ("n-tv", "n tv", None, None, None, None, None),
    ("That's 70s", "thats 70s", None, None, None, None, None),
    ("Horse & Country TV", "horse country tv", None, None, None, None, None),
    ("Law and Order", "law order", None, None, None, None, None),
    ("BBC One +1", "bbc 1 +1", None, None, "+1", "1", None),
    ("E4 +1", "e4 +1", None, None, "+1", None, None),
    ("E4+1", "e4 +1", None, None, "+1", None, None),
    ("UK: ITV+1", "itv +1", "UK", None, "+1", None, None),
    ("SKY CINEMA PREMIERE +1 FHD", "sky cinema premiere +1", None, None, "+1", None, "FHD"),
    ("Россия 1 (+4) (1080p)", "россия 1 +4", None, None, "+4", "1", "1080p"),
    ("1+1 International", "1 plus 1 international", None, "international", None, "1", None),
    ("2+2 Ⓢ", "2 plus 2", None, None, None, "2", "SD"),
    ("HBO +", "hbo", None, None, None, None, None),
    ("Canal+ Cinéma", "canal plus cinema", None, None, None, None, None),
    ("CANAL PLUS CINEMA", "canal plus cinema", None, None, None, None, None),
    ("QVC Extra", "qvc extra", None, None, "extra", None, None),
    ("beIN SPORTS XTRA (1080p)", "bein sports extra", None, None, "extra", None, "1080p"),
    ("Sportsnet West", "sportsnet west", None, "west", None, None, None),
    ("CA: Sportsnet (East)", "sportsnet east", "CA", "east", None, None, None),
    ("Fox (EAST)", "fox east", None, "east", None, None, None),
    ("BBC One North West (1080p)", "bbc 1 north west", None, "north west", None, "1", "1080p"),
    ("BBC One Yorks (720p) [Geo-blocked]", "bbc 1 yorkshire", None, "yorkshire", None, "1", "720p"),
    ("BBC One Yorkshire & Lincolnshire", "bbc 1 east yorkshire", None, "east yorkshire", None, "1", None),
    ("National Geographic HD East (720p)", "national geographic east", None, "east", None, None, "720p"),
    ("BBC News North America", "bbc news north america", None, "north america", None, None, None),
    ("Al Jazeera Arabic", "al jazeera arabic", None, "arabic", None, None, None),
    ("Comedy Central en Español", "comedy central spanish", None, "spanish", None, None, None),
    ("EN: CNN International", "cnn international", "EN", "international", None, None, None),
    ("Comedy Central", "comedy central", None, None, None, None, None),
    ("Россия 1 (Уфа)", "россия 1 уфа", None, None, None, "1", None),
    ("Channel (1080p) [Geo-blocked]", "channel", None, None, None, None, "1080p"),
    ("BBC Four HD (1080p) (HEVC) [Geo-blocked]", "bbc 4", None, None, None, "4", "1080p"),
    ("Kanali 7 Ⓢ", "kanali 7", None, None, None, "7", "SD"),
    ("Sky Sports Main Event 4K UHD", "sky sports main event", None, None, None, None, "4K"),
    ("UHD: Sky Sports Main Event", "sky sports main event", None, None, None, None, "UHD"),
    ("VIP | UK | Sky Sports Main Event", "sky sports main event", "UK", None, None, None, None),
    ("Nick HD+", "nick", None, None, None, None, "HD"),
    ("Das Erste (1080i)", "das erste", None, None, None, None, "1080i"),
    ("24/7: Friends", "friends", None, None, None, None, None),
    ("The Simpsons 24/7", "the simpsons", None, None, None, None, None),
    ("Discovery Science [Not 24/7]", "discovery science", None, None, None, None, None),
    ("CNN (Multi-Audio)", "cnn", None, None, None, None, None),
    ("ＢＢＣ Ｏｎｅ", "bbc 1", None, None, None, "1", None),  # noqa: RUF001 (full-width on purpose)
    ("Nick Jr.™", "nick jr", None, None, None, None, None),
    ("HD", "hd", None, None, None, None, "HD"),
]
IDS = [
    "colon-prefix", "bar-prefix-caps", "dash-prefix", "bracket-prefix", "bar-after-code", "paren-prefix",
    "bar-glyph-superscript-hd", "star-prefix", "lower-case-prefix", "two-countries-first-wins", "glued-hyphen-prefix",
    "arabic-article-is-no-prefix", "arabic-article-caps-is-no-prefix", "glued-hyphen-one-word-is-a-name",
    "gb-is-uk", "usa-is-us", "ex-yu", "flag-emoji", "suffix-country-after-tags", "bracket-country-suffix",
    "bare-trailing-code-is-a-word", "tv-is-not-tuvalu", "apostrophe-is-no-separator", "backup-noise",
    "number-word", "quality-glued-to-number", "glued-number", "no-number", "spaced-number-and-hd",
    "f1-stays-whole", "film4-splits", "number-glued-before-word", "roman-numeral", "italian-number-word",
    "number-word-alone-stays", "dot-between", "hyphen-inside", "apostrophe-and-decade", "ampersand",
    "and-dropped", "timeshift", "timeshift-after-short-brand", "glued-timeshift", "glued-timeshift-after-letters",
    "timeshift-before-tag", "cyrillic-bracketed-timeshift", "number-plus-number-is-a-brand", "two-plus-two-brand",
    "lone-plus-is-decoration", "attached-plus-and-accent", "plus-spelled-out", "extra-variant", "xtra-variant",
    "region-west", "region-in-brackets", "region-in-caps-brackets", "two-word-region", "region-alias-yorks",
    "region-phrase-lincolnshire", "region-after-quality", "region-north-america", "language-feed",
    "language-feed-two-words", "language-prefix-and-international", "central-is-a-brand-word",
    "unknown-region-stays-in-key", "iptv-org-style", "best-quality-and-codec", "free-tv-sd-marker",
    "4k-uhd", "quality-prefix", "vip-then-country-prefix", "hd-plus", "interlaced-height", "24-7-prefix",
    "24-7-suffix", "not-24-7", "multi-audio", "full-width", "trademark-dropped", "tag-only-name-keeps-key",
]  # fmt: skip


@pytest.mark.parametrize(("name", "key", "country", "region", "variant", "number", "quality"), ROWS, ids=IDS)
def test_name_normalises(
    name: str, key: str, country: str | None, region: str | None, variant: str | None, number: str | None,
    quality: str | None,
) -> None:  # fmt: skip
    got = normalize_name(name)
    assert (got.key, got.country, got.region, got.variant, got.number, got.quality) == (
        key, country, region, variant, number, quality
    )  # fmt: skip


DISPLAY_ROWS = [
    ("|UK| SKY SPORTS ONE FHD (Backup)", "SKY SPORTS ONE", "sky sports 1", None, ("backup",)),
    ("BBC One +1 HD", "BBC One +1", "bbc 1", None, ()),
    ("Sportsnet West", "Sportsnet West", "sportsnet", None, ()),
    ("BBC Alba (1080p) (HEVC) [Geo-blocked]", "BBC Alba", "bbc alba", "HEVC", ("geo-blocked",)),
    ("Sky Sports 1 H.264", "Sky Sports 1", "sky sports 1", "H264", ()),
    ("Sky Sports 1 H265 50fps", "Sky Sports 1", "sky sports 1", "H265", ("50fps",)),
    ("UK ▎ SKY NEWS ᴿᴬᵂ", "SKY NEWS", "sky news", None, ("raw",)),
    ("WWE Raw", "WWE Raw", "wwe raw", None, ()),
    ("Arte Ⓖ Ⓨ", "Arte", "arte", None, ("geo-blocked", "youtube")),
    ("VIP: Sky Sports 1 (Backup 2) [Not 24/7]", "Sky Sports 1", "sky sports 1", None, ("backup", "not 24/7", "vip")),
    ("Россия 1 (Уфа)", "Россия 1 (Уфа)", "россия 1 уфа", None, ()),
    ("HD", "HD", "hd", None, ()),
]  # fmt: skip
DISPLAY_IDS = [
    "caps-display-kept", "variant-stays-in-display", "base-drops-region", "hevc-and-geo-blocked", "h264",
    "h265-and-fps", "superscript-raw", "raw-outside-brackets-is-a-word", "free-tv-markers",
    "vip-backup-number-not-24-7", "kept-bracket-group", "display-falls-back-to-name",
]  # fmt: skip


@pytest.mark.parametrize(("name", "display", "base", "codec", "tags"), DISPLAY_ROWS, ids=DISPLAY_IDS)
def test_display_base_codec_and_tags(
    name: str, display: str, base: str, codec: str | None, tags: tuple[str, ...]
) -> None:
    normalized = normalize_name(name)
    assert (normalized.display, normalized.base, normalized.codec, normalized.tags) == (display, base, codec, tags)
    assert normalized.original == name


TVG_ROWS = [
    ("BBCOne.uk@London", "bbcone.uk"), (" ESPN.us ", "espn.us"), ("TinyPop.uk@Plus1", "tinypop.uk"),
    ("ITV1.uk@SD", "itv1.uk"), ("Rete.4.it", "rete.4.it"), ("", None), ("   ", None), (None, None),
    ("none", None), ("NULL", None), ("@HD", None),
]  # fmt: skip
TVG_IDS = [
    "feed-dropped", "padding-and-case", "plus1-feed-dropped", "sd-feed-dropped", "dots-kept", "empty", "blank",
    "missing", "placeholder-none", "placeholder-null", "feed-only",
]  # fmt: skip


@pytest.mark.parametrize(("tvg_id", "expected"), TVG_ROWS, ids=TVG_IDS)
def test_tvg_id_normalises(tvg_id: str | None, expected: str | None) -> None:
    assert normalize_tvg_id(tvg_id) == expected


DISTINCT = [
    ("Sportsnet West", "Sportsnet East"), ("BBC One", "BBC One +1"), ("Sky Sports 1", "Sky Sports 2"),
    ("ESPN", "ESPN 2"), ("Sky Sports 1", "Sky Sports F1"), ("Fox News", "Fox Sports"), ("CNN", "CNN International"),
    ("Discovery", "Discovery Science"), ("Россия 1", "Россия 1 (+2)"), ("BBC News", "BBC News Europe"),
    ("1+1", "1"), ("Canal+", "Canal"),
]  # fmt: skip
DISTINCT_IDS = [
    "east-west", "timeshift", "numbered-siblings", "number-or-none", "f1-is-not-1", "news-sports", "international",
    "science", "cyrillic-timeshift", "europe-feed", "plus-brand", "plus-is-a-word",
]  # fmt: skip


@pytest.mark.parametrize(("first", "second"), DISTINCT, ids=DISTINCT_IDS)
def test_distinct_channels_get_distinct_keys(first: str, second: str) -> None:
    assert normalize_name(first).key != normalize_name(second).key


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_a_non_empty_name_never_gets_an_empty_key(name: str) -> None:
    normalized = normalize_name(name)
    assert normalized.key
    assert normalized.base
    assert normalized.display


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["UK: ", "|UK| ", "UK ▎ ", "[UK] ", "UK - ", ""]),
    st.sampled_from(["Sky Sports Main Event", "BBC One", "Sportsnet West", "ESPN 2", "Canal+ Cinéma"]),
    st.sampled_from(["", " HD", " FHD", " ᴴᴰ", " (1080p)", " 4K UHD", " HEVC", " (Backup)", " [Geo-blocked]"]),
    st.booleans(),
)
def test_prefixes_tags_and_case_never_change_the_key(prefix: str, brand: str, suffix: str, upper: bool) -> None:
    written = f"{prefix}{brand.upper() if upper else brand}{suffix}"
    assert normalize_name(written).key == normalize_name(brand).key


def _real_names() -> list[str]:
    """Every #EXTINF title of the shared real playlists (iptv-org, Free-TV); empty when they are not here."""
    beside_repo = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    root = Path(os.environ.get("M3U_STRM_SHARED_DATA", beside_repo)) / "real_m3u"
    titles = set()
    for path in sorted(root.rglob("*.m3u*")) if root.is_dir() else []:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("#EXTINF") and "," in line:
                titles.add(line.rsplit(",", 1)[1].strip())
    return sorted(title for title in titles if title)


def test_every_real_name_normalises_cleanly() -> None:
    names = _real_names()
    if not names:
        pytest.skip("the shared real playlists are not here (set M3U_STRM_SHARED_DATA)")
    edge_junk = re.compile(r"^[|:\-▎★•]|[|:\-▎★•]$")
    for name in names:
        normalized = normalize_name(name)
        assert normalized.key and normalized.key == normalized.key.strip(), name
        assert normalized.key == normalized.key.casefold(), name
        assert not edge_junk.search(normalized.display), name
        assert "(1080p)" not in normalized.display and "[Geo-blocked]" not in normalized.display, name
