"""Streaming XMLTV guide reader: channels and programmes out of a (possibly gzipped) guide of any size::

    channels, programmes, report = parse_xmltv("epg.xml.gz", source_name="Freeview")
    report.skipped  # Counter({'duplicate': 204})

    reports: list[XmltvReport] = []
    for item in iter_xmltv(response_stream, source_name="Freeview", report_to=reports):
        ...  # EpgChannel or EpgProgramme, as they are read; reports[0] is final at the end

Rules (FAULTS rows 9-12):

* **Input.** A path (a ``str`` is a *path*, never XML text) or a binary file object, read in chunks.
  Gzip is detected by its magic bytes (``1f 8b``), not by the file name. More than ``max_bytes`` of XML
  after decompression raises :class:`LimitExceededError` (setting ``M3U_STRM_MAX_XMLTV_BYTES``), so a gzip
  bomb stops at the cap.
* **Safety.** DOCTYPEs are accepted (``<!DOCTYPE tv SYSTEM "https://iptvx.one/xmltv.dtd">`` is common), but
  no DTD is ever loaded, from the network or from disk. A document that declares entities (XXE, billion
  laughs, quadratic blowup) raises :class:`UnsafeDocumentError` before its body is parsed: the bytes up to
  the root element are scanned for ``<!ENTITY`` after ``<!DOCTYPE`` (UTF-8 and UTF-16), and the internal DTD
  lxml saw is checked again at the root. References to undeclared entities (the DTD was not loaded) are
  dropped from the text.
* **Shape.** The root must be ``<tv>``, else :class:`NotXmltvError`; so is an empty body, an HTML page or
  XML that breaks off midway (the message gives line and column). Raising midway is deliberate: callers
  store a guide only after it was read to the end. Top-level elements other than ``<channel>`` and
  ``<programme>`` are counted as ``unknown_element``; unknown elements inside those are ignored.
* **Times** (:func:`parse_xmltv_time`): ``YYYYMMDD[hh[mm[ss]]]`` and an optional offset (``+0100``,
  ``-0300``, ``+01:00``, ``+01``, ``Z``, ``UTC``, ``GMT``), with or without a space. Without an offset the
  time is in ``default_tz``; there a repeated local time (DST overlap) means its first occurrence and a
  skipped one (DST gap) is read with the offset before the change (PEP 495, ``fold=0``). All results are UTC.
* **Programmes** are skipped and counted in ``report.skipped`` for: no ``channel`` (``no_channel``), a
  missing or unreadable ``start`` (``bad_start``), an unreadable ``stop`` (``bad_stop``), ``stop <= start``
  (``stop_not_after_start``), no non-empty ``<title>`` (``no_title``: the DTD requires one, and a guide we
  export again must stay valid) and a repeated ``(channel, start)`` (``duplicate``; the first one is kept).
* **Missing stop.** A programme without ``stop`` is held back until the next programme of its channel
  arrives and then takes that programme's start as its stop; if none comes, or the next one starts earlier
  (an unsorted guide), it keeps ``stop=None``. Such programmes come out a little after document order.
* **Memory** stays flat as the guide grows: each top-level element is cleared and removed once read. What
  grows is per channel: the held-back programme and the starts already seen (for duplicates), kept as a
  sorted ``array('q')`` of epoch seconds: 8 bytes per programme, 40 MB for five million programmes.
* **Text** is stripped and NFC-normalised. Of several ``<title>`` the one without ``lang`` wins, else the
  first; sub-title, description and categories prefer the title's language. ``episode_num`` is the
  ``xmltv_ns`` value (whitespace removed), else the ``onscreen`` one. A repeated channel id keeps the first
  (``duplicate_channel``); a channel without id is skipped (``channel_without_id``).

The bytes come from :mod:`~m3u_strm.ingest.guide_stream`, the entity defences from
:mod:`~m3u_strm.ingest.guide_safety` and the times from :mod:`~m3u_strm.ingest.xmltv_time`.
"""

from __future__ import annotations

import collections
import re
import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any, cast

from lxml import etree

from m3u_strm.errors import NotXmltvError
from m3u_strm.ingest.guide_safety import PrologGuard, new_guide_parser
from m3u_strm.ingest.guide_stream import GuideSource, GuideStream, open_guide
from m3u_strm.ingest.xmltv_time import parse_xmltv_time

__all__ = [
    "PROGRAMME_SKIP_REASONS",
    "EpgChannel",
    "EpgProgramme",
    "GuideStream",
    "XmltvReport",
    "iter_xmltv",
    "open_guide",
    "parse_xmltv",
    "parse_xmltv_time",
]

DEFAULT_MAX_XMLTV_BYTES = 1024**3
PROGRAMME_SKIP_REASONS = frozenset(
    {"no_channel", "bad_start", "bad_stop", "stop_not_after_start", "no_title", "duplicate"}
)
_CHUNK_BYTES = 64 * 1024
_NOTHING: tuple[()] = ()
_LOCATION_SUFFIX = re.compile(r", line \d+, column \d+$")


@dataclass(slots=True)
class EpgChannel:
    id: str
    display_names: list[str]
    icon: str | None = None
    urls: list[str] = field(default_factory=list)


@dataclass(slots=True)
class EpgProgramme:
    channel_id: str
    start: datetime
    stop: datetime | None
    title: str
    sub_title: str | None = None
    description: str | None = None
    categories: list[str] = field(default_factory=list)
    episode_num: str | None = None
    icon: str | None = None
    rating: str | None = None
    lang: str | None = None


@dataclass
class XmltvReport:
    """What reading one guide produced; counts are final once the iterator is exhausted."""

    source: str
    channels: int = 0
    programmes: int = 0
    bytes_read: int = 0
    skipped: collections.Counter[str] = field(default_factory=collections.Counter)
    warnings: list[str] = field(default_factory=list)
    generator: str | None = None


# A programme's stop is usually the next one's start, so most values repeat.
_cached_time = lru_cache(maxsize=4096)(parse_xmltv_time)


# --- XML in: parse, assemble -------------------------------------------------------------------------------


def _syntax_error(source_name: str, exc: etree.XMLSyntaxError, *, root_seen: bool, saw_content: bool) -> NotXmltvError:
    line, column, message = _error_location(exc)
    if not root_seen and not saw_content:
        return NotXmltvError(
            f"The guide {source_name!r} is empty.",
            hint="The provider sent no data; check the EPG URL or try again later.",
        )
    if not root_seen:
        return NotXmltvError(
            f"The guide {source_name!r} is not well-formed XML (line {line}, column {column}: {message}).",
            hint="The provider may have sent an error or login page instead of the guide; check the EPG URL.",
        )
    return NotXmltvError(
        f"The guide {source_name!r} is damaged: XML error at line {line}, column {column} ({message}).",
        hint="The download may be truncated; fetch the guide again.",
    )


def _error_location(exc: etree.XMLSyntaxError) -> tuple[int, int, str]:
    line, column = exc.position
    if line > 0:
        return line, column, _LOCATION_SUFFIX.sub("", exc.msg)
    # At close() lxml may only say "no element found" at (0, 0); the real error is the latest one logged
    # (the log also holds earlier parses' errors, so the first entry is not it).
    entries: Sequence[Any] = list(exc.error_log)  # type: ignore[call-overload]  # opaque in lxml-stubs
    for entry in reversed(entries):
        if entry.line > 0 and entry.level_name in ("ERROR", "FATAL"):
            return entry.line, entry.column, entry.message
    return line, column, exc.msg


def _check_root(elem: etree._Element, report: XmltvReport, guard: PrologGuard) -> etree._Element:
    root = elem.getroottree().getroot()
    if root.tag != "tv":
        name = etree.QName(root).localname if isinstance(root.tag, str) else str(root.tag)
        raise NotXmltvError(
            f"The guide {report.source!r} is not an XMLTV document (root element <{name}>, expected <tv>).",
            hint="Use a guide in XMLTV format (.xml or .xml.gz); this source format is not supported.",
        )
    guard.check_root(root)
    report.generator = _clean(root.get("generator-info-name"))
    return root


def iter_xmltv(
    source: GuideSource,
    *,
    source_name: str = "guide",
    max_bytes: int = DEFAULT_MAX_XMLTV_BYTES,
    default_tz: tzinfo = UTC,
    report_to: list[XmltvReport] | None = None,
) -> Generator[EpgChannel | EpgProgramme, None, None]:
    """Channels and programmes of a guide, in document order (but see "Missing stop"), as they are read.

    The report is appended to ``report_to`` at once and filled in while the guide is read.
    """
    report = XmltvReport(source=source_name)
    if report_to is not None:
        report_to.append(report)
    return _read_guide(source, report, max_bytes=max_bytes, default_tz=default_tz)


def parse_xmltv(
    source: GuideSource,
    *,
    source_name: str = "guide",
    max_bytes: int = DEFAULT_MAX_XMLTV_BYTES,
    default_tz: tzinfo = UTC,
) -> tuple[list[EpgChannel], list[EpgProgramme], XmltvReport]:
    """The whole guide in memory: its channels, its programmes and the report."""
    reports: list[XmltvReport] = []
    channels: list[EpgChannel] = []
    programmes: list[EpgProgramme] = []
    items = iter_xmltv(source, source_name=source_name, max_bytes=max_bytes, default_tz=default_tz, report_to=reports)
    for item in items:
        (channels if isinstance(item, EpgChannel) else programmes).append(item)  # type: ignore[arg-type]
    return channels, programmes, reports[0]


def _read_guide(
    source: GuideSource, report: XmltvReport, *, max_bytes: int, default_tz: tzinfo
) -> Generator[EpgChannel | EpgProgramme, None, None]:
    guard = PrologGuard(report.source)
    assembler = _GuideAssembler(report, default_tz)
    parser = new_guide_parser()
    root: etree._Element | None = None
    with open_guide(source, max_bytes=max_bytes, source_name=report.source) as stream:
        while True:
            chunk = stream.read(_CHUNK_BYTES)
            report.bytes_read = stream.bytes_read
            if root is None:
                guard.check(chunk)
            try:
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
            except etree.XMLSyntaxError as exc:
                # Elements that ended before the error tell a damaged guide from a page that is no guide.
                if root is None:
                    root = next((_check_root(elem, report, guard) for elem in _ended(parser)), None)
                raise _syntax_error(
                    report.source, exc, root_seen=root is not None, saw_content=guard.saw_content
                ) from exc
            for elem in _ended(parser):
                if root is None:
                    root = _check_root(elem, report, guard)
                yield from assembler.take(elem, root)
            if not chunk:
                break
    yield from assembler.finish()


def _ended(parser: etree.XMLPullParser) -> Iterator[etree._Element]:
    for _event, node in parser.read_events():
        yield cast(etree._Element, node)  # "end" events always carry an element


class _ChannelSchedule:
    """Per channel: the starts seen so far (sorted epoch seconds) and the programme waiting for its stop."""

    __slots__ = ("pending", "starts", "stops_filled")

    def __init__(self) -> None:
        self.starts = array("q")
        self.pending: EpgProgramme | None = None
        self.stops_filled = 0

    def is_new_start(self, start: datetime) -> bool:
        second = int(start.timestamp())
        starts = self.starts
        if not starts or second > starts[-1]:  # the usual case: a channel's programmes come in order
            starts.append(second)
            return True
        index = bisect_left(starts, second)
        if index < len(starts) and starts[index] == second:
            return False
        starts.insert(index, second)
        return True

    def admit(self, programme: EpgProgramme) -> list[EpgProgramme]:
        """The programmes ready to hand out now that ``programme`` arrived."""
        ready = []
        if self.pending is not None:
            if programme.start > self.pending.start:
                self.pending.stop = programme.start
                self.stops_filled += 1
            ready.append(self.pending)
            self.pending = None
        if programme.stop is None:
            self.pending = programme
        else:
            ready.append(programme)
        return ready


class _GuideAssembler:
    """Turns finished top-level elements into channels and programmes, applying the module's rules."""

    def __init__(self, report: XmltvReport, default_tz: tzinfo) -> None:
        self.report = report
        self.default_tz = default_tz
        self.channel_ids: set[str] = set()
        self.schedules: dict[str, _ChannelSchedule] = {}
        self.open_ended = 0

    def take(self, elem: etree._Element, root: etree._Element) -> Sequence[EpgChannel | EpgProgramme]:
        if elem.getparent() is not root:
            return _NOTHING  # inside a channel/programme (read with it) or the root itself
        items: Sequence[EpgChannel | EpgProgramme] = _NOTHING
        if elem.tag == "programme":
            items = self._programme(elem)
        elif elem.tag == "channel":
            channel = self._channel(elem)
            items = (channel,) if channel else _NOTHING
        else:
            self.report.skipped["unknown_element"] += 1
        # Keep memory flat: drop what was read (and any earlier leftovers) from the tree lxml is building.
        elem.clear()
        while elem.getprevious() is not None:
            del root[0]
        return items

    def finish(self) -> Iterator[EpgProgramme]:
        for schedule in self.schedules.values():
            if schedule.pending is not None:
                self.report.programmes += 1
                yield schedule.pending
        self._warn()

    def _channel(self, elem: etree._Element) -> EpgChannel | None:
        channel_id = _clean(elem.get("id"))
        if not channel_id:
            self.report.skipped["channel_without_id"] += 1
            return None
        if channel_id in self.channel_ids:
            self.report.skipped["duplicate_channel"] += 1
            return None
        self.channel_ids.add(channel_id)
        self.report.channels += 1
        return EpgChannel(
            id=channel_id,
            display_names=_unique(_text(child) for child in elem if child.tag == "display-name"),
            icon=_first_icon(elem),
            urls=_unique(_text(child) for child in elem if child.tag == "url"),
        )

    def _programme(self, elem: etree._Element) -> Sequence[EpgProgramme]:
        skipped = self.report.skipped
        channel_id = _clean(elem.get("channel"))
        if not channel_id:
            skipped["no_channel"] += 1
            return _NOTHING
        try:
            start = _cached_time(elem.get("start") or "", self.default_tz)
        except ValueError:
            skipped["bad_start"] += 1
            return _NOTHING
        stop = None
        stop_text = (elem.get("stop") or "").strip()
        if stop_text:
            try:
                stop = _cached_time(stop_text, self.default_tz)
            except ValueError:
                skipped["bad_stop"] += 1
                return _NOTHING
            if stop <= start:
                skipped["stop_not_after_start"] += 1
                return _NOTHING
        programme = _read_programme(elem, channel_id, start, stop)
        if programme is None:
            skipped["no_title"] += 1
            return _NOTHING
        schedule = self.schedules.get(channel_id)
        if schedule is None:
            schedule = self.schedules[channel_id] = _ChannelSchedule()
        if not schedule.is_new_start(start):
            skipped["duplicate"] += 1
            return _NOTHING
        if stop is None:
            self.open_ended += 1
        ready = schedule.admit(programme)
        self.report.programmes += len(ready)
        return ready

    def _warn(self) -> None:
        undeclared = sorted(self.schedules.keys() - self.channel_ids)
        if undeclared:
            examples = ", ".join(repr(channel_id) for channel_id in undeclared[:5])
            self.report.warnings.append(
                f"{len(undeclared)} channel id(s) have programmes but no <channel> element, e.g. {examples}."
            )
        if self.open_ended:
            filled = sum(schedule.stops_filled for schedule in self.schedules.values())
            self.report.warnings.append(
                f"{self.open_ended} programme(s) had no stop time: {filled} now end where the next programme "
                f"of their channel starts, {self.open_ended - filled} have no end."
            )


def _read_programme(
    elem: etree._Element, channel_id: str, start: datetime, stop: datetime | None
) -> EpgProgramme | None:
    by_tag: dict[str, list[etree._Element]] = collections.defaultdict(list)
    for child in elem:
        if isinstance(child.tag, str):
            by_tag[child.tag].append(child)
    title, lang = _pick(by_tag["title"], None)
    if title is None:
        return None
    return EpgProgramme(
        channel_id=channel_id,
        start=start,
        stop=stop,
        title=title,
        sub_title=_pick(by_tag["sub-title"], lang)[0],
        description=_pick(by_tag["desc"], lang)[0],
        categories=_categories(by_tag["category"], lang),
        episode_num=_episode_num(by_tag["episode-num"]),
        icon=_first_icon(elem),
        rating=_rating(by_tag["rating"]),
        lang=lang,
    )


def _pick(elems: list[etree._Element], lang: str | None) -> tuple[str | None, str | None]:
    """The non-empty text in ``lang`` (``None``: without a lang attribute), else the first; and its lang."""
    candidates = [(text, _lang(elem)) for elem in elems if (text := _text(elem))]
    for text, text_lang in candidates:
        if text_lang == lang:
            return text, text_lang
    return candidates[0] if candidates else (None, None)


def _categories(elems: list[etree._Element], lang: str | None) -> list[str]:
    matching = [elem for elem in elems if _lang(elem) in (lang, None)]
    return _unique(_text(elem) for elem in matching or elems)


def _episode_num(elems: list[etree._Element]) -> str | None:
    by_system = {elem.get("system"): _text(elem) for elem in reversed(elems)}  # reversed: the first one wins
    if xmltv_ns := by_system.get("xmltv_ns"):
        return "".join(xmltv_ns.split())
    return by_system.get("onscreen") or None


def _rating(elems: list[etree._Element]) -> str | None:
    for elem in elems:
        for value in elem.iterchildren("value"):
            if text := _text(value):
                return text
    return None


def _first_icon(elem: etree._Element) -> str | None:
    for icon in elem.iterchildren("icon"):
        if src := _clean(icon.get("src")):
            return src
    return None


def _text(elem: etree._Element) -> str:
    """The element's own text; undeclared entity references (``&x;``, DTD not loaded) are dropped."""
    text = elem.text or ""
    if len(elem):
        text += "".join(child.tail or "" for child in elem)
    return _clean(text) or ""


def _lang(elem: etree._Element) -> str | None:
    return _clean(elem.get("lang")) or None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    return unicodedata.normalize("NFC", value.strip())


def _unique(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(text for text in texts if text))
