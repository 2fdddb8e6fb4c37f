"""Every real playlist in the shared fixtures parses, and the report explains every line that did not import.

The expectation for each file comes from an independent, deliberately simple scan of its lines (below), not from
the parser. Where the two differ on purpose, the test says why:

* ``#EXTINF-1 tvg-id=...`` (iptv-org 2023 ``bq.m3u``: the colon is missing) — a strict reader would not know it as
  an ``#EXTINF`` and would import the URL after it as ``url_without_extinf``; the parser salvages the line as
  ``#EXTINF:-1`` and counts it in ``report.repaired["malformed_extinf"]``, so the entry keeps its title.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from m3u_strm.config import DEFAULT_SCHEMES
from m3u_strm.ingest.m3u import M3UEntry, ParseReport, iter_m3u, parse_m3u


def shared_data_dir() -> Path | None:
    """``/work/shared/data`` next to the repository, else ``$M3U_STRM_SHARED_DATA``; None when neither exists."""
    beside_repo = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    if beside_repo.is_dir():
        return beside_repo
    from_env = os.environ.get("M3U_STRM_SHARED_DATA")
    if from_env and Path(from_env).is_dir():
        return Path(from_env)
    return None


DATA = shared_data_dir()
REAL_M3U = DATA / "real_m3u" if DATA else None
PLAYLISTS = sorted(p for p in REAL_M3U.rglob("*") if p.suffix in (".m3u", ".m3u8")) if REAL_M3U else []
FREE_TV = REAL_M3U / "free-tv_2026-08-22" / "playlist.m3u8" if REAL_M3U else None
BONAIRE = REAL_M3U / "iptv-org_2023-01-31_legacy" / "bq.m3u" if REAL_M3U else None

pytestmark = pytest.mark.skipif(not PLAYLISTS, reason="shared real_m3u fixtures not found (M3U_STRM_SHARED_DATA)")

_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+)://")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def simple_scan(data: bytes) -> Counter[str]:
    """Count what a plain reader sees: #EXTINF lines, URL lines, and how they pair up."""
    seen: Counter[str] = Counter()
    waiting = False
    for raw in re.split(r"\r\n|\r|\n", data.decode("utf-8-sig")):
        line = raw.strip()
        if not line:
            continue
        if line.upper().startswith("#EXTINF"):
            if waiting:
                seen["duplicate_extinf"] += 1
            waiting = True
            seen["extinf"] += 1
            if not line.startswith("#EXTINF:"):
                seen["extinf_missing_colon"] += 1
        elif line.startswith("#"):
            continue  # #EXTM3U, #EXTVLCOPT, #KODIPROP, #EXTGRP and comments sit between #EXTINF and URL
        elif (url := _URL.match(line)) is not None and url.group(1).lower() in DEFAULT_SCHEMES:
            seen["extinf_with_url" if waiting else "url_without_extinf"] += 1
            waiting = False
        else:
            seen["scheme_not_allowed" if url else "not_a_url"] += 1
            waiting = False
    if waiting:
        seen["extinf_without_url"] += 1
    return seen


def parse_file(path: Path) -> tuple[list[M3UEntry], ParseReport]:
    return parse_m3u(path.read_bytes(), source=path.name)


def relative_id(path: Path) -> str:
    assert REAL_M3U is not None
    return str(path.relative_to(REAL_M3U))


@pytest.mark.parametrize("path", PLAYLISTS, ids=relative_id)
def test_real_playlist_entries_match_a_simple_scan(path: Path) -> None:
    expected = simple_scan(path.read_bytes())
    entries, report = parse_file(path)

    # Every #EXTINF followed by a URL is an entry; so is every URL on its own (imported, titled from its path).
    assert report.entries == len(entries) == expected["extinf_with_url"] + expected["url_without_extinf"]
    assert report.repaired["url_without_extinf"] == expected["url_without_extinf"]
    # Lines dropped are the ones the scan cannot pair, each counted under its reason.
    for reason in ("duplicate_extinf", "extinf_without_url", "not_a_url", "scheme_not_allowed"):
        assert report.skipped[reason] == expected[reason], reason
    assert sum(report.skipped.values()) == sum(
        expected[reason] for reason in ("duplicate_extinf", "extinf_without_url", "not_a_url", "scheme_not_allowed")
    )
    # A missing colon is salvaged (see the module docstring) and counted as a repair.
    assert report.repaired["malformed_extinf"] >= expected["extinf_missing_colon"]
    assert report.lines >= expected["extinf"] + report.entries - report.repaired["url_without_extinf"]


@pytest.mark.parametrize("path", PLAYLISTS, ids=relative_id)
def test_real_playlist_text_is_clean(path: Path) -> None:
    entries, report = parse_file(path)
    assert report.decode_replacements == 0
    for entry in entries:
        assert entry.title, entry
        assert _URL.match(entry.url) and entry.url == entry.url.strip()
        for text in (entry.title, entry.url, *entry.attrs.values(), *entry.vlc_options.values()):
            assert not _CONTROL.search(text), entry
            assert unicodedata.is_normalized("NFC", text), entry


def test_free_tv_no_public_stream_lines_are_not_urls() -> None:
    assert FREE_TV is not None
    entries, report = parse_file(FREE_TV)
    assert report.skipped["not_a_url"] == 9
    assert all("NO PUBLIC STREAM" not in entry.url for entry in entries)
    data = FREE_TV.read_bytes().decode()
    bracket_lines = [n for n, line in enumerate(data.splitlines(), 1) if line.strip() == "[NO PUBLIC STREAM]"]
    assert report.skipped_lines["not_a_url"] == bracket_lines


def test_free_tv_header_yields_about_a_hundred_epg_urls() -> None:
    assert FREE_TV is not None
    _, report = parse_file(FREE_TV)
    first_line = FREE_TV.read_bytes().decode().splitlines()[0]
    value = re.search(r'x-tvg-url="([^"]*)"', first_line)
    assert value is not None
    listed = list(dict.fromkeys(url.strip() for url in value.group(1).split(",") if url.strip()))
    assert report.header.epg_urls == listed
    assert 90 <= len(listed) <= 110


def test_free_tv_duplicate_urls_are_kept_for_the_catalogue_to_dedupe() -> None:
    assert FREE_TV is not None
    entries, _ = parse_file(FREE_TV)
    url_lines = Counter(
        line.strip() for line in FREE_TV.read_bytes().decode().splitlines() if line.strip() and line[0] != "#"
    )
    # PROVENANCE counts 18 repeated URL lines; one of them is the "[NO PUBLIC STREAM]" placeholder.
    assert sum(1 for count in url_lines.values() if count > 1) == 18
    del url_lines["[NO PUBLIC STREAM]"]
    assert Counter(entry.url for entry in entries) == url_lines


def test_missing_colon_extinf_in_bonaire_is_salvaged() -> None:
    assert BONAIRE is not None
    entries, report = parse_file(BONAIRE)
    assert [(e.title, e.attrs, e.url, e.line_no) for e in entries] == [
        ("Nos TV Bonaire", {"tvg-id": "NosTVBonaire.bq"}, "http://streaming.flamingotv.net/nostv/live.m3u8", 2)
    ]
    assert report.repaired_lines == {"malformed_extinf": [2]}
    assert not report.skipped


def comparable(entries: list[M3UEntry]) -> list[tuple[object, ...]]:
    return [(e.title, e.url, e.duration, e.attrs, e.group, e.vlc_options, e.kodi_props, e.line_no) for e in entries]


@pytest.mark.parametrize(
    "name",
    ["free-tv_2026-08-22/playlist.m3u8", "iptv-org_2023-01-31_legacy/ru.m3u", "iptv-org_2026-06-23/streams/us.m3u"],
)
def test_bom_and_crlf_variant_parses_like_the_original(name: str) -> None:
    assert REAL_M3U is not None
    original = (REAL_M3U / name).read_bytes()
    lf = original.replace(b"\r\n", b"\n")
    bom_crlf = b"\xef\xbb\xbf" + lf.replace(b"\n", b"\r\n")
    lf_entries, lf_report = parse_m3u(lf, source=name)
    crlf_entries, crlf_report = parse_m3u(bom_crlf, source=name)
    assert comparable(crlf_entries) == comparable(lf_entries)
    assert crlf_entries[0].line_no == lf_entries[0].line_no  # the first entry is not lost to the BOM
    for attribute in ("header", "entries", "lines", "skipped", "skipped_lines", "repaired", "repaired_lines"):
        assert getattr(crlf_report, attribute) == getattr(lf_report, attribute), attribute


def test_real_playlist_in_small_chunks_parses_identically() -> None:
    assert FREE_TV is not None
    data = FREE_TV.read_bytes()
    whole_entries, whole_report = parse_m3u(data, source="free-tv")
    reports: list[ParseReport] = []
    chunks = (data[start : start + 7] for start in range(0, len(data), 7))
    chunked = list(iter_m3u(chunks, report_to=reports, source="free-tv"))
    assert comparable(chunked) == comparable(whole_entries)
    assert reports[0] == whole_report
