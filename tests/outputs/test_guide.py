"""The served XMLTV guide: golden bytes, validity per ``tv_validate_file``, round trip through our reader, streaming.

``tv_validate_file`` comes from Debian's xmltv-util; without it the validation tests skip, or fail when
``M3U_STRM_REQUIRE_SERVICES=1``. The DTD is passed explicitly: left to itself the tool fetches it from the web.
"""

from __future__ import annotations

import io
import itertools
import os
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from m3u_strm.chunks import CHUNK_CHARS
from m3u_strm.ingest.xmltv import EpgChannel, EpgProgramme, parse_xmltv
from m3u_strm.outputs.guide import (
    GuideChannel,
    GuideProgramme,
    episode_system,
    iter_guide,
    write_guide,
    xml_attr,
    xml_text,
    xmltv_time,
)
from tests.outputs.golden_files import assert_matches_golden

DTD = Path("/usr/share/xmltv/xmltv.dtd")
T0 = datetime(2024, 6, 1, 18, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)

CHANNELS = (
    GuideChannel("bbc1.uk", ("BBC One", "BBC 1"), icon="https://logos.example/bbc1.png"),
    GuideChannel("evil.example", ("<script>alert('x')</script> & co\x07", " "), icon="javascript:alert(1)"),
    GuideChannel("aljazeera.qa", ("قناة الجزيرة",), icon="data:image/png;base64,iVBORw0KGgo="),
    GuideChannel("noname.example", ()),
)
PROGRAMMES = (
    GuideProgramme(
        "bbc1.uk",
        T0,
        T0 + HOUR,
        "News & Weather",
        sub_title="Part 1",
        description="Headlines.\r\nThen the weather.",
        categories=("News", "Weather", "News"),
        episode_num="0.4.0/1",
        icon="http://img.example/news.jpg",
    ),
    GuideProgramme(
        "bbc1.uk",
        T0 + HOUR,
        None,
        "Doctor Who",
        episode_num="S14E02",
        description="   ",
        sub_title="",
        categories=(" ",),
    ),
    GuideProgramme(
        "evil.example",
        datetime(2024, 6, 1, 20, 0, tzinfo=timezone(timedelta(hours=2))),
        datetime(2024, 6, 1, 21, 0, tzinfo=timezone(timedelta(hours=2))),
        "<script>alert(1)</script>\x00\x1b[31m ]]> \ufffe\x85",
        description='Tom & "Jerry"\x9c <b>bold</b> \U0001f600\ud800 emoji\x7f',
        categories=("Kids & <Family>",),
        icon="javascript:alert(1)",
    ),
    GuideProgramme("aljazeera.qa", T0, T0 + HOUR / 2, "نشرة الأخبار", description="עברית \u202bRTL\u202c text"),
    GuideProgramme("noname.example", T0, T0 + HOUR, "No Name Show"),
)


def guide_bytes(
    channels: tuple[GuideChannel, ...] = CHANNELS, programmes: tuple[GuideProgramme, ...] = PROGRAMMES
) -> bytes:
    return b"".join(iter_guide(channels, programmes))


def tv_validate_file(path: Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("tv_validate_file")
    if tool is None or not DTD.exists():
        reason = "tv_validate_file (apt-get install xmltv-util) is not installed"
        if os.environ.get("M3U_STRM_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}, and M3U_STRM_REQUIRE_SERVICES=1 requires it")
        pytest.skip(reason)
    return subprocess.run(
        [tool, "--dtd-file", str(DTD), str(path)], capture_output=True, text=True, timeout=120, check=False
    )


def test_guide_matches_golden_file() -> None:
    assert_matches_golden("guide.xml", guide_bytes())


def test_guide_with_hostile_text_passes_tv_validate_file(tmp_path: Path) -> None:
    path = tmp_path / "guide.xml"
    with path.open("wb") as out:
        write_guide(out, CHANNELS, PROGRAMMES)

    result = tv_validate_file(path)

    assert result.returncode == 0, result.stdout + result.stderr


def test_tv_validate_file_rejects_programme_children_out_of_dtd_order(tmp_path: Path) -> None:
    # The check above is only worth something if the tool fails on a guide that breaks the DTD's order.
    path = tmp_path / "bad.xml"
    good = guide_bytes(CHANNELS[:1], PROGRAMMES[:1]).decode()
    path.write_text(good.replace("    <title>", "    <desc>first</desc>\n    <title>", 1), encoding="utf-8")

    result = tv_validate_file(path)

    assert result.returncode != 0 and "does not follow the DTD" in result.stdout + result.stderr


def read_back(data: bytes) -> tuple[list[EpgChannel], list[EpgProgramme]]:
    channels, programmes, report = parse_xmltv(io.BytesIO(data), source_name="ours")
    assert report.skipped == {}
    return channels, programmes


def test_guide_round_trips_through_our_xmltv_reader() -> None:
    channels, programmes = read_back(guide_bytes())

    assert [(c.id, c.display_names, c.icon) for c in channels] == [
        ("bbc1.uk", ["BBC One", "BBC 1"], "https://logos.example/bbc1.png"),
        ("evil.example", ["<script>alert('x')</script> & co"], None),
        ("aljazeera.qa", ["قناة الجزيرة"], None),
        ("noname.example", ["noname.example"], None),
    ]
    by_title = {programme.title: programme for programme in programmes}  # the reader holds back open-ended ones
    assert len(by_title) == len(PROGRAMMES)
    news, doctor = by_title["News & Weather"], by_title["Doctor Who"]
    evil = by_title["<script>alert(1)</script>[31m ]]>"]
    arabic = by_title["نشرة الأخبار"]
    assert (news.channel_id, news.start, news.stop, news.title, news.sub_title) == (
        "bbc1.uk",
        T0,
        T0 + HOUR,
        "News & Weather",
        "Part 1",
    )
    assert news.description == "Headlines.\nThen the weather."
    assert (news.categories, news.episode_num, news.icon) == (
        ["News", "Weather"],
        "0.4.0/1",
        "http://img.example/news.jpg",
    )
    assert (doctor.stop, doctor.sub_title, doctor.description, doctor.categories) == (None, None, None, [])
    assert doctor.episode_num == "S14E02"
    assert (evil.start, evil.stop) == (T0, T0 + HOUR)
    assert evil.description == 'Tom & "Jerry" <b>bold</b> \U0001f600 emoji'
    assert (evil.categories, evil.icon) == (["Kids & <Family>"], None)
    assert (arabic.title, arabic.description) == ("نشرة الأخبار", "עברית \u202bRTL\u202c text")
    assert by_title["No Name Show"].channel_id == "noname.example"


def test_programmes_follow_dtd_order_and_channels_come_first() -> None:
    root = etree.fromstring(guide_bytes())
    order = ["title", "sub-title", "desc", "category", "icon", "episode-num"]

    tags = [child.tag for child in root]
    assert tags == ["channel"] * 4 + ["programme"] * 5
    for programme in root.iter("programme"):
        children = [order.index(child.tag) for child in programme]
        assert children == sorted(children)
    assert root.get("generator-info-name") == "M3U-STRM-Processor"


@pytest.mark.parametrize(
    ("programmes", "kept_titles"),
    [
        ((GuideProgramme("bbc1.uk", T0, None, " \x00 "),), []),
        ((GuideProgramme("unknown.example", T0, None, "Orphan"),), []),
        ((GuideProgramme("bbc1.uk", T0, None, "A"), GuideProgramme("bbc1.uk", T0 + HOUR, None, "B")), ["A", "B"]),
    ],
    ids=["blank-title", "channel-not-written", "both-kept"],
)
def test_programmes_without_title_or_known_channel_are_skipped(
    programmes: tuple[GuideProgramme, ...], kept_titles: list[str]
) -> None:
    root = etree.fromstring(guide_bytes(CHANNELS[:1], programmes))

    assert [title.text for title in root.iter("title")] == kept_titles


def test_a_repeated_or_blank_channel_id_is_written_once_or_not_at_all() -> None:
    channels = (
        GuideChannel("a.example", ("First",)),
        GuideChannel("a.example", ("Second",)),
        GuideChannel(" ", ("X",)),
    )

    root = etree.fromstring(guide_bytes(channels, ()))

    assert [(c.get("id"), c.findtext("display-name")) for c in root.iter("channel")] == [("a.example", "First")]


@pytest.mark.parametrize(
    ("stop", "written"),
    [(T0 + HOUR, "20240601190000 +0000"), (T0, None), (T0 - HOUR, None), (None, None)],
    ids=["after-start", "equal-to-start", "before-start", "none"],
)
def test_stop_is_written_only_when_after_start(stop: datetime | None, written: str | None) -> None:
    root = etree.fromstring(guide_bytes(CHANNELS[:1], (GuideProgramme("bbc1.uk", T0, stop, "Show"),)))

    assert [programme.get("stop") for programme in root.iter("programme")] == [written]


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2024, 6, 1, 18, 5, 9, tzinfo=UTC), "20240601180509 +0000"),
        (datetime(2024, 3, 31, 2, 30, tzinfo=timezone(timedelta(hours=2))), "20240331003000 +0000"),
        (datetime(2024, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), "20231231233000 +0000"),
        (datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), "09990102030405 +0000"),
        (datetime(2024, 6, 1, 18, 0, 0, 999_999, tzinfo=UTC), "20240601180000 +0000"),
    ],
    ids=["utc", "positive-offset", "crosses-new-year", "year-padded", "microseconds-dropped"],
)
def test_xmltv_time_is_utc_with_explicit_offset(moment: datetime, text: str) -> None:
    assert xmltv_time(moment) == text


@pytest.mark.parametrize(
    ("start", "stop"),
    [(datetime(2024, 6, 1, 18), None), (T0, datetime(2024, 6, 1, 19)), (datetime(2024, 6, 1, 18), T0 + HOUR)],
    ids=["naive-start", "naive-stop", "naive-start-aware-stop"],
)
def test_naive_datetimes_are_refused(start: datetime, stop: datetime | None) -> None:
    with pytest.raises(ValueError, match="naive"):
        guide_bytes(CHANNELS[:1], (GuideProgramme("bbc1.uk", start, stop, "Show"),))


@pytest.mark.parametrize(
    ("episode", "system"),
    [
        ("0.4.0/1", "xmltv_ns"),
        ("1.4.", "xmltv_ns"),
        ("0/3 . 12/24 . 0/1", "xmltv_ns"),
        (".5.", "xmltv_ns"),
        ("S02E05", "onscreen"),
        ("2.5", "onscreen"),
        ("Episode 5", "onscreen"),
        ("1.2.3.4", "onscreen"),
    ],
    ids=["full", "no-part", "totals-and-spaces", "episode-only", "onscreen", "two-parts", "words", "four-parts"],
)
def test_episode_numbers_in_xmltv_ns_grammar_are_marked_so(episode: str, system: str) -> None:
    assert episode_system(episode) == system


@pytest.mark.parametrize(
    ("raw", "text", "attr"),
    [
        ("Tom & Jerry", "Tom &amp; Jerry", "Tom &amp; Jerry"),
        ("<b> ]]> </b>", "&lt;b&gt; ]]&gt; &lt;/b&gt;", "&lt;b&gt; ]]&gt; &lt;/b&gt;"),
        ('say "hi"', 'say "hi"', "say &quot;hi&quot;"),
        ("a\x00b\x08c\x0bd\x1fe\x7ff\x85g", "abcdefg", "abcdefg"),
        ("one\r\ntwo\rthree\tfour", "one\ntwo\nthree\tfour", "one two three four"),
        ("lone \ud800 surrogate \ufffe\uffff", "lone  surrogate", "lone  surrogate"),
        ("  \U0001f600 עברית  ", "\U0001f600 עברית", "\U0001f600 עברית"),
    ],
    ids=["ampersand", "markup", "quotes", "controls", "line-breaks", "non-characters", "emoji-rtl-stripped"],
)
def test_xml_escaping_keeps_text_as_text(raw: str, text: str, attr: str) -> None:
    assert (xml_text(raw), xml_attr(raw)) == (text, attr)


# --- streaming ----------------------------------------------------------------------------------------------


def _endless_programmes() -> Iterator[GuideProgramme]:
    for number in itertools.count():
        yield GuideProgramme("bbc1.uk", T0 + number * HOUR, T0 + (number + 1) * HOUR, f"Show {number}")


def test_iter_guide_streams_without_consuming_every_programme() -> None:
    chunks = iter_guide(CHANNELS[:1], _endless_programmes())

    first, second = next(chunks), next(chunks)

    assert first.startswith(b"<?xml") and CHUNK_CHARS <= len(first) < 2 * CHUNK_CHARS
    assert second.lstrip().startswith(b"<programme")


def test_write_guide_writes_the_same_bytes_as_iter_guide() -> None:
    programmes = tuple(itertools.islice(_endless_programmes(), 2000))
    out = io.BytesIO()

    write_guide(out, CHANNELS, programmes)

    chunks = list(iter_guide(CHANNELS, programmes))
    assert len(chunks) > 1 and out.getvalue() == b"".join(chunks)
    assert len(read_back(out.getvalue())[1]) == len(programmes)


# --- property: any text survives as text --------------------------------------------------------------------


def expected_text(raw: str) -> str:
    """What our reader gives back: forbidden characters gone, CR as LF, stripped, NFC."""
    kept = "".join(ch for ch in raw if ch in "\t\n\r" or not (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F))
    kept = "".join(ch for ch in kept if not (0xD800 <= ord(ch) <= 0xDFFF or ch in "\ufffe\uffff"))
    return unicodedata.normalize("NFC", kept.replace("\r\n", "\n").replace("\r", "\n").strip())


_hostile = st.sampled_from(["<", ">", "&", "]]>", '"', "'", "&amp;", "<!--", "\x00", "\r", "\x85", "\ud800", "😀"])
_texts = st.lists(st.one_of(st.text(max_size=10), _hostile), max_size=6).map("".join)


@settings(max_examples=200, deadline=None)
@given(title=_texts, description=_texts, name=_texts)
def test_any_text_is_read_back_as_the_same_text(title: str, description: str, name: str) -> None:
    channels = (GuideChannel("any.example", (name,)),)
    programmes = (GuideProgramme("any.example", T0, T0 + HOUR, title, description=description),)

    read_channels, read_programmes = read_back(guide_bytes(channels, programmes))

    assert read_channels[0].display_names == [expected_text(name) or "any.example"]
    if expected_text(title):
        assert [(p.title, p.description) for p in read_programmes] == [
            (expected_text(title), expected_text(description) or None)
        ]
    else:
        assert read_programmes == []
