"""The words IPTV panels write around a channel's name, defined once for :mod:`.normalize` and :mod:`.quality`.

* **Quality tiers** — :data:`TIERS`, best first, and :func:`tier_from_height`.
* **Tags** — :func:`tag_of` reads one word (``"FHD"``, ``"1080i"``, ``"H.264"``, ``"Backup"``) as a :class:`Tag`
  of kind ``quality``, ``codec`` or ``noise``; :func:`phrase_tag` reads two (``"Not 24/7"``, ``"Multi Audio"``).
  Some words are tags only inside brackets or superscript (``[RAW]``, ``ᴿᴬᵂ``, ``[YouTube]``): outside they may be
  part of a name ("WWE Raw"). Quality aliases: UHD and 2160p -> 4K, FHD, Full HD and 1080i -> 1080p, HD and HD+
  -> 720p, QHD -> 1440p, ``<height>p``/``<height>i`` -> :func:`tier_from_height`; SD stays "SD".
* **Countries** — :func:`country_of` reads a prefix code: ISO 3166 alpha-2 (GB is written "UK"), a few three-letter
  aliases (USA, GER ...), the language prefixes EN/ES/AR/... as written, EXYU. "TV" is left out: it is a word.
* **Regions** — :data:`REGIONS`: trailing words that name a regional or language feed, canonical lower case
  ("yorks" -> "yorkshire", "en español" -> "spanish"). Brand words that look like regions ("Comedy Central") are
  not in the list.
* **Variants** — :data:`VARIANT_WORDS` (extra/xtra -> "extra"); timeshifts ``+1``..``+48`` are read by pattern.
* **Symbols** — :data:`SYMBOL_TAGS`: Free-TV's Ⓢ (not HD), Ⓖ (geo-blocked) and Ⓨ (YouTube) written as tags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

TagKind = Literal["quality", "codec", "noise"]

TIERS: tuple[str, ...] = ("8K", "4K", "1440p", "1080p", "720p", "576p", "480p", "SD", "360p", "240p")
_TIER_HEIGHTS: tuple[tuple[int, str], ...] = (
    (4320, "8K"), (2160, "4K"), (1440, "1440p"), (1080, "1080p"), (720, "720p"), (576, "576p"), (480, "480p"),
    (360, "360p"),
)  # fmt: skip
# Encoders crop to multiples of 16 (1920x1072, 1280x704): that many lines short still counts as the tier.
_HEIGHT_SLACK = 16


@dataclass(frozen=True, slots=True)
class Tag:
    kind: TagKind
    value: str  # canonical: "FHD", "HEVC", "geo-blocked"
    tier: str | None = None  # quality tags only: the tier the tag means


def tier_from_height(height: int | None) -> str | None:
    """The tier of a measured picture height: 2160 -> "4K", 1080 (or 1072) -> "1080p", 540 -> "480p".

    Heights below 360 lines are "240p", the lowest tier; None or a non-positive height is unknown (None).
    """
    if height is None or height <= 0:
        return None
    for floor, tier in _TIER_HEIGHTS:
        if height >= floor - _HEIGHT_SLACK:
            return tier
    return "240p"


def _quality(value: str, tier: str) -> Tag:
    return Tag("quality", value, tier)


_QUALITY_WORDS: dict[str, Tag] = {
    "8k": _quality("8K", "8K"), "4k": _quality("4K", "4K"), "uhd": _quality("UHD", "4K"),
    "qhd": _quality("QHD", "1440p"), "fhd": _quality("FHD", "1080p"), "fullhd": _quality("FHD", "1080p"),
    "hd": _quality("HD", "720p"), "hd+": _quality("HD", "720p"), "sd": _quality("SD", "SD"),
}  # fmt: skip
_CODEC_WORDS: dict[str, str] = {
    "hevc": "HEVC", "h265": "H265", "h.265": "H265", "x265": "H265",
    "h264": "H264", "h.264": "H264", "x264": "H264", "avc": "H264",
}  # fmt: skip
_NOISE_WORDS: dict[str, str] = {
    "backup": "backup", "bkp": "backup", "vip": "vip", "24/7": "24/7",
    "geo-blocked": "geo-blocked", "geoblocked": "geo-blocked", "geo-restricted": "geo-blocked",
    "multi-audio": "multi-audio", "multiaudio": "multi-audio", "multi-sub": "multi-sub", "multisub": "multi-sub",
}  # fmt: skip
# Words that are tags only where nothing else can be meant: inside brackets or written in superscript.
_BRACKET_ONLY_WORDS: dict[str, Tag] = {
    "raw": Tag("noise", "raw"), "youtube": Tag("noise", "youtube"), "offline": Tag("noise", "offline"),
    "multi": Tag("noise", "multi-audio"), "dolby": Tag("noise", "dolby"), "live": Tag("noise", "live"),
    "new": Tag("noise", "new"),
}  # fmt: skip
_PHRASES: dict[tuple[str, str], Tag] = {
    ("not", "24/7"): Tag("noise", "not 24/7"), ("geo", "blocked"): Tag("noise", "geo-blocked"),
    ("multi", "audio"): Tag("noise", "multi-audio"), ("multi", "sub"): Tag("noise", "multi-sub"),
    ("back", "up"): Tag("noise", "backup"), ("full", "hd"): _quality("FHD", "1080p"),
    ("ultra", "hd"): _quality("UHD", "4K"), ("h", "264"): Tag("codec", "H264"), ("h", "265"): Tag("codec", "H265"),
}  # fmt: skip
_HEIGHT_TAG = re.compile(r"(\d{3,4})([pi])(?:\d{2,3})?")
_FPS_TAG = re.compile(r"\d{2,3}fps")

SYMBOL_TAGS: dict[str, str] = {"Ⓢ": " [SD] ", "Ⓖ": " [Geo-blocked] ", "Ⓨ": " [YouTube] "}


def tag_of(word: str, *, bracketed: bool = False) -> Tag | None:
    """The tag one lower-case word stands for, or None when it is (or may be) part of a name.

    >>> tag_of("1080i")
    Tag(kind='quality', value='1080i', tier='1080p')
    >>> tag_of("raw"), tag_of("raw", bracketed=True).value
    (None, 'raw')
    """
    if word in _QUALITY_WORDS:
        return _QUALITY_WORDS[word]
    if word in _CODEC_WORDS:
        return Tag("codec", _CODEC_WORDS[word])
    if word in _NOISE_WORDS:
        return Tag("noise", _NOISE_WORDS[word])
    height = _HEIGHT_TAG.fullmatch(word)
    if height:
        return _quality(f"{height[1]}{height[2]}", tier_from_height(int(height[1])) or "240p")
    if _FPS_TAG.fullmatch(word):
        return Tag("noise", word)
    return _BRACKET_ONLY_WORDS.get(word) if bracketed else None


def phrase_tag(first: str, second: str) -> Tag | None:
    """The tag two lower-case words stand for together ("not", "24/7" -> "not 24/7"), or None."""
    return _PHRASES.get((first, second))


# ISO 3166-1 alpha-2, without "TV" (Tuvalu): in "Bounce TV" it is a word, not a country.
_ISO_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO
    FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE
    JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO
    MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM
    TN TO TR TT TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
"""
_ISO_COUNTRIES = frozenset(_ISO_CODES.split())
_COUNTRY_ALIASES: dict[str, str] = {
    "GB": "UK", "UK": "UK", "USA": "US", "GBR": "UK", "CAN": "CA", "GER": "DE", "DEU": "DE", "FRA": "FR",
    "ITA": "IT", "ESP": "ES", "POR": "PT", "NED": "NL", "EXYU": "EXYU", "EN": "EN", "LAT": "LAT",
}  # fmt: skip
# Prefixes that name a language and no country: they never keep two channels apart (see match.py). Codes that are
# both ("AR": Arabic on most panels, Argentina by ISO; "ES") do: a panel's "AR" section holds the MENA feeds.
LANGUAGE_ONLY = frozenset({"EN", "LAT"})


def country_of(code: str) -> str | None:
    """The canonical upper-case country (or language) a prefix code names: "uk" -> "UK", "USA" -> "US"; else None.

    SD is a country (Sudan) but far more often a quality tag, so it is never read as a country here.
    """
    upper = code.upper()
    if upper == "SD":
        return None
    return _COUNTRY_ALIASES.get(upper) or (upper if upper in _ISO_COUNTRIES else None)


# Trailing words naming a regional feed (longest first where one contains another); canonical value.
REGIONS: dict[tuple[str, ...], str] = {
    ("east", "midlands"): "east midlands", ("west", "midlands"): "west midlands",
    ("north", "east"): "north east", ("north", "west"): "north west", ("south", "east"): "south east",
    ("south", "west"): "south west", ("east", "yorkshire"): "east yorkshire",
    ("northern", "ireland"): "northern ireland", ("channel", "islands"): "channel islands",
    ("yorkshire", "lincolnshire"): "east yorkshire", ("east", "cumbria"): "north east", ("cumbria",): "north east",
    ("north", "america"): "north america", ("latin", "america"): "latin america", ("middle", "east"): "middle east",
    ("east",): "east", ("west",): "west", ("north",): "north", ("south",): "south", ("pacific",): "pacific",
    ("mountain",): "mountain", ("atlantic",): "atlantic", ("ontario",): "ontario", ("london",): "london",
    ("scotland",): "scotland", ("wales",): "wales", ("yorkshire",): "yorkshire", ("yorks",): "yorkshire",
    ("midlands",): "midlands", ("europe",): "europe", ("asia",): "asia", ("africa",): "africa",
    ("latam",): "latin america", ("international",): "international", ("internacional",): "international",
    # Language feeds share an EPG id as regional feeds do ("France24.fr@Arabic"), so they are kept apart alike.
    ("english",): "english", ("arabic",): "arabic", ("french",): "french", ("francais",): "french",
    ("german",): "german", ("deutsch",): "german", ("spanish",): "spanish", ("espanol",): "spanish",
    ("en", "espanol"): "spanish", ("russian",): "russian", ("portuguese",): "portuguese",
}  # fmt: skip
VARIANT_WORDS: dict[str, str] = {"extra": "extra", "xtra": "extra"}
# After a brand word: "Sky Sports One", "Rai Uno", "Canale Cinque", "La Dos", "RTL Zwei", "RTL II".
NUMBER_WORDS: dict[str, str] = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "ii": "2", "iii": "3", "uno": "1", "due": "2", "tre": "3", "quattro": "4",
    "cinque": "5", "dos": "2", "tres": "3", "eins": "1", "zwei": "2", "drei": "3",
}  # fmt: skip
