"""Line-level text helpers for the M3U parser in :mod:`m3u_strm.ingest.m3u`: no parser state, no I/O.

* **Decoding** — :func:`decode_legacy` guesses the codec of a line that is not strict UTF-8.
* **Cleaning** — :func:`clean_text` (NFC, control characters to spaces, U+FEFF removed); the byte-level checks
  :func:`has_ascii_control` and :func:`may_hide_unicode_control` that spare clean chunks the per-line pass.
* **Attributes** — :func:`skeleton_of` and :func:`extinf_fast` read a canonical ``#EXTINF`` by splitting on quotes
  and remembering the outline; :func:`scan_attributes` is the careful ``key="value"`` scanner for everything else.
* **Sniffing** — :func:`describe_non_playlist` names what the first bytes are when they are clearly no playlist.

The rules these implement are listed (and tested) in the docstring of :mod:`m3u_strm.ingest.m3u`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from unicodedata import normalize

__all__ = [
    "ASCII_CONTROL_TO_SPACE",
    "DURATION_RE",
    "NOT_A_PLAYLIST_HINT",
    "AttrBuilder",
    "Extinf",
    "Skeleton",
    "clean_text",
    "decode_legacy",
    "describe_non_playlist",
    "extinf_fast",
    "has_ascii_control",
    "may_hide_unicode_control",
    "scan_attributes",
    "skeleton_of",
]

NOT_A_PLAYLIST_HINT = "Check the playlist URL and credentials; the previous catalogue was kept."

_SKELETON_CACHE_SIZE = 1024
_DURATION = r"\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+))"
DURATION_RE = re.compile(_DURATION)
_SKELETON_HEAD = re.compile(rf"#EXTINF:{_DURATION}\s+([^\s=,\"']+)=")
_SKELETON_KEY = re.compile(r"\s+([^\s=,\"']+)=")
_ATTR_HEAD = re.compile(r"""\s*(?:(,)|([^\s=,"']+)(=?)|(["']))""")
_UNQUOTED_VALUE = re.compile(r"[^\s,]*")
_UNICODE_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_CYRILLIC_RUN = re.compile(rb"[\xc0-\xff]{3}")
_JSON_ARRAY_START = re.compile(rb'\[\s*[\[{"\]\d-]')
_ASCII_CONTROLS = tuple(bytes([b]) for b in (*range(0x00, 0x20), 0x7F) if b not in (0x0A, 0x0D))
ASCII_CONTROL_TO_SPACE = bytes.maketrans(b"".join(_ASCII_CONTROLS), b" " * len(_ASCII_CONTROLS))

Extinf = tuple[float, dict[str, str], str]  # duration, attributes, title
AttrBuilder = Callable[[list[str]], dict[str, str]]  # the #EXTINF line split on '"' -> its attributes
Skeleton = tuple[float, AttrBuilder]  # duration, attribute builder


def skeleton_of(parts: list[str], skeletons: dict[tuple[str, ...], Skeleton]) -> Skeleton | None:
    """The skeleton of an #EXTINF line split on '"' (learnt and remembered); None when it is not canonical.

    The text outside the quotes (``'#EXTINF:-1 a='``, ``' b='``) repeats from entry to entry, so it is checked once
    and remembered with its duration and attribute builder.
    """
    if not len(parts) & 1 or len(parts) == 1:
        return None
    outline = tuple(parts[0:-1:2])
    known = skeletons.get(outline)
    if known is None:
        # Only good outlines are remembered: a bad one often holds text (a single-quoted value) and never repeats.
        known = _learn_skeleton(outline)
        if known is not None and len(skeletons) < _SKELETON_CACHE_SIZE:
            skeletons[outline] = known
    return known


def extinf_fast(line: str, skeletons: dict[tuple[str, ...], Skeleton]) -> Extinf | None:
    """Read ``#EXTINF:-1 a="1" b="2",Title`` by splitting on quotes; None when the line needs the careful reader."""
    parts = line.split('"')
    known = skeleton_of(parts, skeletons)
    if known is None:
        return None
    before, comma, title = parts[-1].partition(",")
    if not comma or (before and not before.isspace()):
        return None
    return known[0], known[1](parts), title.strip()


def _learn_skeleton(outline: tuple[str, ...]) -> Skeleton | None:
    head = _SKELETON_HEAD.fullmatch(outline[0])
    if head is None:
        return None
    keys = [head.group(2).lower()]
    for part in outline[1:]:
        match = _SKELETON_KEY.fullmatch(part)
        if match is None:
            return None
        keys.append(match.group(1).lower())
    return float(head.group(1)), _attrs_builder(tuple(keys))


def _attrs_builder(keys: tuple[str, ...]) -> AttrBuilder:
    """The function that builds an outline's attribute dict from its #EXTINF line split on '"'.

    Values sit at the odd indexes. A dict display over the keys held in the closure is about twice as fast as
    ``dict(zip(...))`` or indexing a keys tuple, and it runs once per entry: one shape per common attribute count.
    A repeated key keeps its last value, as in the careful scanner.
    """
    match keys:
        case (a,):
            return lambda p: {a: p[1]}
        case (a, b):
            return lambda p: {a: p[1], b: p[3]}
        case (a, b, c):
            return lambda p: {a: p[1], b: p[3], c: p[5]}
        case (a, b, c, d):
            return lambda p: {a: p[1], b: p[3], c: p[5], d: p[7]}
        case (a, b, c, d, e):
            return lambda p: {a: p[1], b: p[3], c: p[5], d: p[7], e: p[9]}
        case (a, b, c, d, e, f):
            return lambda p: {a: p[1], b: p[3], c: p[5], d: p[7], e: p[9], f: p[11]}
        case (a, b, c, d, e, f, g):
            return lambda p: {a: p[1], b: p[3], c: p[5], d: p[7], e: p[9], f: p[11], g: p[13]}
        case (a, b, c, d, e, f, g, h):
            return lambda p: {a: p[1], b: p[3], c: p[5], d: p[7], e: p[9], f: p[11], g: p[13], h: p[15]}
    return lambda p: dict(zip(keys, p[1::2], strict=True))


def scan_attributes(text: str, position: int) -> tuple[dict[str, str], str | None, bool]:
    """Read ``key="value"`` pairs from ``position`` up to the first comma outside quotes.

    Returns the attributes, the title (None when there is no such comma) and whether the text was well formed
    (False after repairing an unterminated quote).
    """
    attrs: dict[str, str] = {}
    while (match := _ATTR_HEAD.match(text, position)) is not None:
        comma, key, equals, stray_quote = match.groups()
        position = match.end()
        if comma:
            return attrs, text[position:].strip(), True
        if key and not equals:  # a bare word: ignored
            continue
        quote = stray_quote or text[position : position + 1]
        if quote not in ('"', "'"):
            value_match = _UNQUOTED_VALUE.match(text, position)
            assert value_match is not None  # matches the empty string at worst
            attrs[key.lower()] = value_match.group()
            position = value_match.end()
            continue
        start = position if stray_quote else position + 1
        close = text.find(quote, start)
        if close < 0:  # unterminated: the value runs to the last comma, the rest is the title
            rest = text[start:]
            last_comma = rest.rfind(",")
            if key:
                attrs[key.lower()] = (rest[:last_comma] if last_comma >= 0 else rest).strip()
            return attrs, (rest[last_comma + 1 :].strip() if last_comma >= 0 else None), False
        if key:
            attrs[key.lower()] = text[start:close]
        position = close + 1
    return attrs, None, True


def clean_text(text: str) -> str:
    """NFC, control characters to spaces, U+FEFF removed, stripped."""
    text = normalize("NFC", text)
    if _UNICODE_CONTROL.search(text) is not None:
        text = _UNICODE_CONTROL.sub(lambda m: "" if m.group() == "\ufeff" else " ", text)
    return text.strip()


def decode_legacy(raw: bytes) -> str:
    """Decode a line that is not strict UTF-8 (see the module docstring for the order of guesses)."""
    text = raw.decode("utf-8", "replace")
    if not text.replace("\ufffd", "").isascii():
        return text  # real UTF-8 with a few damaged bytes
    codecs = ("cp1251", "cp1252") if _CYRILLIC_RUN.search(raw) else ("cp1252",)
    for codec in codecs:
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def may_hide_unicode_control(raw: bytes) -> bool:
    # C1 controls, U+2028/2029 and U+FEFF all start with one of these bytes in UTF-8 (memchr each).
    return b"\xc2" in raw or b"\xe2" in raw or b"\xef" in raw


def has_ascii_control(block: bytes) -> bool:
    # A memchr per control byte is several times faster than one regex or translate pass over the block.
    return any(control in block for control in _ASCII_CONTROLS)


def describe_non_playlist(head: bytes) -> tuple[str, str] | None:
    """What the first bytes of a response are, when they are clearly not a playlist."""
    lowered = head[:512].lower()
    if lowered.startswith(b"<"):
        if b"<html" in lowered or b"<!doctype html" in lowered:
            return "an HTML page", NOT_A_PLAYLIST_HINT
        if b"<tv" in lowered:
            return "an XMLTV guide", "Use this URL as an EPG source, not as a playlist."
        return "an HTML or XML document", NOT_A_PLAYLIST_HINT
    if lowered.startswith(b"[playlist]"):
        return "a PLS playlist", "Use the provider's M3U (m3u_plus) URL instead."
    if lowered.startswith(b"{") or _JSON_ARRAY_START.match(lowered):  # not "[NO PUBLIC STREAM]"
        return "a JSON document", NOT_A_PLAYLIST_HINT
    if lowered.startswith(b"\x1f\x8b"):
        return "gzip-compressed data", "The server sent compressed data without saying so; check the URL."
    if lowered.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text", "Save the playlist as UTF-8."
    return None
