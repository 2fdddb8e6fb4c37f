"""Inspect a playlist or guide without storing anything: what a sync of it would see."""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import httpx

from m3u_strm.config import Settings
from m3u_strm.ingest import xmltv
from m3u_strm.ingest.fetch import download, playlist_parser, provider_client
from m3u_strm.ingest.http import read_local
from m3u_strm.ingest.m3u import M3UParser
from m3u_strm.ingest.rows import classify_url
from m3u_strm.privacy.redaction import redact

TOP_GROUPS = 20


@dataclass
class Inspection:
    source: str
    kind: str  # playlist | guide
    bytes_read: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    groups: list[tuple[str, int]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_lines: dict[str, list[int]] = field(default_factory=dict)
    repaired: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    epg_urls: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "bytes_read": self.bytes_read,
            "counts": self.counts,
            "groups": [{"group": g, "entries": n} for g, n in self.groups],
            "skipped": self.skipped,
            "skipped_lines": self.skipped_lines,
            "repaired": self.repaired,
            "warnings": self.warnings,
            "epg_urls": self.epg_urls,
        }


class _PlaylistTally:
    def __init__(self, parser: M3UParser) -> None:
        self.parser = parser
        self.kinds: Counter[str] = Counter()
        self.groups: Counter[str] = Counter()

    def feed(self, chunk: bytes | None) -> None:
        entries = self.parser.feed(chunk) if chunk is not None else self.parser.close()
        for entry in entries:
            self.kinds[classify_url(entry.url)] += 1
            self.groups[entry.group or "(no group)"] += 1

    def result(self, source: str) -> Inspection:
        report = self.parser.report
        return Inspection(
            source=source,
            kind="playlist",
            bytes_read=report.bytes_read,
            counts={"entries": report.entries, **{k: self.kinds.get(k, 0) for k in ("streams", "movies", "episodes")}},
            groups=self.groups.most_common(TOP_GROUPS),
            skipped=dict(report.skipped),
            skipped_lines={k: list(v) for k, v in report.skipped_lines.items()},
            repaired=dict(report.repaired),
            warnings=[redact(w) for w in report.warnings],
            epg_urls=[redact(u) for u in report.header.epg_urls],
        )


def _inspect_guide(path: Path, source: str, settings: Settings) -> Inspection:
    reports: list[xmltv.XmltvReport] = []
    for _ in xmltv.iter_xmltv(path, source_name=source, max_bytes=settings.max_xmltv_bytes, report_to=reports):
        pass
    report = reports[0]
    return Inspection(
        source=source, kind="guide", bytes_read=report.bytes_read,
        counts={"channels": report.channels, "programmes": report.programmes},
        skipped=dict(report.skipped), warnings=[redact(w) for w in report.warnings],
    )  # fmt: skip


def _looks_like_xml(head: bytes) -> bool:
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return stripped.startswith((b"<?xml", b"<tv", b"<!DOCTYPE tv"))


def inspect_local(path: str, settings: Settings) -> Inspection:
    """Inspect a local playlist or guide (guides are told apart by their first bytes)."""
    source = redact(path)
    chunks = read_local(path, max_bytes=settings.max_playlist_bytes)
    first = next(chunks, b"")
    if _looks_like_xml(first):
        return _inspect_guide(Path(path.removeprefix("file://")).expanduser(), source, settings)
    tally = _PlaylistTally(playlist_parser(settings, source))
    tally.feed(first)
    for chunk in chunks:
        tally.feed(chunk)
    tally.feed(None)
    return tally.result(source)


async def inspect_url(url: str, settings: Settings, http: httpx.AsyncClient) -> Inspection:
    source = redact(url)
    chunks = download(
        http, url, settings, source=source, headers={"User-Agent": settings.default_user_agent},
        max_bytes=settings.max_playlist_bytes,
    )  # fmt: skip
    tally = _PlaylistTally(playlist_parser(settings, source))
    with tempfile.TemporaryDirectory(prefix="m3u-strm-inspect-") as tmp:
        guide = Path(tmp) / "guide.xml"
        handle: BinaryIO | None = None
        try:
            async for chunk in chunks:
                if handle is None and tally.parser.report.bytes_read == 0 and _looks_like_xml(chunk):
                    handle = guide.open("wb")  # a guide: kept on disk and parsed as one below
                if handle is not None:
                    handle.write(chunk)
                else:
                    tally.feed(chunk)
        finally:
            if handle is not None:
                handle.close()
        if handle is not None:
            return _inspect_guide(guide, source, settings)
    tally.feed(None)
    return tally.result(source)


async def inspect_source(location: str, settings: Settings, http: httpx.AsyncClient | None = None) -> Inspection:
    """Parse a playlist or XMLTV guide from a path or URL and report what is in it."""
    if urlsplit(location).scheme in {"http", "https"}:
        own = http is None
        client = http or provider_client(settings)
        try:
            return await inspect_url(location, settings, client)
        finally:
            if own:
                await client.aclose()
    return inspect_local(location, settings)
