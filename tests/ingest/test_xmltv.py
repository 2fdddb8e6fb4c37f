"""The XMLTV reader: time quirks, programme rules, unsafe documents, size caps, streaming and memory."""

from __future__ import annotations

import dataclasses
import gzip
import http.server
import io
import subprocess
import sys
import textwrap
import threading
import tracemalloc
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from m3u_strm.errors import IngestError, LimitExceededError, NotXmltvError, UnsafeDocumentError
from m3u_strm.ingest.xmltv import (
    EpgChannel,
    EpgProgramme,
    XmltvReport,
    iter_xmltv,
    open_guide,
    parse_xmltv,
    parse_xmltv_time,
)

T0 = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def guide(body: str, *, prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n') -> bytes:
    return f'{prolog}<tv generator-info-name="test">\n{body}\n</tv>\n'.encode()


def prog(start: str = "20240101120000 +0000", stop: str | None = None, *, channel: str = "c1", inner: str = "") -> str:
    attrs = f"channel={quoteattr(channel)} start={quoteattr(start)}"
    attrs += f" stop={quoteattr(stop)}" if stop is not None else ""
    return f"<programme {attrs}>{inner or '<title>Show</title>'}</programme>"


def parse_bytes(data: bytes, **options: object) -> tuple[list[EpgChannel], list[EpgProgramme], XmltvReport]:
    return parse_xmltv(io.BytesIO(data), **options)  # type: ignore[arg-type]


class TrickleReader(io.RawIOBase):
    """A real file-like object that hands out at most ``step`` bytes per read, like a slow socket."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), self._step, len(self._data))
        buffer[:size] = self._data[:size]
        self._data = self._data[size:]
        return size


# --- times ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20240101120000 +0100", datetime(2024, 1, 1, 11, 0, tzinfo=UTC)),
        ("20240101120000 -0300", datetime(2024, 1, 1, 15, 0, tzinfo=UTC)),
        ("20240101120000 -0500", datetime(2024, 1, 1, 17, 0, tzinfo=UTC)),
        ("20240101120000 +0000", datetime(2024, 1, 1, 12, 0, tzinfo=UTC)),
        ("20240101120000 +0530", datetime(2024, 1, 1, 6, 30, tzinfo=UTC)),
        ("20240101120000+0100", datetime(2024, 1, 1, 11, 0, tzinfo=UTC)),
        ("20240101120000 +01:00", datetime(2024, 1, 1, 11, 0, tzinfo=UTC)),
        ("20240101120000 +01", datetime(2024, 1, 1, 11, 0, tzinfo=UTC)),
        ("20240101120000 Z", datetime(2024, 1, 1, 12, 0, tzinfo=UTC)),
        ("20240101120000 UTC", datetime(2024, 1, 1, 12, 0, tzinfo=UTC)),
        ("20240101120000 GMT", datetime(2024, 1, 1, 12, 0, tzinfo=UTC)),
        ("20240101120000", datetime(2024, 1, 1, 12, 0, tzinfo=UTC)),
        ("202401011200", datetime(2024, 1, 1, 12, 0, tzinfo=UTC)),
        ("202401011200 +0100", datetime(2024, 1, 1, 11, 0, tzinfo=UTC)),
        ("2024010112", datetime(2024, 1, 1, 12, 0, tzinfo=UTC)),
        ("20240101", datetime(2024, 1, 1, 0, 0, tzinfo=UTC)),
        ("20240101120059", datetime(2024, 1, 1, 12, 0, 59, tzinfo=UTC)),
        ("  20240101120000 +0100  ", datetime(2024, 1, 1, 11, 0, tzinfo=UTC)),
        ("20240101003000 +0100", datetime(2023, 12, 31, 23, 30, tzinfo=UTC)),
        ("20240229235959 -1200", datetime(2024, 3, 1, 11, 59, 59, tzinfo=UTC)),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_xmltv_time_is_read_as_utc(value: str, expected: datetime) -> None:
    parsed = parse_xmltv_time(value)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "garbage",
        "2024-01-01 12:00:00",
        "2024010112000",  # 13 digits
        "202401011200000",  # 15 digits
        "20241301120000 +0000",  # month 13
        "20240230120000 +0000",  # 30 February
        "20240101250000 +0000",
        "20240101126000 +0000",
        "20240101120060 +0000",
        "20240101120000 +2400",
        "20240101120000 +0160",
        "20240101120000 +1",
        "20240101120000 EST",
        "20240101120000 +0100 extra",
        "٢٠٢٤٠١٠١١٢٠٠٠٠",  # Arabic-Indic digits are not XMLTV digits
        "00000101000000 +0000",
        "00010101000000 +0100",  # before year 1 in UTC
    ],
)
def test_garbage_time_raises_value_error(value: str) -> None:
    with pytest.raises(ValueError):
        parse_xmltv_time(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20240115120000", datetime(2024, 1, 15, 12, 0, tzinfo=UTC)),  # GMT
        ("20240715120000", datetime(2024, 7, 15, 11, 0, tzinfo=UTC)),  # BST
        ("20240331013000", datetime(2024, 3, 31, 1, 30, tzinfo=UTC)),  # gap: read with the offset before (GMT)
        ("20241027013000", datetime(2024, 10, 27, 0, 30, tzinfo=UTC)),  # overlap: first occurrence (BST)
        ("20240715120000 +0000", datetime(2024, 7, 15, 12, 0, tzinfo=UTC)),  # explicit offset wins
    ],
    ids=["winter", "summer", "dst-gap", "dst-overlap", "explicit-offset"],
)
def test_time_without_offset_uses_default_zone_with_pep495_fold(value: str, expected: datetime) -> None:
    assert parse_xmltv_time(value, ZoneInfo("Europe/London")) == expected


def test_guide_without_offsets_is_read_in_default_tz() -> None:
    data = guide(prog("20240101120000", "20240101130000"))
    _, programmes, _ = parse_bytes(data, default_tz=timezone(timedelta(hours=-5)))
    assert (programmes[0].start, programmes[0].stop) == (T0 + timedelta(hours=5), T0 + timedelta(hours=6))


# --- programme rules --------------------------------------------------------------------------------------------


@dataclass
class RuleCase:
    body: str
    kept: list[tuple[str, datetime, datetime | None]]  # (channel, start, stop) in output order
    skipped: dict[str, int]


H = timedelta(hours=1)
RULE_CASES = {
    "complete-programme-kept": RuleCase(prog("20240101120000 +0000", "20240101130000 +0000"), [("c1", T0, T0 + H)], {}),
    "garbage-start-skipped": RuleCase(prog("tomorrow", "20240101130000 +0000"), [], {"bad_start": 1}),
    "missing-start-skipped": RuleCase(
        '<programme channel="c1" stop="20240101130000"><title>x</title></programme>', [], {"bad_start": 1}
    ),
    "garbage-stop-skipped": RuleCase(prog("20240101120000", "soon"), [], {"bad_stop": 1}),
    "stop-equal-start-skipped": RuleCase(
        prog("20240101120000 +0000", "20240101120000 +0000"), [], {"stop_not_after_start": 1}
    ),
    "stop-before-start-skipped": RuleCase(
        prog("20240101120000 +0000", "20240101110000 +0000"), [], {"stop_not_after_start": 1}
    ),
    "stop-before-start-only-after-offsets": RuleCase(
        prog("20240101120000 +0000", "20240101123000 +0100"), [], {"stop_not_after_start": 1}
    ),
    "missing-channel-skipped": RuleCase(
        '<programme start="20240101120000"><title>x</title></programme>', [], {"no_channel": 1}
    ),
    "blank-channel-skipped": RuleCase(prog("20240101120000", channel="  "), [], {"no_channel": 1}),
    "missing-title-skipped": RuleCase(prog("20240101120000", inner="<desc>d</desc>"), [], {"no_title": 1}),
    "blank-title-skipped": RuleCase(prog("20240101120000", inner="<title>  </title>"), [], {"no_title": 1}),
    "duplicate-channel-start-keeps-first": RuleCase(
        prog("20240101120000", "20240101130000")
        + prog("20240101120000", "20240101140000")
        + prog("20240101120000 +0000", "20240101130000", channel="c2"),
        [("c1", T0, T0 + H), ("c2", T0, T0 + H)],
        {"duplicate": 1},
    ),
    "duplicate-after-offset-normalisation": RuleCase(
        prog("20240101120000 +0000", "20240101130000") + prog("20240101130000 +0100", "20240101140000"),
        [("c1", T0, T0 + H)],
        {"duplicate": 1},
    ),
    "late-duplicate-in-unsorted-guide": RuleCase(
        prog("20240101140000", "20240101150000")
        + prog("20240101120000", "20240101130000")
        + prog("20240101140000", "20240101160000"),
        [("c1", T0 + 2 * H, T0 + 3 * H), ("c1", T0, T0 + H)],
        {"duplicate": 1},
    ),
    "missing-stop-takes-next-start": RuleCase(
        prog("20240101120000") + prog("20240101133000", "20240101140000"),
        [("c1", T0, T0 + 1.5 * H), ("c1", T0 + 1.5 * H, T0 + 2 * H)],
        {},
    ),
    "missing-stop-ignores-other-channels": RuleCase(
        prog("20240101120000") + prog("20240101123000", "20240101130000", channel="c2"),
        [("c2", T0 + 0.5 * H, T0 + H), ("c1", T0, None)],
        {},
    ),
    "missing-stop-chain": RuleCase(
        prog("20240101120000") + prog("20240101130000") + prog("20240101140000"),
        [("c1", T0, T0 + H), ("c1", T0 + H, T0 + 2 * H), ("c1", T0 + 2 * H, None)],
        {},
    ),
    "missing-stop-last-stays-open": RuleCase(prog("20240101120000"), [("c1", T0, None)], {}),
    "missing-stop-next-earlier-stays-open": RuleCase(
        prog("20240101120000") + prog("20240101100000", "20240101110000"),
        [("c1", T0, None), ("c1", T0 - 2 * H, T0 - H)],
        {},
    ),
    "missing-stop-not-filled-by-its-duplicate": RuleCase(
        prog("20240101120000") + prog("20240101120000", "20240101150000") + prog("20240101130000", "20240101140000"),
        [("c1", T0, T0 + H), ("c1", T0 + H, T0 + 2 * H)],
        {"duplicate": 1},
    ),
    "blank-stop-is-missing-stop": RuleCase(prog("20240101120000", " "), [("c1", T0, None)], {}),
    "skips-are-counted-per-reason": RuleCase(
        prog("x") + prog("y") + prog("20240101120000", "z") + prog("20240101120000", inner="<desc/>"),
        [],
        {"bad_start": 2, "bad_stop": 1, "no_title": 1},
    ),
}


@pytest.mark.parametrize("case", RULE_CASES.values(), ids=RULE_CASES.keys())
def test_programme_rules(case: RuleCase) -> None:
    _, programmes, report = parse_bytes(guide(case.body))
    assert [(p.channel_id, p.start, p.stop) for p in programmes] == case.kept
    assert report.skipped == Counter(case.skipped)
    assert report.programmes == len(programmes)


def test_all_times_are_utc() -> None:
    _, programmes, _ = parse_bytes(guide(prog("20240101120000 -0300", "20240101200000 +0200")))
    assert programmes[0].start.tzinfo is UTC and programmes[0].stop is not None
    assert programmes[0].stop.tzinfo is UTC


# --- text and fields --------------------------------------------------------------------------------------------

FIELD_CASES = {
    "title-without-lang-wins": (
        '<title lang="fr">Le Film</title><title>The Film</title>',
        {"title": "The Film", "lang": None},
    ),
    "first-title-when-all-have-lang": (
        '<title lang="fr">Le Film</title><title lang="en">The Film</title>',
        {"title": "Le Film", "lang": "fr"},
    ),
    "blank-first-title-passed-over": ("<title> </title><title>Real</title>", {"title": "Real"}),
    "text-stripped": ("<title>\n   Spaced out \t</title>", {"title": "Spaced out"}),
    "text-nfc-normalised": ("<title>Cafe\u0301</title>", {"title": "Caf\u00e9"}),
    "predefined-and-char-entities-resolved": (
        "<title>Tom &amp; Jerry &#233;&lt;3</title>",
        {"title": "Tom & Jerry é<3"},
    ),
    "cdata-read": ("<title><![CDATA[A <b> & B]]></title>", {"title": "A <b> & B"}),
    "subtitle-and-desc-follow-title-lang": (
        '<title lang="en">T</title><sub-title lang="fr">S-fr</sub-title><sub-title lang="en">S-en</sub-title>'
        '<desc lang="fr">D-fr</desc><desc lang="en">D-en</desc>',
        {"sub_title": "S-en", "description": "D-en"},
    ),
    "subtitle-falls-back-to-first": (
        '<title lang="en">T</title><sub-title lang="fr">S-fr</sub-title>',
        {"sub_title": "S-fr"},
    ),
    "categories-in-title-lang-and-unique": (
        '<title lang="en">T</title><category lang="en">News</category><category lang="fr">Infos</category>'
        "<category>Talk</category><category lang='en'>News</category>",
        {"categories": ["News", "Talk"]},
    ),
    "categories-fall-back-to-all": (
        '<title lang="en">T</title><category lang="fr">Infos</category><category lang="de">Nachrichten</category>',
        {"categories": ["Infos", "Nachrichten"]},
    ),
    "episode-num-prefers-xmltv-ns": (
        '<title>T</title><episode-num system="onscreen">S01E02</episode-num>'
        '<episode-num system="dd_progid">EP1</episode-num><episode-num system="xmltv_ns"> 0 . 1 . 0/1 </episode-num>',
        {"episode_num": "0.1.0/1"},
    ),
    "episode-num-falls-back-to-onscreen": (
        '<title>T</title><episode-num system="onscreen"> S01E02 </episode-num>',
        {"episode_num": "S01E02"},
    ),
    "episode-num-other-systems-ignored": (
        '<title>T</title><episode-num system="dd_progid">EP1</episode-num>',
        {"episode_num": None},
    ),
    "icon-and-rating-first-wins": (
        '<title>T</title><icon src=""/><icon src="http://i/1.png"/><icon src="http://i/2.png"/>'
        '<rating system="CSA"><value>Tout public</value></rating><rating><value>TV-G</value></rating>',
        {"icon": "http://i/1.png", "rating": "Tout public"},
    ),
    "unknown-children-ignored": (
        "<title>T</title><video><present>yes</present></video><star-rating><value>3/5</value></star-rating>"
        "<series-desc>x</series-desc><previously-shown/>",
        {"title": "T", "rating": None, "description": None},
    ),
    "comments-inside-ignored": ("<title>A<!-- c -->B</title>", {"title": "AB"}),
}


@pytest.mark.parametrize(("inner", "expected"), FIELD_CASES.values(), ids=FIELD_CASES.keys())
def test_programme_fields(inner: str, expected: dict[str, object]) -> None:
    _, programmes, _ = parse_bytes(guide(prog("20240101120000", "20240101130000", inner=inner)))
    assert {name: getattr(programmes[0], name) for name in expected} == expected


def test_channels_are_read_with_names_icon_and_urls() -> None:
    body = (
        '<channel id=" ANT1Europe.gr@SD "><display-name lang="el">ANT1 Europe</display-name>'
        "<display-name>ANT1</display-name><display-name>ANT1</display-name><display-name> </display-name>"
        '<icon src="https://i/a.png"/><icon src="https://i/b.png"/><url>https://a.gr</url><lcn>1</lcn></channel>'
    )
    channels, _, report = parse_bytes(guide(body))
    assert channels == [
        EpgChannel(
            id="ANT1Europe.gr@SD", display_names=["ANT1 Europe", "ANT1"], icon="https://i/a.png", urls=["https://a.gr"]
        )
    ]
    assert report.channels == 1


def test_duplicate_and_idless_channels_are_skipped_and_counted() -> None:
    body = (
        '<channel id="a"><display-name>First</display-name></channel>'
        '<channel id="a"><display-name>Second</display-name></channel>'
        "<channel><display-name>No id</display-name></channel>"
        '<channel id="b"/>'
    )
    channels, _, report = parse_bytes(guide(body))
    assert channels == [EpgChannel("a", ["First"]), EpgChannel("b", [])]
    assert report.skipped == Counter({"duplicate_channel": 1, "channel_without_id": 1})


def test_unknown_top_level_elements_are_counted_and_skipped() -> None:
    body = '<lineup id="x"><item/></lineup>' + prog("20240101120000") + "<extra>text</extra>"
    _, programmes, report = parse_bytes(guide(body))
    assert len(programmes) == 1
    assert report.skipped == Counter({"unknown_element": 2})


def test_report_names_generator_and_warns_about_undeclared_channels_and_open_programmes() -> None:
    body = '<channel id="c1"/>' + prog("20240101120000") + prog("20240101120000", "20240101130000", channel="zz")
    reports: list[XmltvReport] = []
    items = iter_xmltv(io.BytesIO(guide(body)), source_name="Provider EPG", report_to=reports)
    assert reports == [XmltvReport(source="Provider EPG")]  # there at once, filled while reading
    assert len(list(items)) == 3
    report = reports[0]
    assert (report.generator, report.channels, report.programmes) == ("test", 1, 2)
    assert report.bytes_read == len(guide(body))
    assert any("'zz'" in warning and "no <channel>" in warning for warning in report.warnings)
    assert any("1 programme(s) had no stop time: 0 now end" in warning for warning in report.warnings)


def test_channels_and_programmes_are_yielded_in_document_order() -> None:
    body = '<channel id="c1"/>' + prog("20240101120000", "20240101130000") + '<channel id="c2"/>'
    kinds = [type(item).__name__ for item in iter_xmltv(io.BytesIO(guide(body)))]
    assert kinds == ["EpgChannel", "EpgProgramme", "EpgChannel"]


# --- document shapes --------------------------------------------------------------------------------------------

ONE_PROGRAMME = '<programme channel="c1" start="20240101120000 +0000"><title>Café</title></programme>'
SHAPE_CASES = {
    "no-xml-declaration": ONE_PROGRAMME.join(["<tv>", "</tv>"]).encode(),
    "single-quoted-attributes": b"<?xml version='1.0' encoding='utf-8'?><tv><programme channel='c1' "
    b"start='20240101120000 +0000'><title>Caf\xc3\xa9</title></programme></tv>",
    "utf8-bom-and-crlf": b'\xef\xbb\xbf<?xml version="1.0"?>\r\n<tv>\r\n' + ONE_PROGRAMME.encode() + b"\r\n</tv>\r\n",
    "utf-16-with-bom": ('<?xml version="1.0" encoding="UTF-16"?><tv>' + ONE_PROGRAMME + "</tv>").encode("utf-16"),
    "latin-1-declared": ('<?xml version="1.0" encoding="ISO-8859-1"?><tv>' + ONE_PROGRAMME + "</tv>").encode("latin-1"),
    "comments-and-processing-instructions": (
        "<!-- head --><?xml-stylesheet href='x.xsl'?><tv><!-- a -->" + ONE_PROGRAMME + "<?pi x?></tv><!-- tail -->"
    ).encode(),
    "local-dtd-doctype": b'<!DOCTYPE tv SYSTEM "xmltv.dtd">' + ONE_PROGRAMME.join(["<tv>", "</tv>"]).encode(),
    "public-doctype": b'<!DOCTYPE tv PUBLIC "-//XMLTV//DTD" "http://example.invalid/xmltv.dtd">'
    + ONE_PROGRAMME.join(["<tv>", "</tv>"]).encode(),
    "doctype-with-harmless-internal-subset": b"<!DOCTYPE tv [<!ELEMENT tv ANY>]>"
    + ONE_PROGRAMME.join(["<tv>", "</tv>"]).encode(),
    "entity-text-quoted-in-cdata-without-doctype": (
        "<tv><channel id='x'><display-name><![CDATA[<!ENTITY> explained]]></display-name></channel>"
        + ONE_PROGRAMME
        + "</tv>"
    ).encode(),
}


@pytest.mark.parametrize("data", SHAPE_CASES.values(), ids=SHAPE_CASES.keys())
def test_guide_variants_parse_to_the_same_programme(data: bytes) -> None:
    _, programmes, report = parse_bytes(data)
    assert [(p.channel_id, p.start, p.title) for p in programmes] == [("c1", T0, "Café")]
    assert not report.skipped


NOT_XMLTV_CASES = {
    "empty-body": (b"", "is empty"),
    "whitespace-only": (b" \r\n\t ", "is empty"),
    "html-error-page": (
        b"<!DOCTYPE html><html><head><title>520</title></head><body>&nbsp;</body></html>",
        "root element <html>, expected <tv>",
    ),
    "malformed-html-page": (b"<html><body><p>Login<br></body></html>", "is not well-formed XML (line 1, column"),
    "well-formed-html": (b"<html><body><p>Login</p></body></html>", "root element <html>, expected <tv>"),
    "json-error": (b'{"error": "invalid credentials"}', "is not well-formed XML (line 1, column 1"),
    "m3u-playlist": (b"#EXTM3U\n#EXTINF:-1,Channel\nhttp://x/1.ts\n", "is not well-formed XML"),
    "other-xml-root": (
        b"<?xml version='1.0'?><ProgramGuide><Channel id='1'/></ProgramGuide>",
        "root element <ProgramGuide>, expected <tv>",
    ),
    "namespaced-tv-root": (b'<x:tv xmlns:x="urn:x"><x:channel id="1"/></x:tv>', "root element <tv>, expected"),
    "truncated-midway": (guide(prog("20240101120000") * 3)[:-40], "is damaged: XML error at line 3"),
    "mismatched-tag-midway": (guide(prog() + "\n<programme></title>"), "is damaged: XML error at line 4"),
    "undeclared-entity-without-doctype": (
        guide("<programme>&nbsp;</programme>"),
        "(line 3, column 18: Entity 'nbsp' not defined",
    ),
    "undeclared-entity-midway": (
        guide(prog() + "\n<programme>&nbsp;</programme>"),
        "is damaged: XML error at line 4, column 18 (Entity 'nbsp' not defined",
    ),
}


@pytest.mark.parametrize(("data", "message"), NOT_XMLTV_CASES.values(), ids=NOT_XMLTV_CASES.keys())
def test_not_xmltv_raises_clear_error_naming_source(data: bytes, message: str) -> None:
    with pytest.raises(NotXmltvError) as caught:
        parse_bytes(data, source_name="Provider EPG")
    assert "'Provider EPG'" in caught.value.message
    assert message in caught.value.message
    assert caught.value.hint


def test_non_xmltv_root_is_rejected_before_reading_the_rest() -> None:
    data = b"<ProgramGuide>" + b"<EpgItem>x</EpgItem>" * 200_000 + b"</ProgramGuide>"
    reports: list[XmltvReport] = []
    with pytest.raises(NotXmltvError):
        list(iter_xmltv(io.BytesIO(data), report_to=reports))
    assert reports[0].bytes_read < len(data) // 10


# --- unsafe documents -------------------------------------------------------------------------------------------


class CountingServer:
    """A loopback HTTP server that counts every request and would serve an entity-declaring DTD."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                body = b'<!ENTITY remote "FETCHED-FROM-NETWORK">'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def dtd_server() -> Iterator[CountingServer]:
    server = CountingServer()
    yield server
    server.close()


PASSWD_MARKERS = ("root:x:0:0", "root:*:0:0", "/bin/sh", "/usr/sbin/nologin", "FETCHED-FROM-NETWORK")
LAUGHS = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
ATTACKS = {
    "xxe-file": '<!DOCTYPE tv [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    '<tv><programme channel="c" start="20240101120000"><title>&xxe;</title></programme></tv>',
    "xxe-in-attribute": '<!DOCTYPE tv [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><tv><channel id="&xxe;"/></tv>',
    "xxe-network": '<!DOCTYPE tv [<!ENTITY xxe SYSTEM "{url}/xxe">]>'
    '<tv><programme channel="c" start="20240101120000"><title>&xxe;</title></programme></tv>',
    "parameter-entity-network": '<!DOCTYPE tv [<!ENTITY % remote SYSTEM "{url}/evil.dtd"> %remote;]>'
    '<tv><programme channel="c" start="20240101120000"><title>&remote;</title></programme></tv>',
    "billion-laughs": f'<!DOCTYPE tv [<!ENTITY l0 "ha">{LAUGHS}]>'
    '<tv><programme channel="c" start="20240101120000"><title>&l9;</title></programme></tv>',
    "quadratic-blowup": '<!DOCTYPE tv [<!ENTITY a "' + "x" * 50_000 + '">]>'
    '<tv><programme channel="c" start="20240101120000"><title>' + "&a;" * 50_000 + "</title></programme></tv>",
    "harmless-internal-entity": '<!DOCTYPE tv [<!ENTITY name "Show">]>'
    '<tv><programme channel="c" start="20240101120000"><title>&name;</title></programme></tv>',
    "entity-after-xml-declaration-and-comment": '<?xml version="1.0"?><!-- guide --><!DOCTYPE tv [\n'
    '  <!ELEMENT tv ANY>\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]><tv>&xxe;</tv>',
}


def _attack_variants() -> Iterator[object]:
    for name, template in ATTACKS.items():
        yield pytest.param(template, "utf-8", 1 << 30, id=name)
    yield pytest.param(ATTACKS["xxe-file"], "utf-16", 1 << 30, id="xxe-file-utf-16")
    yield pytest.param(ATTACKS["xxe-network"], "utf-8", 3, id="xxe-network-3-byte-reads")
    yield pytest.param(ATTACKS["billion-laughs"], "gzip", 1 << 30, id="billion-laughs-gzipped")
    padding = "<!--" + "p" * (64 * 1024 - 11) + "-->"  # puts "<!ENTITY" across the 64 KiB read boundary
    yield pytest.param(padding + ATTACKS["xxe-file"], "utf-8", 1 << 30, id="entity-across-chunk-boundary")


@pytest.mark.parametrize(("template", "encoding", "step"), list(_attack_variants()))
def test_entity_declarations_are_rejected_and_nothing_leaks(
    dtd_server: CountingServer, template: str, encoding: str, step: int
) -> None:
    text = template.replace("{url}", dtd_server.url)
    data = gzip.compress(text.encode()) if encoding == "gzip" else text.encode(encoding)
    reports: list[XmltvReport] = []
    items: list[object] = []
    with pytest.raises(UnsafeDocumentError) as caught:
        items.extend(iter_xmltv(TrickleReader(data, step), source_name="evil", report_to=reports))
    output = f"{caught.value} {caught.value.to_dict()} {items} {reports}"
    assert not any(marker in output for marker in PASSWD_MARKERS)
    assert "'evil' declares XML entities" in caught.value.message
    assert dtd_server.hits == []


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE tv SYSTEM "{url}/xmltv.dtd">',
        '<!DOCTYPE tv PUBLIC "-//XMLTV//EN" "{url}/xmltv.dtd">',
        '<!DOCTYPE tv SYSTEM "file:///etc/passwd">',
        '<!DOCTYPE tv SYSTEM "/etc/passwd">',
    ],
    ids=["remote-system", "remote-public", "file-url", "absolute-path"],
)
def test_external_dtd_is_accepted_but_never_fetched(dtd_server: CountingServer, doctype: str) -> None:
    body = '<tv><programme channel="c" start="20240101120000"><title>Show &remote; end</title></programme></tv>'
    data = (doctype.replace("{url}", dtd_server.url) + body).encode()
    channels, programmes, report = parse_bytes(data)
    assert [p.title for p in programmes] == ["Show  end"]  # the undeclared reference is dropped, not fetched
    assert not any(marker in f"{channels} {programmes} {report}" for marker in PASSWD_MARKERS)
    assert dtd_server.hits == []


def test_dtd_on_disk_is_never_opened(tmp_path: Path) -> None:
    # Reading this file as a DTD fails the parse ("Content error in the external subset"), as lxml's
    # collect_ids=False once made happen even with load_dtd=False.
    trap = tmp_path / "trap.dtd"
    trap.write_text("this is not a DTD <!ENTITY injected 'READ-FROM-DISK'>")
    body = '<tv><programme channel="c" start="20240101120000"><title>Caf\u00e9 X</title></programme></tv>'
    for system_id in (str(trap), trap.as_uri()):
        data = f'<!DOCTYPE tv SYSTEM "{system_id}">{body}'.encode()
        with pytest.raises(etree.XMLSyntaxError, match="external subset"):  # control: loading would fail
            etree.fromstring(data, etree.XMLParser(load_dtd=True, no_network=True))
        assert [p.title for p in parse_bytes(data)[1]] == ["Café X"]


def test_relative_dtd_next_to_the_guide_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "xmltv.dtd").write_text('<!ENTITY injected "READ-FROM-DISK">\n')
    data = (
        b'<!DOCTYPE tv SYSTEM "xmltv.dtd"><tv><programme channel="c" start="20240101120000">'
        b"<title>A&injected;</title></programme></tv>"
    )
    (tmp_path / "guide.xml").write_bytes(data)
    monkeypatch.chdir(tmp_path)
    # Control: a parser that loads DTDs does read it from here.
    loaded = etree.fromstring(data, etree.XMLParser(load_dtd=True, resolve_entities=True, no_network=True))
    assert b"READ-FROM-DISK" in etree.tostring(loaded)
    for source in (tmp_path / "guide.xml", io.BytesIO(data)):
        _, programmes, _ = parse_xmltv(source)
        assert [p.title for p in programmes] == ["A"]


# --- gzip and size caps -----------------------------------------------------------------------------------------


def test_gzip_bomb_stops_at_the_decompressed_cap() -> None:
    bomb = gzip.compress(b"<tv>" + b" " * (10 * 1024 * 1024) + b"</tv>", compresslevel=9)
    assert len(bomb) < 20_000
    reports: list[XmltvReport] = []
    with pytest.raises(LimitExceededError) as caught:
        list(iter_xmltv(io.BytesIO(bomb), source_name="bomb", max_bytes=1024 * 1024, report_to=reports))
    assert "M3U_STRM_MAX_XMLTV_BYTES" in str(caught.value)
    assert "'bomb'" in caught.value.message
    assert reports[0].bytes_read <= 1024 * 1024 + 64 * 1024


def test_gzip_bomb_of_zeros_is_stopped_by_open_guide_with_bounded_memory() -> None:
    bomb = gzip.compress(b"\0" * (10 * 1024 * 1024))
    tracemalloc.start()
    try:
        with open_guide(io.BytesIO(bomb), max_bytes=1024 * 1024) as stream, pytest.raises(LimitExceededError):
            while stream.read(64 * 1024):
                pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert stream.bytes_read == 1024 * 1024 + 1
    assert peak < 2 * 1024 * 1024


@pytest.mark.parametrize(("extra", "fails"), [(0, False), (1, True)], ids=["exactly-at-cap", "one-byte-over"])
def test_plain_guide_cap_is_exact(extra: int, fails: bool) -> None:
    data = guide(prog())
    if fails:
        with pytest.raises(LimitExceededError):
            parse_bytes(data, max_bytes=len(data) - extra)
    else:
        assert parse_bytes(data, max_bytes=len(data))[2].bytes_read == len(data)


@pytest.mark.parametrize("name", ["guide.xml", "guide.xml.gz", "guide.gz", "guide"])
def test_gzip_is_detected_by_magic_bytes_not_name(tmp_path: Path, name: str) -> None:
    data = guide(prog("20240101120000", "20240101130000"))
    plain, zipped = tmp_path / f"plain-{name}", tmp_path / f"zipped-{name}"
    plain.write_bytes(data)
    zipped.write_bytes(gzip.compress(data))
    results = [parse_xmltv(path) for path in (plain, zipped, str(zipped))]
    assert results[0][:2] == results[1][:2] == results[2][:2]
    assert results[1][2].bytes_read == len(data)


def test_multi_member_gzip_is_read_whole() -> None:
    data = guide(prog("20240101120000", "20240101130000") + prog("20240101130000", "20240101140000"))
    half = len(data) // 2
    _, programmes, _ = parse_bytes(gzip.compress(data[:half]) + gzip.compress(data[half:]))
    assert len(programmes) == 2


@pytest.mark.parametrize(
    "damage",
    [lambda z: z[: len(z) // 2], lambda z: z[:10] + bytes(b ^ 0xFF for b in z[10:40]) + z[40:]],
    ids=["truncated", "corrupted"],
)
def test_damaged_gzip_raises_ingest_error(damage: object) -> None:
    data = gzip.compress(guide(prog() * 200))
    with pytest.raises(IngestError, match=r"not a valid gzip file|damaged"):
        parse_bytes(damage(data))  # type: ignore[operator]


def test_missing_guide_file_raises_ingest_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="Cannot read the guide 'EPG'"):
        parse_xmltv(tmp_path / "absent.xml", source_name="EPG")


def test_file_object_passed_in_is_left_open_and_path_is_closed(tmp_path: Path) -> None:
    path = tmp_path / "g.xml"
    path.write_bytes(guide(prog()))
    with path.open("rb") as handle:
        parse_xmltv(handle)
        assert not handle.closed
    with open_guide(path, max_bytes=1 << 20) as stream:
        pass
    assert stream.closed


# --- streaming --------------------------------------------------------------------------------------------------

STREAM_BODY = "\n".join(
    [f'<channel id="c{n}"><display-name>Chännel {n}</display-name></channel>' for n in range(3)]
    + [
        prog(
            f"202401011{n % 10}0000 +0100",
            None if n % 4 == 0 else f"202401011{n % 10}3000 +0100",
            channel=f"c{n % 3}",
            inner=f"<title>Prög {n}</title><desc>{'Ω' * n}</desc>",
        )
        for n in range(30)
    ]
)


@pytest.mark.parametrize("step", [1, 2, 3, 7, 64, 4095, 1 << 20])
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_result_does_not_depend_on_read_sizes(step: int, compressed: bool) -> None:
    data = guide(STREAM_BODY)
    expected = parse_bytes(data)
    source = gzip.compress(data) if compressed else data
    assert parse_xmltv(TrickleReader(source, step)) == expected


def test_abandoned_iteration_closes_the_guide_file(tmp_path: Path) -> None:
    path = tmp_path / "g.xml"
    path.write_bytes(guide(STREAM_BODY))
    items = iter_xmltv(path)
    assert isinstance(next(items), EpgChannel)
    items.close()  # what a consumer's ``break`` leads to; no ResourceWarning (pytest turns those into errors)


PROGRAMME_TEMPLATE = (
    '<programme start="%s +0000" stop="%s +0000" channel="ch%d"><title lang="en">Programme number %d</title>'
    "<desc>Description of programme %d, long enough to weigh something in a tree.</desc>"
    '<category>News</category><episode-num system="xmltv_ns">%d.%d.</episode-num></programme>\n'
)


def generated_guide_chunks(programmes: int, channels: int = 20) -> Iterator[bytes]:
    """A guide of ``programmes`` programmes, produced 500 at a time (about 150 KB per chunk)."""
    yield b'<?xml version="1.0" encoding="UTF-8"?>\n<tv generator-info-name="generated">\n'
    yield "".join(
        f'<channel id="ch{n}"><display-name>Channel {n}</display-name></channel>\n' for n in range(channels)
    ).encode()
    base = datetime(2024, 1, 1, tzinfo=UTC)
    slots = [(base + timedelta(minutes=30 * k)).strftime("%Y%m%d%H%M%S") for k in range(programmes // channels + 2)]
    batch = []
    for n in range(programmes):
        slot = n // channels
        batch.append(PROGRAMME_TEMPLATE % (slots[slot], slots[slot + 1], n % channels, n, n, n % 9, n % 30))
        if len(batch) == 500:
            yield "".join(batch).encode()
            batch.clear()
    yield "".join(batch).encode() + b"</tv>\n"


class GeneratedGuide(io.RawIOBase):
    """A file object whose bytes are produced on demand, so the guide never exists whole in memory."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def test_large_guide_streams_in_bounded_python_memory() -> None:
    count = 200_000
    reports: list[XmltvReport] = []
    kept = 0
    tracemalloc.start()
    try:
        for item in iter_xmltv(GeneratedGuide(generated_guide_chunks(count)), report_to=reports):
            kept += isinstance(item, EpgProgramme)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert kept == reports[0].programmes == count
    assert reports[0].bytes_read > 50 * 1024 * 1024
    # The guide is ~55 MB; what remains is the duplicate index (8 bytes per programme) and one chunk.
    assert peak < 5 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_large_guide_streams_in_bounded_process_memory() -> None:
    # lxml's tree lives outside tracemalloc's view, so measure the peak RSS of a fresh process.
    script = textwrap.dedent(
        f"""
        import io, resource, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_xmltv import GeneratedGuide, generated_guide_chunks
        from m3u_strm.ingest.xmltv import iter_xmltv
        for _ in iter_xmltv(GeneratedGuide(generated_guide_chunks(2_000))):
            pass
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for _ in iter_xmltv(GeneratedGuide(generated_guide_chunks(200_000))):
            pass
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    growth_kib = int(done.stdout.strip())
    assert growth_kib < 30 * 1024, f"peak RSS grew by {growth_kib / 1024:.0f} MiB for a 55 MB guide"


# --- round trip property ----------------------------------------------------------------------------------------


def _clean_text(value: str) -> str:
    return unicodedata.normalize("NFC", value.strip())


TEXT = (
    st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cn", "Co")), min_size=1, max_size=30)
    .map(_clean_text)
    .filter(lambda value: value != "" and value == _clean_text(value))
)
IDS = st.text("abcdefghijklmnopqrstuvwxyz0123456789.@-_ ", min_size=1, max_size=12).map(str.strip).filter(bool)
URLS = st.from_regex(r"https://[a-z]{1,8}\.example/[a-z0-9]{1,8}\.png", fullmatch=True)
OFFSETS = [
    UTC,
    timezone(timedelta(hours=1)),
    timezone(timedelta(hours=-3)),
    timezone(timedelta(hours=5, minutes=30)),
]


@st.composite
def guides(draw: st.DrawFn) -> tuple[list[EpgChannel], list[EpgProgramme]]:
    channel_ids = draw(st.lists(IDS, min_size=1, max_size=4, unique=True))
    channels = [
        EpgChannel(
            id=channel_id,
            display_names=draw(st.lists(TEXT, max_size=3, unique=True)),
            icon=draw(st.none() | URLS),
            urls=draw(st.lists(URLS, max_size=2, unique=True)),
        )
        for channel_id in channel_ids
    ]
    slots = draw(st.lists(st.tuples(st.sampled_from(channel_ids), st.integers(0, 2000)), max_size=25, unique=True))
    programmes = []
    for channel_id, slot in slots:
        start = datetime(2024, 3, 30, tzinfo=UTC) + timedelta(minutes=7 * slot, seconds=draw(st.integers(0, 59)))
        lang = draw(st.sampled_from([None, "en", "fr"]))
        duration = draw(st.none() | st.integers(1, 10_000))
        programmes.append(
            EpgProgramme(
                channel_id=channel_id,
                start=start,
                stop=None if duration is None else start + timedelta(seconds=duration),
                title=draw(TEXT),
                sub_title=draw(st.none() | TEXT),
                description=draw(st.none() | TEXT),
                categories=draw(st.lists(TEXT, max_size=3, unique=True)),
                episode_num=draw(st.none() | st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}\.([0-9]/[0-9])?", fullmatch=True)),
                icon=draw(st.none() | URLS),
                rating=draw(st.none() | TEXT),
                lang=lang,
            )
        )
    return channels, programmes


def render(channels: list[EpgChannel], programmes: list[EpgProgramme], offsets: list[timezone]) -> bytes:
    """A small independent XMLTV writer for the property test."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<tv>"]
    for channel in channels:
        parts = [f"<display-name>{escape(name)}</display-name>" for name in channel.display_names]
        parts += [f"<icon src={quoteattr(channel.icon)}/>"] if channel.icon else []
        parts += [f"<url>{escape(url)}</url>" for url in channel.urls]
        lines.append(f"<channel id={quoteattr(channel.id)}>{''.join(parts)}</channel>")
    for n, programme in enumerate(programmes):
        zone = offsets[n % len(offsets)]
        lang = f" lang={quoteattr(programme.lang)}" if programme.lang else ""
        times = f'start="{programme.start.astimezone(zone):%Y%m%d%H%M%S %z}"'
        times += f' stop="{programme.stop.astimezone(zone):%Y%m%d%H%M%S %z}"' if programme.stop else ""
        parts = [f"<title{lang}>{escape(programme.title)}</title>"]
        parts += [f"<sub-title{lang}>{escape(programme.sub_title)}</sub-title>"] if programme.sub_title else []
        parts += [f"<desc{lang}>{escape(programme.description)}</desc>"] if programme.description else []
        parts += [f"<category{lang}>{escape(category)}</category>" for category in programme.categories]
        if programme.episode_num:
            parts.append(f'<episode-num system="xmltv_ns">{programme.episode_num}</episode-num>')
        parts += [f"<icon src={quoteattr(programme.icon)}/>"] if programme.icon else []
        parts += [f"<rating><value>{escape(programme.rating)}</value></rating>"] if programme.rating else []
        lines.append(f"<programme channel={quoteattr(programme.channel_id)} {times}>{''.join(parts)}</programme>")
    lines.append("</tv>")
    return "\n".join(lines).encode()


def expected_after_stop_fill(programmes: list[EpgProgramme]) -> list[EpgProgramme]:
    """The documented rule: a missing stop becomes the start of the channel's next programme, if later."""
    result = []
    for n, programme in enumerate(programmes):
        stop = programme.stop
        if stop is None:
            following = [p for p in programmes[n + 1 :] if p.channel_id == programme.channel_id]
            if following and following[0].start > programme.start:
                stop = following[0].start
        result.append(dataclasses.replace(programme, stop=stop))
    return result


@given(guides(), st.permutations(OFFSETS))
@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_rendered_guide_parses_back_equal(
    generated: tuple[list[EpgChannel], list[EpgProgramme]], offsets: list[timezone]
) -> None:
    channels, programmes = generated
    parsed_channels, parsed_programmes, report = parse_bytes(render(channels, programmes, offsets))
    assert parsed_channels == channels
    key = lambda p: (p.channel_id, p.start)  # noqa: E731
    assert sorted(parsed_programmes, key=key) == sorted(expected_after_stop_fill(programmes), key=key)
    assert not report.skipped
