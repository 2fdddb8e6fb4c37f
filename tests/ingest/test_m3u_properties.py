"""Properties of the M3U parser and writer, checked with Hypothesis.

* round trip: ``parse_m3u(render_m3u(entries))`` gives the entries back, for every entry the writer promises to
  keep (see the docstring of ``m3u_strm.ingest.m3u_writer``): NFC text without control characters, stripped titles,
  attribute values without both kinds of quote;
* chunking: where the input is cut into chunks changes nothing;
* the careful reader agrees with the fast path;
* any bytes at all either parse or raise NotAPlaylistError, and no control character reaches a title, an attribute
  or a URL.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from m3u_strm.errors import NotAPlaylistError
from m3u_strm.ingest.m3u import M3UEntry, ParseReport, PlaylistHeader, iter_m3u, parse_m3u, render_m3u

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")

# Text the writer keeps as it is: no control characters (Cc), surrogates, line/paragraph separators or U+FEFF.
_TEXT_CHARS = st.characters(
    blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
    blacklist_characters="\ufeff",
)
_SAMPLES = st.sampled_from(
    [
        "The Good, the Bad and the Ugly",
        "..Christi,.TX.us",
        'Das "Erste"',
        "Kids' Zone",
        "a=b,c=d",
        "قناة الجزيرة",
        "עברית RTL",
        "😀 👨\u200d👩\u200d👧 Emoji",
        "Café Cafe\u0301",
        "[ADS.W]|pipe",
    ]
)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def one_quote_kind(text: str) -> bool:
    return not ('"' in text and "'" in text)


titles = st.one_of(_SAMPLES, st.text(_TEXT_CHARS, min_size=1, max_size=40)).map(lambda s: nfc(s).strip()).filter(bool)
values = st.one_of(_SAMPLES, st.text(_TEXT_CHARS, max_size=40)).map(nfc).filter(one_quote_kind)
attr_keys = st.sampled_from(["tvg-id", "tvg-name", "tvg-logo", "tvg-chno", "catchup", "x_custom.key", "radio"])
option_values = titles
urls = st.builds(
    "{}://{}/{}".format,
    st.sampled_from(["http", "https", "rtmp", "rtsp", "udp", "mmsh"]),
    st.sampled_from(["h.tv", "line.example.tv:8080", "[2001:db8::1]:80", "@239.0.0.1:1234"]),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters="|"), max_size=30),
)
durations = st.one_of(st.just(-1.0), st.integers(0, 100_000).map(float), st.integers(0, 10**6).map(lambda n: n / 100))


@st.composite
def entries(draw: st.DrawFn) -> M3UEntry:
    attrs = draw(st.dictionaries(attr_keys, values, max_size=5))
    group_title = draw(st.one_of(st.none(), titles.filter(one_quote_kind)))  # an attribute value
    if group_title is not None:
        attrs["group-title"] = group_title
        group: str | None = group_title
    else:
        group = draw(st.one_of(st.none(), titles))  # written as #EXTGRP
    return M3UEntry(
        title=draw(titles),
        url=draw(urls),
        duration=draw(durations),
        attrs=attrs,
        group=group,
        vlc_options=draw(
            st.dictionaries(st.sampled_from(["http-user-agent", "http-referrer", "network-caching"]), option_values)
        ),
        kodi_props=draw(
            st.dictionaries(
                st.sampled_from(["inputstream.adaptive.license_key", "inputstream.adaptive.manifest_type"]),
                option_values,
            )
        ),
    )


def comparable(entry: M3UEntry) -> tuple[object, ...]:
    return (
        entry.title,
        entry.url,
        entry.duration,
        entry.attrs,
        entry.group,
        entry.vlc_options,
        entry.kodi_props,
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(entries(), min_size=1, max_size=8))
def test_render_then_parse_returns_the_same_entries(original: list[M3UEntry]) -> None:
    parsed, report = parse_m3u(render_m3u(original))
    assert [comparable(e) for e in parsed] == [comparable(e) for e in original]
    assert not report.skipped
    assert not report.repaired


@settings(max_examples=100)
@given(
    st.lists(st.from_regex(r"https?://[a-z]{1,8}\.tv/[a-z0-9,]{0,10}", fullmatch=True), max_size=6),
    st.dictionaries(st.sampled_from(["tvg-shift", "refresh", "catchup"]), values, max_size=3),
)
def test_header_round_trips(epg_urls: list[str], attrs: dict[str, str]) -> None:
    urls = list(dict.fromkeys(url for url in epg_urls if "," not in url))
    _, report = parse_m3u(render_m3u([M3UEntry("T", "http://h/1")], PlaylistHeader(attrs, urls)))
    assert report.header.epg_urls == urls
    assert {key: report.header.attrs[key] for key in attrs} == attrs


def parse_chunked(data: bytes, cuts: list[int], **options: Any) -> tuple[list[M3UEntry], ParseReport]:
    bounds = [0, *sorted({cut % (len(data) + 1) for cut in cuts}), len(data)]
    chunks = [data[start:end] for start, end in pairwise(bounds)]
    reports: list[ParseReport] = []
    parsed = list(iter_m3u(chunks, report_to=reports, **options))
    return parsed, reports[0]


NOISE_LINES = st.sampled_from(
    [
        b"",
        b"   ",
        b"[NO PUBLIC STREAM]",
        b"#EXTINF:-1,Dangling",
        b"#EXTGRP:Some Group",
        b"#EXTVLCOPT:http-user-agent=UA",
        b"javascript:alert(1)",
        b'#EXTINF-1 tvg-id="x",No colon',
        b'#EXTINF:-1 tvg-name="open,Title',
        "#EXTINF:-1,Télé".encode("cp1252"),
        b"#EXTINF:-1,Nul\x00",
        b"#EXTINF:-1,Tab\tbed\x1b",
        b"http://h.tv/pipe|User-Agent=x",
        b"#EXTINF:-1," + b"L" * 90,
    ]
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(entries(), min_size=1, max_size=5),
    st.lists(st.tuples(st.integers(0, 10), NOISE_LINES), max_size=6),
    st.sampled_from([b"\n", b"\r\n", b"\r"]),
    st.booleans(),
    st.lists(st.integers(0, 10_000), max_size=12),
)
def test_chunk_boundaries_never_change_the_result(
    original: list[M3UEntry],
    noise: list[tuple[int, bytes]],
    newline: bytes,
    bom: bool,
    cuts: list[int],
) -> None:
    lines = render_m3u(original).encode().split(b"\n")
    for position, line in noise:
        lines.insert(min(position, len(lines)), line)
    data = (b"\xef\xbb\xbf" if bom else b"") + newline.join(lines)
    whole, whole_report = parse_chunked(data, [], max_line_bytes=80)
    pieces, pieces_report = parse_chunked(data, cuts, max_line_bytes=80)
    assert [(*comparable(e), e.line_no) for e in pieces] == [(*comparable(e), e.line_no) for e in whole]
    assert pieces_report == whole_report


@settings(max_examples=200)
@given(st.lists(entries(), min_size=1, max_size=6))
def test_careful_reader_agrees_with_the_fast_path(original: list[M3UEntry]) -> None:
    rendered = render_m3u(original)
    fast, _ = parse_m3u(rendered)
    careful, _ = parse_m3u(re.sub("(?m)^#EXTINF:", "#extinf:", rendered))  # only the careful reader reads this
    assert [comparable(e) for e in careful] == [comparable(e) for e in fast]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=5))
def test_any_bytes_parse_or_are_refused_and_text_is_clean(data: bytes, cuts: list[int]) -> None:
    for payload in (data, b"#EXTM3U\n" + data):
        try:
            parsed, report = parse_chunked(payload, cuts)
        except NotAPlaylistError:
            continue
        assert report.entries == len(parsed)
        for entry in parsed:
            assert entry.title and entry.url
            for text in (entry.title, entry.url, *entry.attrs, *entry.attrs.values(), *entry.vlc_options.values()):
                assert not _CONTROL.search(text), entry
                assert unicodedata.is_normalized("NFC", text), entry
