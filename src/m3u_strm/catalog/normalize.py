"""Channel names as IPTV panels write them, reduced to what identifies the channel: :func:`normalize_name`.

"UK: Sky Sports 1 HD", "|UK| SKY SPORTS 1 FHD", "UK ▎ SKY SPORTS 1 ᴴᴰ" and "Sky Sports 1 (Backup)" all have the key
"sky sports 1". The rules, in the order they apply (the words themselves live in :mod:`.vocabulary`):

1. **Symbols.** Free-TV's Ⓢ/Ⓖ/Ⓨ become the tags SD/geo-blocked/youtube; a run of superscript letters (ᴴᴰ, ᴿᴬᵂ)
   is a bracketed tag; a flag emoji (🇬🇧) names the country; other circled letters, ™, ® and © are dropped; then
   NFKC (full-width letters, ligatures).
2. **Brackets.** A ``(...)``, ``[...]`` or ``{...}`` group made only of tags — ``(1080p)``, ``[Geo-blocked]``,
   ``[Not 24/7]``, ``(Backup 2)``, ``(Multi-Audio)``, ``(HEVC)`` — is removed and its tags kept; an upper-case
   country code ``(UK)`` gives the country. Any other group stays ("Россия 1 (Уфа)").
3. **Prefixes**, repeatedly: a country or tag followed by a separator — ``UK:``, ``|UK|``, ``UK -``, ``UK|``,
   ``UK ▎``, ``UK ★``, ``US/CA:`` (the first code wins), ``VIP |``, ``4K:``, ``24/7:``. A code glued to a hyphen
   must be upper case, not the Arabic article and followed by two or more words ("UK-BBC One"), so "Al-Jazeera",
   "AL-HAYAT", "BS-TBS" and "IT-3" stay names. A bare code without a separator stays a word.
4. **Tag words** anywhere: quality (SD HD HD+ FHD UHD 4K 8K 1080p 720p 1080i ...), codecs (HEVC, H265, H.264),
   noise (Backup, VIP, Geo-blocked, Multi-Audio, 24/7, 50fps), two-word tags ("Not 24/7", "Full HD"), a quality
   glued to a number ("1HD"), ``HD/FHD``. A trailing ``| UK`` gives the country; a bare trailing "UK" does not
   ("CNBC UK" is a feed of its own).
5. **Display** is what is left without words that are only separators or decoration (a lone ``+``: "HBO +"),
   spacing collapsed, ends trimmed, original casing kept.
6. **Key** from the display: NFKD, accents stripped, casefolded. ``+1``..``+48`` is the timeshift variant, glued
   ("ITV+1", "E4+1") or not, except after a name that is only a number ("1+1", "2+2" are brands); any other ``+``
   after a word is "plus" ("Canal+" = "Canal Plus"); ``&``, "and" and apostrophes go; other punctuation becomes a
   space. A number glued after 2+ letters is split off ("ESPN2" = "ESPN 2"; "F1" and "E4" stay whole), and so is
   a word of 3+ letters glued after a number ("5USA"). A trailing "extra"/"xtra" is a variant; trailing region or
   language words ("West", "North West", "Yorks", "English") are the region. Number words after the first word
   become digits (one..ten, ii, iii, uno, due, tre, dos, eins, zwei ...): "Sky Sports One" = "Sky Sports 1",
   and "BBC One +1" has the key "bbc 1 +1" and the base "bbc 1". The key is ``base [region] [variant]``.
7. **Never empty**: a name whose key would be empty keeps its casefolded self as key.

``number`` is the last all-digit word of the base ("2" in "ESPN 2"), so "Sky Sports F1" has none.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from m3u_strm.catalog.vocabulary import (
    NUMBER_WORDS,
    REGIONS,
    SYMBOL_TAGS,
    TIERS,
    VARIANT_WORDS,
    Tag,
    country_of,
    phrase_tag,
    tag_of,
)

__all__ = ["NormalizedName", "fold", "normalize_name", "normalize_tvg_id"]


@dataclass(frozen=True, slots=True)
class NormalizedName:
    original: str
    display: str  # cleaned name for people, original casing kept: "Sky Sports 1"
    key: str  # match key: "sky sports 1", "bbc 1 +1"
    base: str  # key without region and variant words: "bbc 1"
    country: str | None  # "UK", "US", "EN" ... from a prefix or suffix
    region: str | None  # "east", "north west", "london" ...
    variant: str | None  # "+1", "+2", "extra"
    number: str | None  # "1" in "Sky Sports 1", "2" in "ESPN2"
    quality: str | None  # "4K", "UHD", "FHD", "HD", "SD", "1080p", "720p" ...
    codec: str | None  # "HEVC", "H265", "H264"
    tags: tuple[str, ...]  # sorted noise tags: ("backup", "geo-blocked", "not 24/7", "vip", ...)


_SUPERSCRIPT_RUN = re.compile("[\u1d2c-\u1d6a\u1d9b-\u1dbf\u2070-\u209f\u00b2\u00b3\u00b9\u02b0-\u02b8]+")
_FLAG = re.compile("[\U0001f1e6-\U0001f1ff]{2}")
_DROPPED_SYMBOLS = re.compile("[\u24b6-\u24e9\u2122\u00ae\u00a9]")
_EXYU = re.compile(r"\bex[-\s]?yu\b", re.IGNORECASE)
_BRACKET_GROUP = re.compile(r"[(\[{【]([^()\[\]{}【】]*)[)\]}】]")
_GROUP_WORD_SPLIT = re.compile(r"[\s,;|]+")
_LEADING_JUNK = re.compile(r"[^\w+&'\"]*")
_PREFIX_HEAD = re.compile(r"([\w/.+]+?)(\s*)([^\w\s+&'\u2019\u2018`!.\"/@]+)\s*")
_SUFFIX_COUNTRY = re.compile(r"(?:\s+[^\w\s+&'!.\"/()\[\]{}]+)+\s*([A-Z]{2,3}(?:/[A-Z]{2,3})*)$")
_WORD_CORE = re.compile(r"^[^\w+/]+|[^\w+/]+$")
_GLUED_QUALITY = re.compile(r"([^\W\d_]*\d+)(fhd|uhd|hd)")
_DECORATION = re.compile(r"[+|:;\-–—▎▏▍▌▐┃│❘❙❚★☆✪✯✰•●◉○·*#~>»›<«‹=_\\/]+")  # noqa: RUF001
_DISPLAY_HEAD = re.compile(r"^[^\w(\[{'\"¡¿+]+")
_DISPLAY_TAIL = re.compile(r"[^\w)\]}!.+'\"?]+$")
_SPACES = re.compile(r"\s+")
_TIMESHIFT = re.compile(r"(?<!\+)\+(\d{1,2})(?!\d)")
_NUMBER_BRAND = re.compile(r"\d+")  # "1+1", "2+2": a number before the plus is the whole name so far
_PLUS_AFTER_WORD = re.compile(r"(?<=\w)\+")
_APOSTROPHES = re.compile("['\u2019\u2018`\u00b4]")
_NON_WORD = re.compile(r"[\W_]+")
_LETTERS_THEN_DIGIT = re.compile(r"(?<=[^\W\d_]{2})(?=\d)")
_DIGIT_THEN_LETTERS = re.compile(r"(?<=\d)(?=[^\W\d_]{3})")
_MAX_TIMESHIFT_HOURS = 48
_TVG_PLACEHOLDERS = frozenset({"none", "null", "n/a", "na", "-", "0", "no epg", "noepg", "unknown"})


def normalize_name(name: str) -> NormalizedName:
    """Split a channel name into what identifies the channel and what describes one stream of it.

    >>> n = normalize_name("|UK| SKY SPORTS ONE FHD (Backup)")
    >>> n.display, n.key, n.country, n.number, n.quality, n.tags
    ('SKY SPORTS ONE', 'sky sports 1', 'UK', '1', 'FHD', ('backup',))
    """
    text, flag_country = _prepare(name)
    text, bracket_tags, bracket_country = _strip_bracket_groups(text)
    text, prefix_country, prefix_tags = _strip_prefixes(text)
    text, word_tags = _strip_tag_words(text)
    text, suffix_country = _strip_suffix_country(text)
    display = _trim_display(text) or name.strip() or name
    tags = [*bracket_tags, *prefix_tags, *word_tags]
    key, base, region, variant, number = _key_parts(display)
    if not key:
        key = _SPACES.sub(" ", fold(name)).strip() or name.casefold()
    base = base or key
    return NormalizedName(
        original=name,
        display=display,
        key=key,
        base=base,
        country=prefix_country or bracket_country or suffix_country or flag_country,
        region=region,
        variant=variant,
        number=number,
        quality=_best_quality(tags),
        codec=next((tag.value for tag in tags if tag.kind == "codec"), None),
        tags=tuple(sorted({tag.value for tag in tags if tag.kind == "noise"})),
    )


def normalize_tvg_id(tvg_id: str | None) -> str | None:
    """The EPG id without case, padding or feed suffix: "BBCOne.uk@London" -> "bbcone.uk"; "" or "none" -> None.

    Placeholders panels write instead of an id ("none", "null", "n/a", "0", "-") are no id.
    """
    if tvg_id is None:
        return None
    value = tvg_id.strip().casefold().split("@", 1)[0].strip()
    return None if not value or value in _TVG_PLACEHOLDERS else value


def fold(text: str) -> str:
    """NFKD, combining marks dropped, casefolded: "Cinéma" -> "cinema"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def _prepare(name: str) -> tuple[str, str | None]:
    """Symbols to bracketed tags, superscripts to bracketed words, NFKC; the country of a flag emoji if any."""
    text = name
    for symbol, replacement in SYMBOL_TAGS.items():
        text = text.replace(symbol, replacement)
    country = None
    flag = _FLAG.search(text)
    if flag:
        country = country_of("".join(chr(ord(char) - 0x1F1E6 + ord("A")) for char in flag[0]))
        text = _FLAG.sub(" ", text)
    text = _DROPPED_SYMBOLS.sub(" ", text)
    text = _SUPERSCRIPT_RUN.sub(lambda run: f" [{unicodedata.normalize('NFKC', run[0])}] ", text)
    text = _EXYU.sub("EXYU", unicodedata.normalize("NFKC", text))
    return text, country


def _strip_bracket_groups(text: str) -> tuple[str, list[Tag], str | None]:
    """Remove bracket groups made only of tags or of a country code; keep every other group."""
    tags: list[Tag] = []
    countries: list[str] = []

    def replace(group: re.Match[str]) -> str:
        content = group[1].strip()
        if not content:
            return " "
        words = [word for word in _GROUP_WORD_SPLIT.split(content.casefold()) if word]
        group_tags = _tags_of_words(words, bracketed=True)
        if group_tags is not None:
            tags.extend(group_tags)
            return " "
        country = _countries_of(content) if content.isupper() else None
        if country:
            countries.append(country)
            return " "
        return group[0]

    return _BRACKET_GROUP.sub(replace, text), tags, (countries[0] if countries else None)


def _strip_prefixes(text: str) -> tuple[str, str | None, list[Tag]]:
    """Peel ``UK:``, ``|UK|``, ``VIP |``, ``4K -``... off the front while what follows still has a word."""
    country: str | None = None
    tags: list[Tag] = []
    while True:
        start = _LEADING_JUNK.match(text)
        head = _PREFIX_HEAD.match(text, start.end() if start else 0)
        if not head or not re.search(r"\w", text[head.end() :]):
            return text, country, tags
        word, space, separator = head[1], head[2], head[3]
        if separator.startswith("-") and not space and not _glued_prefix_allowed(word, text[head.end() :]):
            return text, country, tags
        head_country = _countries_of(word)
        head_tags = None if head_country else _tags_of_words([word.casefold()], bracketed=False)
        if not head_country and head_tags is None:
            return text, country, tags
        country = country or head_country
        tags.extend(head_tags or ())
        text = text[head.end() :]


def _glued_prefix_allowed(word: str, rest: str) -> bool:
    """ "UK-BBC One" is a prefix; "Al-Jazeera", "AL-HAYAT", "n-tv", "BS-TBS" and "IT-3" are names."""
    return word.isupper() and word != "AL" and " " in rest.strip()


def _strip_tag_words(text: str) -> tuple[str, list[Tag]]:
    """Drop tag words (and two-word tags, a quality glued to a number: "1HD") wherever they stand."""
    words = text.split()
    cores = [_WORD_CORE.sub("", word).casefold() for word in words]
    kept: list[str] = []
    tags: list[Tag] = []
    index = 0
    while index < len(words):
        word, core = words[index], cores[index]
        phrase = phrase_tag(core, cores[index + 1]) if index + 1 < len(words) else None
        if phrase:
            tags.append(phrase)
            index += 2
            continue
        found = _tags_of_words([core], bracketed=False) if core else None
        if found is not None:
            tags.extend(found)
            index += 1 + _backup_number(found, cores, index)
            continue
        glued = _GLUED_QUALITY.fullmatch(core)
        glued_tag = tag_of(glued[2]) if glued else None
        if glued and glued_tag:
            kept.append(word[: len(word) - len(glued[2])])
            tags.append(glued_tag)
        else:
            kept.append(word)
        index += 1
    return " ".join(kept), tags


def _backup_number(found: list[Tag], cores: list[str], index: int) -> int:
    """1 when "Backup" is followed by its number ("Backup 2"), which belongs to the tag."""
    is_backup = any(tag.value == "backup" for tag in found)
    return 1 if is_backup and index + 1 < len(cores) and cores[index + 1].isdigit() else 0


def _tags_of_words(words: Iterable[str], *, bracketed: bool) -> list[Tag] | None:
    """The tags these words are, or None if any word is not a tag ("backup" may carry a number)."""
    tags: list[Tag] = []
    items = list(words)
    index = 0
    while index < len(items):
        word = items[index]
        phrase = phrase_tag(word, items[index + 1]) if index + 1 < len(items) else None
        if phrase:
            tags.append(phrase)
            index += 2
            continue
        parts = [tag_of(part, bracketed=bracketed) for part in word.split("/")] if "/" in word else []
        single = tag_of(word, bracketed=bracketed)
        if single:
            tags.append(single)
        elif parts and all(parts):
            tags.extend(part for part in parts if part)
        elif not (word.isdigit() and tags and tags[-1].value == "backup"):
            return None
        index += 1
    return tags if tags else None


def _countries_of(code: str) -> str | None:
    """The first country of "UK" or "US/CA" when every part is a country code; else None."""
    parts = [part.strip() for part in code.split("/")]
    countries = [country_of(part) for part in parts if 2 <= len(part) <= 4]
    return countries[0] if countries and len(countries) == len(parts) and all(countries) else None


def _strip_suffix_country(text: str) -> tuple[str, str | None]:
    """A trailing "| UK" or "- US" (upper case, after a separator) names the country."""
    match = _SUFFIX_COUNTRY.search(text)
    country = _countries_of(match[1]) if match else None
    if match and country and re.search(r"\w", text[: match.start()]):
        return text[: match.start()], country
    return text, None


def _trim_display(text: str) -> str:
    """Drop words that are only separators or decoration (a lone "+", "|", "-"), collapse spaces, trim the ends."""
    collapsed = " ".join(word for word in text.split() if not _DECORATION.fullmatch(word))
    return _DISPLAY_TAIL.sub("", _DISPLAY_HEAD.sub("", collapsed)).strip()


def _key_parts(display: str) -> tuple[str, str, str | None, str | None, str | None]:
    """(key, base, region, variant, number) of a display name."""
    text = fold(display)
    variant = None
    timeshift = _TIMESHIFT.search(text)
    if timeshift and _NUMBER_BRAND.fullmatch(text[: timeshift.start()].strip()):
        timeshift = None
    if timeshift and 0 < int(timeshift[1]) <= _MAX_TIMESHIFT_HOURS:
        variant = f"+{int(timeshift[1])}"
        text = text[: timeshift.start()] + " " + text[timeshift.end() :]
    text = _PLUS_AFTER_WORD.sub(" plus ", text).replace("&", " ")
    text = _NON_WORD.sub(" ", _APOSTROPHES.sub("", text))
    text = _DIGIT_THEN_LETTERS.sub(" ", _LETTERS_THEN_DIGIT.sub(" ", text))
    words = [word for word in text.split() if word != "and"]
    if variant is None and len(words) > 1 and words[-1] in VARIANT_WORDS:
        variant = VARIANT_WORDS[words.pop()]
    region, words = _take_region(words)
    words = [NUMBER_WORDS.get(word, word) if index else word for index, word in enumerate(words)]
    number = next((word for word in reversed(words) if word.isdigit()), None)
    base = " ".join(words)
    key = " ".join(part for part in (base, region, variant) if part)
    return key, base, region, variant, number


def _take_region(words: list[str]) -> tuple[str | None, list[str]]:
    """The region named by the last one or two words, if some other word is left before it."""
    for size in (2, 1):
        if len(words) > size and tuple(words[-size:]) in REGIONS:
            return REGIONS[tuple(words[-size:])], words[:-size]
    return None, words


def _best_quality(tags: list[Tag]) -> str | None:
    """The quality tag of the highest tier; the first one written when two share it ("4K UHD" -> "4K")."""
    ranked = [(TIERS.index(tag.tier), index, tag.value) for index, tag in enumerate(tags) if tag.tier]
    return min(ranked)[2] if ranked else None
