"""The XMLTV reader on real guides from the wild (see data/real_xmltv/PROVENANCE.md)."""

from __future__ import annotations

import gzip
import http.server
import io
import os
import re
import threading
from collections import Counter
from datetime import UTC
from pathlib import Path

import pytest

from m3u_strm.errors import NotXmltvError
from m3u_strm.ingest.xmltv import PROGRAMME_SKIP_REASONS, EpgProgramme, parse_xmltv, parse_xmltv_time


def _shared_data() -> Path:
    candidate = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    if not candidate.is_dir() and os.environ.get("M3U_STRM_SHARED_DATA"):
        candidate = Path(os.environ["M3U_STRM_SHARED_DATA"])
    return candidate


REAL_XMLTV = _shared_data() / "real_xmltv"
GUIDES = sorted(path for path in REAL_XMLTV.rglob("*") if path.is_file() and path.suffix != ".md")
NOT_XMLTV = {"hoy.tv__content.xml"}  # PROVENANCE.md: "NOT XMLTV (root <ProgramGuide>)"
CHANNEL_SKIP_REASONS = {"duplicate_channel", "channel_without_id"}

pytestmark = pytest.mark.skipif(not GUIDES, reason=f"real XMLTV samples not found under {REAL_XMLTV}")


def _xml_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _ids(path: Path) -> str:
    return str(path.relative_to(REAL_XMLTV))


def test_the_samples_are_all_there() -> None:
    assert len(GUIDES) == 13
    assert {path.name for path in GUIDES} >= NOT_XMLTV


@pytest.mark.parametrize("path", [p for p in GUIDES if p.name not in NOT_XMLTV], ids=_ids)
def test_real_guide_parses_and_accounts_for_every_element(path: Path) -> None:
    xml = _xml_bytes(path)
    channels, programmes, report = parse_xmltv(path, source_name=path.name)

    assert len(programmes) == report.programmes > 0
    assert len(channels) == report.channels > 0
    assert report.bytes_read == len(xml)
    # Independent count: every <programme> in the file is either kept or skipped for a reason.
    skipped_programmes = sum(report.skipped[reason] for reason in PROGRAMME_SKIP_REASONS)
    assert len(re.findall(rb"<programme[\s>/]", xml)) == report.programmes + skipped_programmes
    skipped_channels = sum(report.skipped[reason] for reason in CHANNEL_SKIP_REASONS)
    assert len(re.findall(rb"<channel[\s>/]", xml)) == report.channels + skipped_channels
    assert all(p.start.tzinfo is UTC and (p.stop is None or p.stop.tzinfo is UTC) for p in programmes)
    assert all(p.stop is None or p.stop > p.start for p in programmes)
    assert all(p.title and p.title == p.title.strip() for p in programmes)
    assert len({(p.channel_id, p.start) for p in programmes}) == len(programmes)


@pytest.mark.parametrize("path", [p for p in GUIDES if p.name in NOT_XMLTV], ids=_ids)
def test_non_xmltv_sample_is_rejected_with_clear_message(path: Path) -> None:
    with pytest.raises(NotXmltvError) as caught:
        parse_xmltv(path, source_name="hoy.tv")
    assert caught.value.message == (
        "The guide 'hoy.tv' is not an XMLTV document (root element <ProgramGuide>, expected <tv>)."
    )
    assert caught.value.hint


EXPECTED = {
    # file: (channels, programmes, skipped)
    "freeview-uk/epg.xml": (9, 1866, {"duplicate": 204}),
    "iptv-org-epg_site_samples/makrodigitaltelevision.com__content.xml": (1, 64, {"duplicate": 2}),
    "iptv-org-epg_site_samples/energeek.cl__content.xml": (5, 294, {}),
    "iptv-org-epg_site_samples/epg.iptvx.one__content.xml": (1, 230, {}),
    "iptv-org-epg_site_samples/epg.tmacaraibes.com__content.xml": (1, 318, {}),
    "iptv-org-epg_site_samples/epgshare01.online__content.xml": (2, 203, {}),
    "iptv-org-epg_site_samples/iptv-org-generated__guide.xml": (1, 27, {}),
    "iptv-org-epg_site_samples/nzxmltv.com__content.xml": (1, 2, {}),
    "iptv-org-epg_site_samples/vantagetv.ee__content.xml": (3, 332, {}),
    "iptv-org-epg_site_samples/x1co.com.br__content.xml": (1, 91, {}),
}


@pytest.mark.parametrize(("name", "expected"), EXPECTED.items(), ids=EXPECTED.keys())
def test_real_guide_counts(name: str, expected: tuple[int, int, dict[str, int]]) -> None:
    channels, programmes, report = parse_xmltv(REAL_XMLTV / name)
    assert (len(channels), len(programmes), report.skipped) == (expected[0], expected[1], Counter(expected[2]))


@pytest.mark.parametrize(
    "plain",
    [p for p in GUIDES if (p.parent / (p.name + ".gz")).exists()],
    ids=_ids,
)
def test_gzipped_guide_parses_identically_to_plain(plain: Path) -> None:
    from_plain = parse_xmltv(plain)
    from_gzip = parse_xmltv(plain.parent / (plain.name + ".gz"))
    assert from_gzip[:2] == from_plain[:2]  # (the iptvx pair differs only in CRLF vs LF)
    assert from_gzip[2].skipped == from_plain[2].skipped


def test_freeview_keeps_the_first_of_each_duplicate_in_document_order() -> None:
    xml = (REAL_XMLTV / "freeview-uk/epg.xml").read_bytes()
    _, programmes, report = parse_xmltv(io.BytesIO(xml))
    keys = [
        (channel.decode(), parse_xmltv_time(start.decode()))
        for channel, start in re.findall(rb'<programme channel="([^"]+)" start="([^"]+)"', xml)
    ]
    first_occurrences = list(dict.fromkeys(keys))
    assert len(keys) - len(first_occurrences) == report.skipped["duplicate"] == 204
    assert [(p.channel_id, p.start) for p in programmes] == first_occurrences


def test_tmacaraibes_takes_first_language_and_local_offset() -> None:
    _, programmes, _ = parse_xmltv(REAL_XMLTV / "iptv-org-epg_site_samples/epg.tmacaraibes.com__content.xml")
    first = programmes[0]
    assert (first.title, first.lang, first.rating) == ("GLOBAL", "fr", "Tout public")
    assert first.description == "Toutes les musiques africaines et caribéennes."
    assert first.start.isoformat() == "2026-05-03T04:00:00+00:00"  # 00:00 -0400


def test_nzxmltv_episode_num_prefers_xmltv_ns() -> None:
    _, programmes, _ = parse_xmltv(REAL_XMLTV / "iptv-org-epg_site_samples/nzxmltv.com__content.xml")
    assert programmes[0].episode_num == "2022.36.0"
    assert programmes[0].categories == ["Documentary"]


def test_iptvx_guide_with_remote_dtd_never_contacts_the_dtd_host() -> None:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        original = (REAL_XMLTV / "iptv-org-epg_site_samples/epg.iptvx.one__content.xml").read_bytes()
        assert b'<!DOCTYPE tv SYSTEM "https://iptvx.one/xmltv.dtd">' in original
        local_dtd = f'<!DOCTYPE tv SYSTEM "http://127.0.0.1:{server.server_address[1]}/xmltv.dtd">'.encode()
        redirected = original.replace(b'<!DOCTYPE tv SYSTEM "https://iptvx.one/xmltv.dtd">', local_dtd)
        expected = parse_xmltv(io.BytesIO(original))
        result = parse_xmltv(io.BytesIO(redirected))
    finally:
        server.shutdown()
        server.server_close()
    assert result[:2] == expected[:2]
    assert hits == []
    assert any("канал" in name for name in result[0][0].display_names)


def test_generated_iptv_org_guide_keeps_feed_suffix_in_channel_id() -> None:
    channels, programmes, _ = parse_xmltv(REAL_XMLTV / "iptv-org-epg_site_samples/iptv-org-generated__guide.xml")
    assert channels[0].id == "ANT1Europe.gr@SD"
    assert channels[0].urls == ["https://antennaeurope.gr"]
    assert {p.channel_id for p in programmes} == {"ANT1Europe.gr@SD"}
    assert all(isinstance(p, EpgProgramme) and p.lang == "el" for p in programmes)
