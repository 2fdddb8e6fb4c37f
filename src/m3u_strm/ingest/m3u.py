"""Streaming parser for IPTV ("extended") M3U / M3U8 playlists.

Feed bytes in chunks of any size; entries come out as soon as their URL line is complete. The parser holds only
the chunk being parsed, the unfinished last line, one pending ``#EXTINF`` and the directives waiting for the next
URL — memory does not grow with the number of entries::

    entries, report = parse_m3u(path.read_bytes(), source="Acme IPTV")
    for entry in iter_m3u(response.iter_bytes(), source="Acme IPTV", report_to=reports): ...

Rules (each one is tested in ``tests/ingest/test_m3u.py``):

* **Lines.** A UTF-8 BOM is dropped; CRLF, LF and lone CR all end a line; blank lines are ignored and every line is
  stripped. Each line is decoded as strict UTF-8; a line that is not UTF-8 is decoded as UTF-8 with replacement
  characters when it holds valid multi-byte sequences, else as cp1251 when it has runs of three bytes in
  0xC0-0xFF (Cyrillic words), else as cp1252, else as latin-1 — and counted in ``report.decode_replacements``.
  Text is NFC-normalised; control characters (C0, C1, U+2028/U+2029) become spaces and U+FEFF is removed, so no
  newline or control character can reach a title, an attribute or a URL. A line holding a NUL byte is skipped
  (``nul_byte``); a line longer than ``max_line_bytes`` is skipped (``line_too_long``) without being buffered: the
  rest of it is discarded up to the next line break.
* **Header.** ``#EXTM3U`` attributes go to ``report.header.attrs``; ``x-tvg-url``, ``url-tvg`` and ``tvg-url`` are
  split on commas into ``header.epg_urls`` (stripped, deduplicated, in order). A later ``#EXTM3U`` line (concatenated
  playlists) adds attributes it does not already have and more EPG URLs. A missing ``#EXTM3U`` only warns.
* **#EXTINF.** ``#EXTINF:<duration> key="value" key='value' key=value ...,title``. The title is everything after the
  first comma outside quotes, so ``tvg-name="The Good, the Bad and the Ugly"`` and ``tvg-id="..Christi,.TX.us"``
  stay whole; double-quoted values may hold ``'``, single-quoted ones ``"``; unquoted values end at whitespace or a
  comma. Values are kept as written inside their quotes (not stripped). Keys are lower-cased; a repeated key
  keeps its last value; bare words are ignored. An empty title falls back to ``tvg-name``, then to the URL's last
  path segment.
* **Repairs** (the entry is imported and the line counted in ``report.repaired``):
  ``malformed_extinf`` — a missing colon (``#EXTINF-1 tvg-id=...``, seen in iptv-org's 2023 ``bq.m3u``) is read as
  ``#EXTINF:-1``; an unreadable duration becomes -1; no comma at all leaves the title to the fallback; an
  unterminated quote ends its value at the last comma of the line and the text after that comma is the title.
  ``url_without_extinf`` — a URL with no ``#EXTINF`` becomes an entry titled after its last path segment.
* **Directives.** ``#EXTGRP:``, ``#EXTVLCOPT:key=value`` (keys lower-cased) and ``#KODIPROP:key=value`` (keys
  verbatim; license keys are secrets) seen since the previous URL line attach to the next URL line; ``#EXTGRP``
  sets the group only when the entry has no non-empty ``group-title``. Other ``#`` lines are ignored.
* **Skips** (the line, and the entry it belonged to, is dropped and counted in ``report.skipped``):
  ``duplicate_extinf`` — a second ``#EXTINF`` before any URL drops the first; ``extinf_without_url`` — an
  ``#EXTINF`` still waiting at the end of input; ``not_a_url`` — a line that is neither a directive nor a URL
  (``[NO PUBLIC STREAM]``, relative paths, ``C:\\...``, ``http:no-slashes``); ``scheme_not_allowed`` — a URL whose
  scheme is not in ``allowed_schemes`` (``file:``, ``javascript:``, ``data:``, ``ftp:`` ...); ``nul_byte`` and
  ``line_too_long`` as above. A rejected URL line takes its pending ``#EXTINF`` and directives with it and is
  counted once, under its own reason.
* **URLs** are kept verbatim (odd but valid ones too: ``[ADS.W]`` macros, a trailing ``]``). A Kodi-style header
  suffix ``url|User-Agent=x&Referer=y`` is cut off the URL and its headers (percent-decoded) go to ``vlc_options``
  as ``http-user-agent``, ``http-referrer`` and ``http-<name>``; ``#EXTVLCOPT`` lines override them.
* **Not a playlist.** When the first bytes are ``<`` (HTML or XML page), ``{`` or ``[`` opening a JSON value (not
  ``[NO PUBLIC STREAM]``), ``[playlist]`` (PLS), gzip or UTF-16, ``feed`` raises :class:`NotAPlaylistError` at
  once, before buffering the body; ``close``
  raises it for empty input and for text with no ``#EXTM3U``, no ``#EXTINF`` and no URL. A playlist with a header
  but no entries is not an error here: the sync decides what an empty catalogue means.
* **Limits.** More than ``max_bytes`` bytes or ``max_entries`` entries raises :class:`LimitExceededError`.
* **Secrets.** ``repr`` of an entry, a header or a report redacts credentials in URLs and masks ``#KODIPROP`` values,
  so they are safe to log; the fields themselves keep what playback needs.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import Literal, TypedDict, Unpack
from unicodedata import normalize
from urllib.parse import unquote

from m3u_strm.config import DEFAULT_SCHEMES
from m3u_strm.errors import LimitExceededError, NotAPlaylistError
from m3u_strm.ingest.m3u_text import (
    ASCII_CONTROL_TO_SPACE,
    DURATION_RE,
    NOT_A_PLAYLIST_HINT,
    Extinf,
    Skeleton,
    clean_text,
    decode_legacy,
    describe_non_playlist,
    extinf_fast,
    has_ascii_control,
    may_hide_unicode_control,
    scan_attributes,
    skeleton_of,
)
from m3u_strm.ingest.m3u_writer import render_m3u, write_m3u
from m3u_strm.privacy.redaction import MASK, redact

__all__ = [
    "M3UEntry",
    "M3UParser",
    "ParseReport",
    "ParserOptions",
    "PlaylistHeader",
    "iter_m3u",
    "parse_m3u",
    "render_m3u",
    "write_m3u",
]

#: Reasons counted in ParseReport.skipped (dropped) and ParseReport.repaired (imported after a repair).
Reason = Literal[
    "extinf_without_url",
    "url_without_extinf",
    "malformed_extinf",
    "duplicate_extinf",
    "not_a_url",
    "scheme_not_allowed",
    "line_too_long",
    "nul_byte",
]

_LINES_KEPT_PER_REASON = 20
_BOM = b"\xef\xbb\xbf"
_EPG_ATTRS = ("x-tvg-url", "url-tvg", "tvg-url")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+):")
_HEADER_SUFFIX = re.compile(r"[A-Za-z0-9-]+=[^&]*(?:&[A-Za-z0-9-]+=[^&]*)*")
_NO_PENDING: tuple[int, float, dict[str, str], str] = (0, -1.0, {}, "")  # line 0: no #EXTINF waits


@dataclass(slots=True)
class M3UEntry:
    """One playlist entry: an ``#EXTINF`` (or none) and the URL line that closes it."""

    title: str
    url: str
    duration: float = -1.0
    attrs: dict[str, str] = field(default_factory=dict)
    group: str | None = None
    vlc_options: dict[str, str] = field(default_factory=dict)
    kodi_props: dict[str, str] = field(default_factory=dict)
    line_no: int = 0

    @property
    def tvg_id(self) -> str | None:
        return self.attrs.get("tvg-id") or None

    @property
    def tvg_name(self) -> str | None:
        return self.attrs.get("tvg-name") or None

    @property
    def tvg_logo(self) -> str | None:
        return self.attrs.get("tvg-logo") or None

    @property
    def tvg_chno(self) -> str | None:
        return self.attrs.get("tvg-chno") or None

    @property
    def user_agent(self) -> str | None:
        return self.vlc_options.get("http-user-agent") or self.attrs.get("user-agent") or None

    @property
    def referrer(self) -> str | None:
        options = self.vlc_options
        return options.get("http-referrer") or options.get("http-referer") or self.attrs.get("referrer") or None

    def __repr__(self) -> str:
        # Safe to log: credentials in URLs are redacted and #KODIPROP values (license keys) masked.
        kodi_props = dict.fromkeys(self.kodi_props, MASK)
        return redact(
            f"M3UEntry(title={self.title!r}, url={self.url!r}, duration={self.duration!r}, attrs={self.attrs!r}, "
            f"group={self.group!r}, vlc_options={self.vlc_options!r}, kodi_props={kodi_props!r}, "
            f"line_no={self.line_no!r})"
        )


@dataclass(slots=True)
class PlaylistHeader:
    """The ``#EXTM3U`` line: its attributes and the EPG (XMLTV) URLs it names."""

    attrs: dict[str, str] = field(default_factory=dict)
    epg_urls: list[str] = field(default_factory=list)

    def __repr__(self) -> str:  # EPG URLs often carry the provider's username and password
        return redact(f"PlaylistHeader(attrs={self.attrs!r}, epg_urls={self.epg_urls!r})")


@dataclass
class ParseReport:
    """What happened while parsing one source; complete once :meth:`M3UParser.close` has run.

    ``skipped`` counts lines that were dropped (with the entry they belonged to); ``repaired`` counts entries that
    were imported after a repair (``malformed_extinf``, ``url_without_extinf``). Both keep the first 20 line
    numbers per reason in ``skipped_lines`` / ``repaired_lines``.
    """

    source: str
    header: PlaylistHeader = field(default_factory=PlaylistHeader)
    entries: int = 0
    lines: int = 0
    bytes_read: int = 0
    decode_replacements: int = 0
    skipped: collections.Counter[str] = field(default_factory=collections.Counter)
    skipped_lines: dict[str, list[int]] = field(default_factory=dict)
    repaired: collections.Counter[str] = field(default_factory=collections.Counter)
    repaired_lines: dict[str, list[int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.source = redact(self.source)

    def __repr__(self) -> str:  # safe to log: the header's EPG URLs are redacted
        inner = ", ".join(f"{item.name}={getattr(self, item.name)!r}" for item in fields(self))
        return redact(f"ParseReport({inner})")


class ParserOptions(TypedDict, total=False):
    """Keyword options of :class:`M3UParser`, accepted by :func:`iter_m3u` and :func:`parse_m3u` as well."""

    source: str
    allowed_schemes: Iterable[str]
    max_line_bytes: int
    max_entries: int
    max_bytes: int | None


@dataclass(slots=True)
class _Directives:
    """``#EXTGRP`` / ``#EXTVLCOPT`` / ``#KODIPROP`` lines waiting for the next URL line."""

    group: str | None = None
    vlc: dict[str, str] = field(default_factory=dict)
    kodi: dict[str, str] = field(default_factory=dict)


class M3UParser:
    """Incremental M3U parser: ``feed`` chunks split anywhere, then ``close``; iterate both to get the entries."""

    def __init__(
        self,
        *,
        source: str = "playlist",
        allowed_schemes: Iterable[str] = DEFAULT_SCHEMES,
        max_line_bytes: int = 64 * 1024,
        max_entries: int = 2_000_000,
        max_bytes: int | None = None,
    ) -> None:
        self.report = ParseReport(source=source)
        self._allowed = frozenset(scheme.lower() for scheme in allowed_schemes)
        self._url_prefixes = tuple(f"{scheme}://" for scheme in sorted(self._allowed))
        self._max_line_bytes = max_line_bytes
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._tail = b""
        self._sniffed = False
        self._discarding = False
        self._after_cr = False
        self._closed = False
        self._first_line = ""
        self._header_seen = False
        self._saw_extinf = False
        self._pending: tuple[int, float, dict[str, str], str] = _NO_PENDING
        self._directives: _Directives | None = None
        self._skeletons: dict[tuple[str, ...], Skeleton] = {}

    # -- input ------------------------------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> Iterator[M3UEntry]:
        """Parse ``chunk`` and yield the entries it completes (the generator must be iterated)."""
        report = self.report
        report.bytes_read += len(chunk)
        if self._max_bytes is not None and report.bytes_read > self._max_bytes:
            raise self._limit_error(f"is larger than {self._max_bytes:,} bytes", "M3U_STRM_MAX_PLAYLIST_BYTES")
        if self._discarding:
            chunk = self._discard_long_line(chunk)
        if self._after_cr and chunk:  # the previous chunk ended in CR: a LF here is the rest of that CRLF
            self._after_cr = False
            chunk = chunk.removeprefix(b"\n")
        if not self._sniffed and chunk:
            chunk, self._tail = self._tail + chunk, b""
            sniffed = self._sniff(chunk)
            if sniffed is None:  # a partial BOM: wait for more bytes
                self._tail = chunk
                return
            chunk = sniffed
        if not chunk:
            return
        # Split the chunk itself (no copy of it); the unfinished last line waits in the tail for the next chunk.
        lines = chunk.splitlines()
        tail = self._tail
        if tail:
            lines[0] = tail + lines[0]
        last = chunk[-1]
        if last == 0x0A or last == 0x0D:
            self._tail = b""
            self._after_cr = last == 0x0D
        else:
            self._tail = lines.pop()
        if lines:
            may_hide_controls = may_hide_unicode_control(chunk) or may_hide_unicode_control(tail)
            yield from self._parse_lines(self._screen(lines, chunk, tail), may_hide_controls)
        if len(self._tail) > self._max_line_bytes:
            self._skip("line_too_long", report.lines + 1)
            self._tail = b""
            self._discarding = True

    def close(self) -> Iterator[M3UEntry]:
        """Parse the last line, finish the report, and raise :class:`NotAPlaylistError` for non-playlists."""
        if self._closed:
            return
        self._closed = True
        if not self._sniffed:
            self._tail = self._sniff(self._tail, final=True) or b""
        if not self._sniffed:
            raise self._not_a_playlist("an empty response")
        tail, self._tail = self._tail, b""
        if tail and not self._discarding:
            yield from self._parse_lines(self._screen([tail], tail, b""), may_hide_unicode_control(tail))
        if self._pending[0]:
            self._skip("extinf_without_url", self._pending[0])
            self._pending = _NO_PENDING
        report = self.report
        if not (self._header_seen or self._saw_extinf or report.entries or report.skipped["scheme_not_allowed"]):
            excerpt = f" (it starts with {self._first_line!r})" if self._first_line else ""
            raise self._not_a_playlist(f"a text document with no playlist entries{excerpt}")
        self._summarise()

    # -- line handling ----------------------------------------------------------------------------------------

    def _screen(self, lines: list[bytes], chunk: bytes, tail: bytes) -> list[bytes]:
        """Blank out over-long and NUL lines (keeping line numbers), turn other control bytes into spaces.

        ``chunk`` and ``tail`` are the bytes ``lines`` came from: one cheap look at them spares clean chunks the
        line-by-line pass.
        """
        cap = self._max_line_bytes
        # Only a chunk longer than the cap can hold a whole over-long line; else only the first (tail-joined) one.
        too_long = max(map(len, lines)) > cap if len(chunk) > cap else len(lines[0]) > cap
        if not too_long and not has_ascii_control(chunk) and not (tail and has_ascii_control(tail)):
            return lines
        screened = []
        line_no = self.report.lines
        for raw in lines:
            line_no += 1
            if len(raw) > self._max_line_bytes:
                self._skip("line_too_long", line_no)
                raw = b""
            elif b"\x00" in raw:
                self._skip("nul_byte", line_no)
                raw = b""
            screened.append(raw.translate(ASCII_CONTROL_TO_SPACE))
        return screened

    def _parse_lines(self, lines: list[bytes], may_hide_controls: bool) -> Iterator[M3UEntry]:
        # The hot loop. Its fast path takes the shape nearly every line of a provider playlist has: a canonical
        # #EXTINF whose outline (the text outside the quotes) is already known, directly followed by a plain URL,
        # with nothing pending. It keeps its state in locals and reads the URL line itself. Any other line, and
        # a fast-path candidate that turns out not to fit, goes to _careful_line, which holds the state in self.
        # Each call and attribute lookup here runs per line: measure (bench/parse_m3u.py) before changing it.
        report = self.report
        skeletons = self._skeletons
        last_outline: list[str] = []  # the outline of the previous canonical #EXTINF, and its skeleton
        last_known: Skeleton | None = None
        url_prefixes = self._url_prefixes
        max_entries = self._max_entries
        careful_line = self._careful_line
        entries = report.entries
        line_no = report.lines
        idle = self._idle()
        rows = iter(lines)
        for raw in rows:
            line_no += 1
            try:
                line = raw.decode().strip()
            except UnicodeDecodeError:
                line = self._decode_fallback(raw)
            if not line:
                continue
            if not line.isascii():
                line = normalize("NFC", line)
                if may_hide_controls and may_hide_unicode_control(raw):
                    line = clean_text(line)
                    if not line:
                        continue
            if idle and line.startswith("#EXTINF:"):
                parts = line.split('"')
                if not len(parts) & 1:
                    known = None
                elif (outline := parts[0:-1:2]) == last_outline:  # a list compare: no tuple, no hashing
                    known = last_known
                elif (known := skeleton_of(parts, skeletons)) is not None:
                    last_outline, last_known = outline, known
                before, comma, title = parts[-1].partition(",")
                if known is not None and comma and (not before or before.isspace()):
                    extinf_line = line_no
                    attrs = known[1](parts)
                    following = next(rows, None)
                    line = ""
                    if following is not None:
                        line_no += 1
                        try:
                            line = following.decode().strip()
                        except UnicodeDecodeError:
                            line = ""
                    if line.isascii() and line.startswith(url_prefixes) and "|" not in line:
                        title = title.strip() or attrs.get("tvg-name") or _title_from_url(line)
                        group = attrs.get("group-title") or None
                        entry = M3UEntry(title, line, known[0], attrs, group, {}, {}, extinf_line)
                        if entries >= max_entries:
                            report.entries = entries
                            raise self._limit_error(f"has more than {max_entries:,} entries", "M3U_STRM_MAX_ENTRIES")
                        entries += 1
                        yield entry
                        continue
                    # Not a plain URL after all: hand the #EXTINF over and read this line carefully.
                    self._saw_extinf = True
                    self._pending = (extinf_line, known[0], attrs, title.strip())
                    idle = False
                    if following is None:  # the #EXTINF ended the block
                        continue
                    line = self._decode_carefully(following)
                    if not line:
                        continue
            careful_entry = careful_line(line, line_no)
            idle = self._idle()
            if careful_entry is not None:
                if entries >= max_entries:
                    report.entries = entries
                    raise self._limit_error(f"has more than {max_entries:,} entries", "M3U_STRM_MAX_ENTRIES")
                entries += 1
                yield careful_entry
        report.entries = entries
        report.lines = line_no

    def _idle(self) -> bool:
        """No #EXTINF and no directive waits for a URL: the fast path may take the next #EXTINF."""
        return not self._pending[0] and self._directives is None

    def _careful_line(self, line: str, line_no: int) -> M3UEntry | None:
        """Any line, every rule; the state (pending #EXTINF and directives) lives in self."""
        if not self._first_line:
            self._first_line = line[:100]  # quoted when the document turns out to be no playlist
        if line[0] == "#":
            extinf = self._read_extinf(line, line_no) if line.startswith("#EXTINF:") else self._directive(line, line_no)
            if extinf is not None:
                self._saw_extinf = True
                if self._pending[0]:
                    self._skip("duplicate_extinf", self._pending[0])
                self._pending = (line_no, *extinf)
            return None
        headers: dict[str, str] | None = None
        if not line.startswith(self._url_prefixes) or "|" in line:
            target = self._url_target(line, line_no)
            if target is None:  # the rejected line takes its #EXTINF and directives with it
                self._pending = _NO_PENDING
                self._directives = None
                return None
            line, headers = target
        extinf_line, duration, attrs, title = self._pending
        if extinf_line:
            self._pending = _NO_PENDING
            title = title or attrs.get("tvg-name") or _title_from_url(line)
            entry = M3UEntry(title, line, duration, attrs, attrs.get("group-title") or None, line_no=extinf_line)
        else:
            self._repair("url_without_extinf", line_no)
            entry = M3UEntry(_title_from_url(line), line, line_no=line_no)
        if headers is not None or self._directives is not None:
            self._attach_directives(entry, headers)
        return entry

    def _decode_carefully(self, raw: bytes) -> str:
        """One line as the hot loop would decode it: UTF-8 or a fallback, NFC, no control characters."""
        try:
            return clean_text(raw.decode())
        except UnicodeDecodeError:
            return self._decode_fallback(raw)

    def _decode_fallback(self, raw: bytes) -> str:
        self.report.decode_replacements += 1
        return clean_text(decode_legacy(raw))

    def _read_extinf(self, line: str, line_no: int) -> Extinf:
        """An #EXTINF the inline fast path did not take: learn its outline if it is canonical, else read it slowly."""
        return extinf_fast(line, self._skeletons) or self._parse_extinf(line, line_no)

    def _directive(self, line: str, line_no: int) -> Extinf | None:
        """Handle a ``#`` line other than a canonical ``#EXTINF:``; return the #EXTINF it turned out to be."""
        tag = line[:11].upper()
        if tag.startswith("#EXTINF"):
            return self._parse_extinf(line, line_no)
        if tag.startswith("#EXTM3U"):
            self._read_header(line)
        elif tag.startswith("#EXTGRP:"):
            self._pending_directives().group = line[8:].strip() or None
        elif tag.startswith("#EXTVLCOPT:"):
            key, _, value = line[11:].partition("=")
            if key.strip():
                self._pending_directives().vlc[key.strip().lower()] = value.strip()
        elif tag.startswith("#KODIPROP:"):
            key, _, value = line[10:].partition("=")
            if key.strip():
                self._pending_directives().kodi[key.strip()] = value.strip()
        return None

    def _pending_directives(self) -> _Directives:
        if self._directives is None:
            self._directives = _Directives()
        return self._directives

    def _attach_directives(self, entry: M3UEntry, headers: dict[str, str] | None) -> None:
        if headers:
            entry.vlc_options.update(headers)
        directives, self._directives = self._directives, None
        if directives is None:
            return
        entry.vlc_options.update(directives.vlc)
        entry.kodi_props.update(directives.kodi)
        if entry.group is None:
            entry.group = directives.group

    def _read_header(self, line: str) -> None:
        attrs, _title, _clean = scan_attributes(line, 7)
        header = self.report.header
        self._header_seen = True
        for key, value in attrs.items():
            header.attrs.setdefault(key, value)
            if key in _EPG_ATTRS:
                for url in value.split(","):
                    url = url.strip()
                    if url and url not in header.epg_urls:
                        header.epg_urls.append(url)

    def _parse_extinf(self, line: str, line_no: int) -> Extinf:
        """The careful #EXTINF reader for everything the fast path does not accept."""
        text = line[7:]
        malformed = not text.startswith(":")
        position = 0 if malformed else 1
        match = DURATION_RE.match(text, position)
        if match is None:
            duration = -1.0
            malformed = malformed or not text[position:].lstrip().startswith(",")
        else:
            duration = float(match.group(1))
            position = match.end()
        attrs, title, clean = scan_attributes(text, position)
        if malformed or not clean or title is None:
            self._repair("malformed_extinf", line_no)
        return duration, attrs, title or ""

    def _url_target(self, line: str, line_no: int) -> tuple[str, dict[str, str] | None] | None:
        """Check a URL line the fast path did not accept: scheme, shape, Kodi header suffix."""
        match = _SCHEME.match(line)
        if match is None:
            self._skip("not_a_url", line_no)
            return None
        if match.group(1).lower() not in self._allowed:
            self._skip("scheme_not_allowed", line_no)
            return None
        if not line.startswith("//", match.end()):
            self._skip("not_a_url", line_no)
            return None
        url, bar, suffix = line.partition("|")
        if not bar or not _HEADER_SUFFIX.fullmatch(suffix):
            return line, None
        return url.rstrip(), _headers_from_suffix(suffix)

    def _discard_long_line(self, chunk: bytes) -> bytes:
        """Drop the rest of an over-long line; keep its line break so the line is still counted once."""
        ends = [at for at in (chunk.find(b"\n"), chunk.find(b"\r")) if at >= 0]
        if not ends:
            return b""
        self._discarding = False
        return chunk[min(ends) :]

    # -- not a playlist, limits, bookkeeping ------------------------------------------------------------------

    def _sniff(self, data: bytes, *, final: bool = False) -> bytes | None:
        """Drop a BOM and refuse what is clearly no playlist, from the first non-blank bytes only.

        Returns the bytes to parse, or None while those first bytes could still go either way (part of a BOM,
        a ``[`` that may open JSON or ``[NO PUBLIC STREAM]``) and more input is to come.
        """
        if not final and data and len(data) < len(_BOM) and _BOM.startswith(data):
            return None
        data = data.removeprefix(_BOM)
        head = data.lstrip()
        if not head:
            return data
        if (
            not final
            and head.startswith(b"[")
            and (not head[1:].strip() or (len(head) < 10 and b"[playlist]".startswith(head.lower())))
        ):
            return None
        self._sniffed = True
        described = describe_non_playlist(head[:512])
        if described is not None:
            what, hint = described
            raise self._not_a_playlist(what, hint)
        return data

    def _not_a_playlist(self, what: str, hint: str = NOT_A_PLAYLIST_HINT) -> NotAPlaylistError:
        return NotAPlaylistError(f"The provider {self.report.source!r} returned {what}, not a playlist.", hint=hint)

    def _limit_error(self, what: str, setting: str) -> LimitExceededError:
        return LimitExceededError(
            f"The playlist from {self.report.source!r} {what}.",
            hint=f"Raise {setting} if the playlist really is this large.",
        )

    def _skip(self, reason: Reason, line_no: int) -> None:
        _count(self.report.skipped, self.report.skipped_lines, reason, line_no)

    def _repair(self, reason: Reason, line_no: int) -> None:
        _count(self.report.repaired, self.report.repaired_lines, reason, line_no)

    def _summarise(self) -> None:
        report = self.report
        notes = []
        if not self._header_seen:
            notes.append("The playlist has no #EXTM3U header; it was read as a plain M3U list.")
        if report.decode_replacements:
            notes.append(f"Lines not valid UTF-8, decoded with a fallback: {report.decode_replacements:,}.")
        for reason, what in (
            ("malformed_extinf", "Malformed #EXTINF lines repaired"),
            ("url_without_extinf", "URLs without #EXTINF imported, titled after their path"),
        ):
            if report.repaired[reason]:
                where = _first_lines(report.repaired_lines[reason])
                notes.append(f"{what}: {report.repaired[reason]:,} (lines {where}).")
        if report.skipped["line_too_long"]:
            notes.append(
                f"Lines longer than {self._max_line_bytes:,} bytes skipped: {report.skipped['line_too_long']:,}; "
                "raise M3U_STRM_MAX_LINE_BYTES to keep them."
            )
        report.warnings.extend(notes)


def iter_m3u(
    chunks: Iterable[bytes], *, report_to: list[ParseReport] | None = None, **parser_options: Unpack[ParserOptions]
) -> Iterator[M3UEntry]:
    """Parse a stream of byte chunks; the report (complete at the end) is appended to ``report_to``."""
    parser = M3UParser(**parser_options)
    if report_to is not None:
        report_to.append(parser.report)
    for chunk in chunks:
        yield from parser.feed(chunk)
    yield from parser.close()


def parse_m3u(
    data: bytes | str | Iterable[bytes], **parser_options: Unpack[ParserOptions]
) -> tuple[list[M3UEntry], ParseReport]:
    """Parse a whole playlist held in memory (or an iterable of chunks) into a list and its report."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    chunks = _slices(data, 64 * 1024) if isinstance(data, bytes | bytearray | memoryview) else data
    reports: list[ParseReport] = []
    entries = list(iter_m3u(chunks, report_to=reports, **parser_options))
    return entries, reports[0]


# -- helpers ----------------------------------------------------------------------------------------------------


def _headers_from_suffix(suffix: str) -> dict[str, str]:
    """``User-Agent=x&Referer=y`` (Kodi's ``url|headers``) as VLC option names."""
    headers = {}
    for pair in suffix.split("&"):
        name, _, value = pair.partition("=")
        name = name.lower()
        option = {"user-agent": "http-user-agent", "referer": "http-referrer", "referrer": "http-referrer"}.get(
            name, f"http-{name}"
        )
        headers[option] = clean_text(unquote(value).strip())
    return headers


def _title_from_url(url: str) -> str:
    """A readable title for a URL without #EXTINF: its last path segment without extension (no userinfo or query)."""
    path = url.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    segment = path.rsplit("/", 1)[-1].rsplit("@", 1)[-1]
    stem, dot, extension = segment.rpartition(".")
    if dot and stem and extension.isalnum() and len(extension) <= 5:
        segment = stem
    return clean_text(unquote(segment).strip()) or url


def _count(counter: collections.Counter[str], lines: dict[str, list[int]], reason: str, line_no: int) -> None:
    counter[reason] += 1
    kept = lines.setdefault(reason, [])
    if len(kept) < _LINES_KEPT_PER_REASON:
        kept.append(line_no)


def _first_lines(line_numbers: list[int], shown: int = 5) -> str:
    listed = ", ".join(map(str, line_numbers[:shown]))
    return f"{listed}, ..." if len(line_numbers) > shown else listed


def _slices(data: bytes | bytearray | memoryview, size: int) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), size):
        yield bytes(view[start : start + size])
