"""The M3U parser and writer, rule by rule (see the docstring of ``m3u_strm.ingest.m3u``).

Every playlist here is real text fed through the real parser; nothing is mocked.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from m3u_strm.errors import LimitExceededError, NotAPlaylistError
from m3u_strm.ingest.m3u import (
    M3UEntry,
    M3UParser,
    ParseReport,
    PlaylistHeader,
    iter_m3u,
    parse_m3u,
    render_m3u,
    write_m3u,
)

URL = "http://line.example.tv:8080/live/alice/s3cret/12345.ts"


def parse(text: str | bytes, **options: Any) -> tuple[list[M3UEntry], ParseReport]:
    return parse_m3u(text, source="Acme IPTV", **options)


def only_entry(text: str | bytes, **options: Any) -> M3UEntry:
    entries, _report = parse(text, **options)
    assert len(entries) == 1, entries
    return entries[0]


def fields(entry: M3UEntry) -> dict[str, object]:
    return {
        "title": entry.title,
        "url": entry.url,
        "duration": entry.duration,
        "attrs": entry.attrs,
        "group": entry.group,
        "vlc_options": entry.vlc_options,
        "kodi_props": entry.kodi_props,
        "line_no": entry.line_no,
    }


def feed_in_chunks(data: bytes, size: int, **options: Any) -> tuple[list[M3UEntry], ParseReport]:
    chunks = [data[start : start + size] for start in range(0, len(data), size)]
    reports: list[ParseReport] = []
    entries = list(iter_m3u(chunks, report_to=reports, source="Acme IPTV", **options))
    return entries, reports[0]


# -- what one entry holds ----------------------------------------------------------------------------------------

ENTRY_CASES = [
    pytest.param(
        f'#EXTM3U\n#EXTINF:-1 tvg-id="bbc1.uk" tvg-name="BBC One" group-title="UK",BBC One HD\n{URL}\n',
        {"title": "BBC One HD", "attrs": {"tvg-id": "bbc1.uk", "tvg-name": "BBC One", "group-title": "UK"}},
        id="double_quoted_attributes",
    ),
    pytest.param(
        f'#EXTINF:-1 tvg-name="The Good, the Bad and the Ugly",The Good, the Bad and the Ugly\n{URL}\n',
        {"title": "The Good, the Bad and the Ugly", "attrs": {"tvg-name": "The Good, the Bad and the Ugly"}},
        id="comma_inside_quoted_value_and_title",
    ),
    pytest.param(
        f'#EXTINF:-1 tvg-id="..Christi,.TX.us" tvg-logo="",KZTV\n{URL}\n',
        {"title": "KZTV", "attrs": {"tvg-id": "..Christi,.TX.us", "tvg-logo": ""}},
        id="comma_inside_tvg_id",
    ),
    pytest.param(
        f'#EXTINF:-1 tvg-name=\'Das "Erste"\' group-title="Kids\' Zone",Das "Erste" HD\n{URL}\n',
        {"title": 'Das "Erste" HD', "attrs": {"tvg-name": 'Das "Erste"', "group-title": "Kids' Zone"}},
        id="single_quotes_around_double_and_double_around_single",
    ),
    pytest.param(
        f"#EXTINF:-1 tvg-chno=7 tvg-shift=-2 catchup-days=3,Seven\n{URL}\n",
        {"title": "Seven", "attrs": {"tvg-chno": "7", "tvg-shift": "-2", "catchup-days": "3"}},
        id="unquoted_values",
    ),
    pytest.param(
        f'#EXTINF:-1 tvg-logo="http://l.tv/x.png?a=1&b=2" tvg-url=x=y,Eq\n{URL}\n',
        {"title": "Eq", "attrs": {"tvg-logo": "http://l.tv/x.png?a=1&b=2", "tvg-url": "x=y"}},
        id="equals_signs_inside_values",
    ),
    pytest.param(
        f'#EXTINF:-1 TVG-ID="a" Group-Title="G",Upper\n{URL}\n',
        {"title": "Upper", "attrs": {"tvg-id": "a", "group-title": "G"}, "group": "G"},
        id="keys_are_lower_cased",
    ),
    pytest.param(
        f'#EXTINF:-1 tvg-id="first" tvg-id="second",Twice\n{URL}\n',
        {"attrs": {"tvg-id": "second"}},
        id="repeated_key_keeps_last_value",
    ),
    pytest.param(
        f'#EXTINF:-1 radio tvg-id="a",Bare\n{URL}\n',
        {"title": "Bare", "attrs": {"tvg-id": "a"}},
        id="bare_word_is_ignored",
    ),
    pytest.param(
        f'#EXTINF:-1 tvg-id="a"tvg-name="b",Glued\n{URL}\n',
        {"title": "Glued", "attrs": {"tvg-id": "a", "tvg-name": "b"}},
        id="attributes_without_space_between",
    ),
    pytest.param(
        f'#EXTINF:-1 tvg-id="a" ,Spaced\n{URL}\n',
        {"title": "Spaced", "attrs": {"tvg-id": "a"}},
        id="space_before_title_comma",
    ),
    pytest.param(
        f"#EXTINF:-1,News, Weather, Sport\n{URL}\n", {"title": "News, Weather, Sport", "attrs": {}}, id="no_attributes"
    ),
    pytest.param(
        f"#EXTINF:5400.5,Film\n{URL}\n", {"title": "Film", "duration": 5400.5}, id="positive_fractional_duration"
    ),
    pytest.param(f'#EXTINF:0 tvg-id="z",Zero\n{URL}\n', {"duration": 0.0}, id="zero_duration"),
    pytest.param(
        f'#extinf:-1 tvg-id="low",Lower\n{URL}\n',
        {"title": "Lower", "attrs": {"tvg-id": "low"}},
        id="lower_case_directive",
    ),
    pytest.param(
        f'   #EXTINF:-1 tvg-id="ws",   Padded Title   \n\t {URL}  \n',
        {"title": "Padded Title", "url": URL},
        id="surrounding_whitespace_stripped",
    ),
    pytest.param(
        f'#EXTINF:-1 tvg-name="From Name",\n{URL}\n', {"title": "From Name"}, id="empty_title_falls_back_to_tvg_name"
    ),
    pytest.param(f"#EXTINF:-1,\n{URL}\n", {"title": "12345"}, id="empty_title_falls_back_to_url_segment"),
    pytest.param(
        f'#EXTINF:-1 tvg-name="Cafe\u0301",Cafe\u0301 TV\n{URL}\n',
        {"title": "Caf\u00e9 TV", "attrs": {"tvg-name": "Caf\u00e9"}},
        id="decomposed_text_is_nfc",
    ),
    pytest.param(
        f'#EXTINF:-1 tvg-name="A\tB",Tab\tand\x1b[31mEscape\n{URL}\n',
        {"title": "Tab and [31mEscape", "attrs": {"tvg-name": "A B"}},
        id="ascii_control_characters_become_spaces",
    ),
    pytest.param(
        f'#EXTINF:-1 tvg-name="L\u2028S",Line\u2028Sep\u0085Next\ufeffZero\n{URL}\n',
        {"title": "Line Sep NextZero", "attrs": {"tvg-name": "L S"}},
        id="unicode_separators_and_bom_never_reach_text",
    ),
    pytest.param(
        f'#EXTINF:-1 tvg-name="قناة الجزيرة",قناة 😀 TV 👨‍👩‍👧\n{URL}\n',
        {"title": "قناة 😀 TV 👨\u200d👩\u200d👧", "attrs": {"tvg-name": "قناة الجزيرة"}},
        id="rtl_and_emoji_kept",
    ),
    pytest.param(
        f'#EXTINF:-1 tvg-id="m",Movie\n#EXTGRP:Movies & Series\n{URL}\n',
        {"group": "Movies & Series", "attrs": {"tvg-id": "m"}},
        id="extgrp_sets_group",
    ),
    pytest.param(
        f'#EXTGRP:Ignored\n#EXTINF:-1 group-title="News",N\n{URL}\n',
        {"group": "News"},
        id="group_title_wins_over_extgrp",
    ),
    pytest.param(
        f'#EXTINF:-1 group-title="",N\n#EXTGRP:Fallback Group\n{URL}\n',
        {"group": "Fallback Group", "attrs": {"group-title": ""}},
        id="empty_group_title_lets_extgrp_apply",
    ),
    pytest.param(
        f"#EXTINF:-1,UA\n#EXTVLCOPT:http-user-agent=Mozilla/5.0 (X11)\n#EXTVLCOPT:HTTP-Referrer=https://ref.tv/\n{URL}\n",
        {"vlc_options": {"http-user-agent": "Mozilla/5.0 (X11)", "http-referrer": "https://ref.tv/"}},
        id="extvlcopt_collected",
    ),
    pytest.param(
        "#EXTINF:-1,DRM\n#KODIPROP:inputstream.adaptive.license_type=clearkey\n"
        f"#KODIPROP:inputstream.adaptive.license_key=0123:abcd\n{URL}\n",
        {
            "kodi_props": {
                "inputstream.adaptive.license_type": "clearkey",
                "inputstream.adaptive.license_key": "0123:abcd",
            }
        },
        id="kodiprop_collected",
    ),
    pytest.param(
        f"#EXTINF:-1,Piped\n{URL}|User-Agent=Mozilla%2F5.0&Referer=https://r.tv/&Origin=https://o.tv\n",
        {
            "url": URL,
            "vlc_options": {
                "http-user-agent": "Mozilla/5.0",
                "http-referrer": "https://r.tv/",
                "http-origin": "https://o.tv",
            },
        },
        id="kodi_pipe_headers_leave_the_url",
    ),
    pytest.param(
        f"#EXTINF:-1,Both\n#EXTVLCOPT:http-user-agent=FromVLC\n{URL}|User-Agent=FromPipe\n",
        {"url": URL, "vlc_options": {"http-user-agent": "FromVLC"}},
        id="extvlcopt_overrides_pipe_header",
    ),
    pytest.param(
        "#EXTINF:-1,Odd pipe\nhttp://h.tv/a|b c\n", {"url": "http://h.tv/a|b c"}, id="pipe_without_headers_kept"
    ),
    pytest.param(
        "#EXTINF:-1,Ads\nhttps://ads.tv/x.m3u8?w=[ADS.W]&h=[ADS.H]&cb=[CACHEBUSTER]\n",
        {"url": "https://ads.tv/x.m3u8?w=[ADS.W]&h=[ADS.H]&cb=[CACHEBUSTER]"},
        id="ad_macros_kept",
    ),
    pytest.param(
        "#EXTINF:-1,Bracket\nhttps://a.tv/smil:x.smil/playlist.m3u8]\n",
        {"url": "https://a.tv/smil:x.smil/playlist.m3u8]"},
        id="trailing_bracket_kept",
    ),
    pytest.param("#EXTINF:-1,R\nrtmp://r.tv/live/x\n", {"url": "rtmp://r.tv/live/x"}, id="rtmp_allowed"),
    pytest.param("#EXTINF:-1,S\nrtsp://r.tv:554/x\n", {"url": "rtsp://r.tv:554/x"}, id="rtsp_allowed"),
    pytest.param("#EXTINF:-1,M\nmmsh://r.tv/x\n", {"url": "mmsh://r.tv/x"}, id="mmsh_allowed"),
    pytest.param("#EXTINF:-1,U\nudp://@239.0.0.1:1234\n", {"url": "udp://@239.0.0.1:1234"}, id="udp_multicast_allowed"),
    pytest.param("#EXTINF:-1,Upper\nHTTP://H.TV/X\n", {"url": "HTTP://H.TV/X"}, id="scheme_is_case_insensitive"),
    pytest.param(
        f'#EXTINF:-1 tvg-id="x" user-agent="LegacyUA/1.0" referrer="https://legacy/",Old style\n{URL}\n',
        {"attrs": {"tvg-id": "x", "user-agent": "LegacyUA/1.0", "referrer": "https://legacy/"}},
        id="legacy_header_attributes_kept",
    ),
]


@pytest.mark.parametrize(("playlist", "expected"), ENTRY_CASES)
def test_each_rule_gives_the_expected_entry_fields(playlist: str, expected: dict[str, object]) -> None:
    entry = fields(only_entry(playlist))
    assert {key: entry[key] for key in expected} == expected


def test_entry_properties_read_attributes_and_options() -> None:
    entry = only_entry(
        '#EXTINF:-1 tvg-id="a.uk" tvg-name="A" tvg-logo="http://l/a.png" tvg-chno="101" user-agent="Attr",A\n'
        f"#EXTVLCOPT:http-referer=https://single-r/\n{URL}\n"
    )
    assert (entry.tvg_id, entry.tvg_name, entry.tvg_logo, entry.tvg_chno) == ("a.uk", "A", "http://l/a.png", "101")
    assert entry.user_agent == "Attr"  # no http-user-agent option: the attribute is the fallback
    assert entry.referrer == "https://single-r/"


def test_entry_properties_are_none_when_absent() -> None:
    entry = only_entry(f"#EXTINF:-1,Plain\n{URL}\n")
    assert (entry.tvg_id, entry.tvg_name, entry.tvg_logo, entry.tvg_chno) == (None, None, None, None)
    assert (entry.user_agent, entry.referrer) == (None, None)


def test_line_numbers_point_at_the_extinf_or_the_lone_url() -> None:
    entries, _ = parse(f"#EXTM3U\n\n#EXTINF:-1,A\n#EXTVLCOPT:x=y\n{URL}\n{URL}\n")
    assert [entry.line_no for entry in entries] == [3, 6]


# -- lines dropped or repaired, and how the report counts them ---------------------------------------------------

SKIP_CASES = [
    pytest.param(
        f"#EXTINF:-1,First\n#EXTINF:-1,Second\n{URL}\n",
        ["Second"],
        {"duplicate_extinf": [1]},
        {},
        id="second_extinf_before_url_drops_first",
    ),
    pytest.param(
        f"#EXTINF:-1,Kept\n{URL}\n#EXTINF:-1,Dangling\n", ["Kept"], {"extinf_without_url": [3]}, {}, id="extinf_at_end"
    ),
    pytest.param(f"#EXTM3U\n{URL}\n", ["12345"], {}, {"url_without_extinf": [2]}, id="url_without_extinf_is_imported"),
    pytest.param(
        f"#EXTINF:-1,Gone\n[NO PUBLIC STREAM]\n#EXTINF:-1,Next\n{URL}\n",
        ["Next"],
        {"not_a_url": [2]},
        {},
        id="no_public_stream_drops_its_extinf_only",
    ),
    pytest.param(
        f"#EXTINF:-1,Rel\nchannels/one.ts\n{URL}\n",
        ["12345"],
        {"not_a_url": [2]},
        {"url_without_extinf": [3]},
        id="relative_path",
    ),
    pytest.param("#EXTINF:-1,Abs\n/srv/tv/one.ts\n", [], {"not_a_url": [2]}, {}, id="absolute_path"),
    pytest.param("#EXTINF:-1,Win\nC:\\tv\\one.ts\n", [], {"not_a_url": [2]}, {}, id="windows_path"),
    pytest.param("#EXTINF:-1,Slashless\nhttp:example.tv/x\n", [], {"not_a_url": [2]}, {}, id="scheme_without_slashes"),
    pytest.param("#EXTINF:-1,F\nfile:///etc/passwd\n", [], {"scheme_not_allowed": [2]}, {}, id="file_scheme"),
    pytest.param("#EXTINF:-1,F\nFILE:///etc/passwd\n", [], {"scheme_not_allowed": [2]}, {}, id="file_scheme_upper"),
    pytest.param("#EXTINF:-1,J\njavascript:alert(1)\n", [], {"scheme_not_allowed": [2]}, {}, id="javascript_scheme"),
    pytest.param("#EXTINF:-1,D\ndata:text/html,<b>x</b>\n", [], {"scheme_not_allowed": [2]}, {}, id="data_scheme"),
    pytest.param("#EXTINF:-1,P\nftp://h.tv/x.ts\n", [], {"scheme_not_allowed": [2]}, {}, id="ftp_scheme"),
    pytest.param(
        '#EXTINF-1 tvg-id="NosTVBonaire.bq",Nos TV Bonaire \nhttp://streaming.flamingotv.net/nostv/live.m3u8\n',
        ["Nos TV Bonaire"],
        {},
        {"malformed_extinf": [1]},
        id="missing_colon_is_salvaged",
    ),
    pytest.param(
        f'#EXTINF:-1 tvg-name="Foo, Bar,Title\n{URL}\n',
        ["Title"],
        {},
        {"malformed_extinf": [1]},
        id="unterminated_quote_ends_at_last_comma",
    ),
    pytest.param(
        f'#EXTINF:-1 tvg-name="Only Name\n{URL}\n',
        ["Only Name"],
        {},
        {"malformed_extinf": [1]},
        id="unterminated_quote_without_comma_uses_name",
    ),
    pytest.param(
        f'#EXTINF:-1 tvg-id="a"\n{URL}\n', ["12345"], {}, {"malformed_extinf": [1]}, id="no_title_comma_uses_url"
    ),
    pytest.param(
        f'#EXTINF:abc tvg-id="a",Bad Duration\n{URL}\n',
        ["Bad Duration"],
        {},
        {"malformed_extinf": [1]},
        id="unreadable_duration",
    ),
    pytest.param(
        f"#EXTINF:-1,Nul\x00Byte\n{URL}\n", ["12345"], {"nul_byte": [1]}, {"url_without_extinf": [2]}, id="nul_byte"
    ),
    pytest.param(
        f"# just a comment\n#EXTINF:-1,C\n{URL}\n#EXT-X-ENDLIST\n", ["C"], {}, {}, id="other_comments_ignored"
    ),
]


@pytest.mark.parametrize(("playlist", "titles", "skipped", "repaired"), SKIP_CASES)
def test_skips_and_repairs_are_counted_with_line_numbers(
    playlist: str, titles: list[str], skipped: dict[str, list[int]], repaired: dict[str, list[int]]
) -> None:
    entries, report = parse(playlist)
    assert [entry.title for entry in entries] == titles
    assert report.skipped_lines == skipped
    assert dict(report.skipped) == {reason: len(lines) for reason, lines in skipped.items()}
    assert report.repaired_lines == repaired
    assert report.entries == len(entries)


def test_repairs_are_summarised_in_warnings() -> None:
    _, report = parse(f'#EXTM3U\n#EXTINF-1 tvg-id="a",A\n{URL}\n' + f"{URL}\n" * 7)
    assert report.warnings == [
        "Malformed #EXTINF lines repaired: 1 (lines 2).",
        "URLs without #EXTINF imported, titled after their path: 7 (lines 4, 5, 6, 7, 8, ...).",
    ]


def test_rejected_url_line_takes_its_directives_with_it() -> None:
    entries, report = parse(
        f"#EXTINF:-1,Gone\n#EXTVLCOPT:http-user-agent=Gone\n#EXTGRP:Gone\n[NO PUBLIC STREAM]\n#EXTINF:-1,Kept\n{URL}\n"
    )
    assert [(e.title, e.group, e.vlc_options) for e in entries] == [("Kept", None, {})]
    assert report.skipped == {"not_a_url": 1}


def test_directives_apply_only_to_the_next_url() -> None:
    entries, _ = parse(f"#EXTINF:-1,A\n#EXTGRP:G\n#EXTVLCOPT:http-user-agent=U\n{URL}\n#EXTINF:-1,B\n{URL}\n")
    assert [(e.title, e.group, e.user_agent) for e in entries] == [("A", "G", "U"), ("B", None, None)]


def test_allowed_schemes_are_configurable() -> None:
    entries, report = parse(f"#EXTINF:-1,A\n{URL}\n#EXTINF:-1,B\nhttps://h.tv/b\n", allowed_schemes=["HTTPS"])
    assert [entry.title for entry in entries] == ["B"]
    assert report.skipped_lines == {"scheme_not_allowed": [2]}


def test_skipped_lines_keep_the_first_twenty_and_count_all() -> None:
    _, report = parse("#EXTM3U\n" + "[NO PUBLIC STREAM]\n" * 30)
    assert report.skipped["not_a_url"] == 30
    assert report.skipped_lines["not_a_url"] == list(range(2, 22))


# -- line ends, BOM, encodings -----------------------------------------------------------------------------------

LOGICAL = ['#EXTM3U x-tvg-url="http://epg.tv/a.xml"', '#EXTINF:-1 tvg-id="a",Café', URL, "#EXTINF:-1,B", URL]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("\r\n".join(LOGICAL).encode(), id="crlf"),
        pytest.param("\r".join(LOGICAL).encode(), id="lone_cr"),
        pytest.param(b"\xef\xbb\xbf" + "\r\n".join(LOGICAL).encode() + b"\r\n", id="bom_crlf"),
        pytest.param(b"\xef\xbb\xbf" + "\n".join(LOGICAL).encode(), id="bom_lf_no_final_newline"),
        pytest.param(
            (LOGICAL[0] + "\r\n" + LOGICAL[1] + "\n" + LOGICAL[2] + "\r" + "\n".join(LOGICAL[3:])).encode(), id="mixed"
        ),
    ],
)
def test_line_endings_and_bom_parse_like_plain_lf(data: bytes) -> None:
    expected_entries, expected_report = parse("\n".join(LOGICAL) + "\n")
    entries, report = parse(data)
    assert [fields(e) for e in entries] == [fields(e) for e in expected_entries]
    assert report.header == expected_report.header
    assert entries[0].title == "Café"  # the first entry survives the BOM


def test_blank_lines_are_ignored_but_counted_as_lines() -> None:
    entries, report = parse(f"\n\n#EXTM3U\n\n\n#EXTINF:-1,A\n\n{URL}\n\n")
    assert [(e.title, e.line_no) for e in entries] == [("A", 6)]
    assert report.lines == 9
    assert not report.skipped


@pytest.mark.parametrize(
    ("line", "title"),
    [
        pytest.param("#EXTINF:-1,Télé Québec".encode("cp1252"), "Télé Québec", id="cp1252"),
        pytest.param("#EXTINF:-1,Первый канал".encode("cp1251"), "Первый канал", id="cp1251_cyrillic"),
        pytest.param("#EXTINF:-1,Café ".encode() + b"\xff Noir", "Café \ufffd Noir", id="utf8_with_a_bad_byte"),
        pytest.param(b"#EXTINF:-1,Caf\xe9\x81X", "Café X", id="latin1_last_resort_c1_becomes_space"),
    ],
)
def test_non_utf8_lines_are_decoded_and_counted(line: bytes, title: str) -> None:
    entries, report = parse(b"#EXTM3U\n" + line + b"\n" + URL.encode() + b"\n")
    assert [entry.title for entry in entries] == [title]
    assert report.decode_replacements == 1
    assert "Lines not valid UTF-8, decoded with a fallback: 1." in report.warnings


# -- header --------------------------------------------------------------------------------------------------------


def test_header_attributes_and_epg_urls() -> None:
    _, report = parse(
        '#EXTM3U x-tvg-url="http://a.tv/1.xml, http://a.tv/2.xml.gz,,http://a.tv/1.xml" '
        'url-tvg="http://b.tv/g.xml" tvg-shift=-1 refresh="3600"\n'
        f"#EXTINF:-1,A\n{URL}\n"
    )
    assert report.header.attrs["tvg-shift"] == "-1"
    assert report.header.attrs["refresh"] == "3600"
    assert report.header.epg_urls == ["http://a.tv/1.xml", "http://a.tv/2.xml.gz", "http://b.tv/g.xml"]
    assert report.warnings == []


def test_concatenated_playlists_merge_headers() -> None:
    entries, report = parse(
        f'#EXTM3U x-tvg-url="http://a.tv/1.xml" tvg-shift=1\n#EXTINF:-1,A\n{URL}\n'
        f'#EXTM3U x-tvg-url="http://b.tv/2.xml" tvg-shift=2\n#EXTINF:-1,B\n{URL}\n'
    )
    assert [entry.title for entry in entries] == ["A", "B"]
    assert report.header.attrs["tvg-shift"] == "1"
    assert report.header.epg_urls == ["http://a.tv/1.xml", "http://b.tv/2.xml"]


def test_missing_header_is_only_a_warning() -> None:
    entries, report = parse(f"#EXTINF:-1,A\n{URL}\n")
    assert [entry.title for entry in entries] == ["A"]
    assert report.warnings == ["The playlist has no #EXTM3U header; it was read as a plain M3U list."]


def test_header_only_playlist_has_no_entries_and_no_error() -> None:
    entries, report = parse("#EXTM3U\n")
    assert entries == []
    assert report.entries == 0


# -- not a playlist ------------------------------------------------------------------------------------------------

CLOUDFLARE_520 = (
    b'<!DOCTYPE html>\n<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->\n'
    b"<head><title>provider.tv | 520: Web server is returning an unknown error</title></head>\n"
)


@pytest.mark.parametrize(
    ("body", "what"),
    [
        pytest.param(CLOUDFLARE_520, "an HTML page", id="cloudflare_520_page"),
        pytest.param(b"\xef\xbb\xbf\r\n  <html><body><form>Login</form>", "an HTML page", id="login_page_after_bom"),
        pytest.param(b'<?xml version="1.0"?><tv><channel id="a"/></tv>', "an XMLTV guide", id="xmltv_guide"),
        pytest.param(b"<rss version='2.0'></rss>", "an HTML or XML document", id="other_xml"),
        pytest.param(b'{"user_info":{"auth":0}}', "a JSON document", id="json_object"),
        pytest.param(b'  [{"error": "expired"}]', "a JSON document", id="json_array"),
        pytest.param(b"[playlist]\nFile1=http://h/1\n", "a PLS playlist", id="pls"),
        pytest.param(b"\x1f\x8b\x08\x00garbage", "gzip-compressed data", id="gzip"),
        pytest.param("#EXTM3U\n".encode("utf-16"), "UTF-16 text", id="utf16"),
        pytest.param(b"", "an empty response", id="empty"),
        pytest.param(b" \r\n\t\n", "an empty response", id="whitespace_only"),
        pytest.param(b"\xef\xbb\xbf", "an empty response", id="bom_only"),
        pytest.param(b"Account expired\nContact support\n", "a text document with no playlist entries", id="text"),
    ],
)
def test_not_a_playlist_names_the_source_and_what_came_back(body: bytes, what: str) -> None:
    with pytest.raises(NotAPlaylistError) as caught:
        parse(body)
    assert caught.value.message.startswith(f"The provider 'Acme IPTV' returned {what}")
    assert caught.value.message.endswith(", not a playlist.")
    assert caught.value.hint


@pytest.mark.parametrize("size", [1, 3, 1000], ids=lambda size: f"chunks_of_{size}")
def test_first_bytes_decide_json_or_playlist_whatever_the_chunking(size: int) -> None:
    entries, report = feed_in_chunks(f"[NO PUBLIC STREAM]\n#EXTINF:-1,A\n{URL}\n".encode(), size)
    assert [entry.title for entry in entries] == ["A"]
    assert report.skipped_lines == {"not_a_url": [1]}
    with pytest.raises(NotAPlaylistError, match="a JSON document"):
        feed_in_chunks(b'[\n  {"error": "Unauthorized"}\n]\n', size)
    with pytest.raises(NotAPlaylistError, match="a PLS playlist"):
        feed_in_chunks(b"[playlist]\nFile1=http://h/1\n", size)


def test_html_is_refused_on_the_first_chunk() -> None:
    parser = M3UParser(source="Acme IPTV")
    with pytest.raises(NotAPlaylistError, match="HTML page"):
        list(parser.feed(b"<!DOCTYPE html><html>" + b"x" * 4096))


def test_text_error_excerpt_is_redacted() -> None:
    with pytest.raises(NotAPlaylistError) as caught:
        parse(b"Invalid login: password=hunter2222 for http://bob:pw1234@p.tv/get.php\n")
    assert "hunter2222" not in str(caught.value)
    assert "pw1234" not in str(caught.value)
    assert "Invalid login" in str(caught.value)


def test_repr_of_entries_and_report_is_safe_to_log() -> None:
    entries, report = parse(
        '#EXTM3U x-tvg-url="http://p.tv/xmltv.php?username=bob&password=epgpass99"\n'
        "#EXTINF:-1,DRM\n#KODIPROP:inputstream.adaptive.license_key=0123456789abcdef:fedcba9876543210\n"
        f"{URL}\n"
    )
    logged = repr(entries) + repr(report) + repr(report.header)
    for secret in ("s3cret", "alice", "epgpass99", "0123456789abcdef"):
        assert secret not in logged
    assert "inputstream.adaptive.license_key" in logged
    assert entries[0].url == URL  # the data itself keeps what playback needs


def test_report_source_is_redacted() -> None:
    _, report = parse_m3u(f"#EXTINF:-1,A\n{URL}\n", source="http://p.tv/get.php?username=bob&password=s3cr3tpw")
    assert "s3cr3tpw" not in report.source


# -- limits ----------------------------------------------------------------------------------------------------------


def test_over_long_line_is_skipped_and_later_lines_keep_their_numbers() -> None:
    playlist = f"#EXTM3U\n#EXTINF:-1,{'x' * 200}\n{URL}\n#EXTINF:-1,After\n{URL}\n".encode()
    for size in (1, 7, 64, len(playlist)):
        entries, report = feed_in_chunks(playlist, size, max_line_bytes=100)
        assert [(e.title, e.line_no) for e in entries] == [("12345", 3), ("After", 4)], size
        assert report.skipped_lines == {"line_too_long": [2]}, size
        assert any("M3U_STRM_MAX_LINE_BYTES" in warning for warning in report.warnings)


def test_over_long_last_line_without_newline_is_skipped() -> None:
    playlist = f"#EXTM3U\n#EXTINF:-1,A\n{URL}\n{'y' * 300}".encode()
    for size in (1, 5, len(playlist)):
        entries, report = feed_in_chunks(playlist, size, max_line_bytes=100)
        assert [e.title for e in entries] == ["A"]
        assert report.skipped_lines == {"line_too_long": [4]}


def test_playlist_over_max_bytes_raises_naming_the_setting() -> None:
    with pytest.raises(LimitExceededError) as caught:
        parse(f"#EXTM3U\n#EXTINF:-1,A\n{URL}\n" * 10, max_bytes=100)
    assert "'Acme IPTV'" in caught.value.message
    assert "100 bytes" in caught.value.message
    assert "M3U_STRM_MAX_PLAYLIST_BYTES" in str(caught.value)


def test_playlist_over_max_entries_raises_naming_the_setting() -> None:
    with pytest.raises(LimitExceededError) as caught:
        parse(f"#EXTM3U\n#EXTINF:-1,A\n{URL}\n{URL}\n#EXTINF:-1,C\n{URL}\n", max_entries=2)
    assert "more than 2 entries" in caught.value.message
    assert "M3U_STRM_MAX_ENTRIES" in str(caught.value)


def test_exactly_max_entries_is_allowed() -> None:
    entries, _ = parse(f"#EXTM3U\n#EXTINF:-1,A\n{URL}\n#EXTINF:-1,B\n{URL}\n", max_entries=2)
    assert len(entries) == 2


# -- streaming ---------------------------------------------------------------------------------------------------

EVERYTHING = (
    b'\xef\xbb\xbf#EXTM3U x-tvg-url="http://epg.tv/a.xml,http://epg.tv/b.xml"\r\n'
    + '#EXTINF:-1 tvg-id="a" tvg-name="The Good, the Bad" group-title="Films",Ünïcödé, title\r\n'.encode()
    + URL.encode()
    + b'\r\n#EXTINF:-1 tvg-id="b",Lone CR\r'
    + URL.encode()
    + b'\r#EXTINF-1 tvg-id="c",Missing colon\n'
    + b"#EXTVLCOPT:http-user-agent=UA\n#KODIPROP:inputstream.adaptive.license_key=k:v\n"
    + URL.encode()
    + b"|Referer=http://r/\n"
    + "#EXTINF:-1,Télé\n".encode("cp1252")
    + URL.encode()
    + b"\n#EXTINF:-1,Nul\x00\n"
    + URL.encode()
    + b'\n#EXTINF:-1 tvg-name="unterminated, x,Title\n'
    + URL.encode()
    + b"\n#EXTINF:-1,"
    + b"L" * 120
    + b"\r\n"
    + URL.encode()
    + b"\n#EXTINF:-1,First\n#EXTINF:-1,Second\n#EXTGRP:Grp Name\n[NO PUBLIC STREAM]\njavascript:alert(1)\n"
    + b"#EXTINF:-1 tvg-id='single' tvg-name=\"x\",\xf0\x9f\x98\x80 emoji\n"
    + URL.encode()
    + b"\n#EXTINF:-1,Dangling at the end"
)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, len(EVERYTHING)], ids=lambda size: f"chunks_of_{size}")
def test_chunk_boundaries_do_not_change_entries_or_report(size: int) -> None:
    expected_entries, expected_report = feed_in_chunks(EVERYTHING, len(EVERYTHING), max_line_bytes=100)
    entries, report = feed_in_chunks(EVERYTHING, size, max_line_bytes=100)
    assert [fields(e) for e in entries] == [fields(e) for e in expected_entries]
    assert report == expected_report


def test_everything_playlist_report() -> None:
    entries, report = feed_in_chunks(EVERYTHING, len(EVERYTHING), max_line_bytes=100)
    assert [e.title for e in entries] == [
        "Ünïcödé, title",
        "Lone CR",
        "Missing colon",
        "Télé",
        "12345",
        "Title",
        "12345",
        "\U0001f600 emoji",
    ]
    assert report.skipped_lines == {
        "nul_byte": [12],
        "line_too_long": [16],
        "duplicate_extinf": [18],
        "not_a_url": [21],
        "scheme_not_allowed": [22],
        "extinf_without_url": [25],
    }
    assert report.repaired_lines == {
        "malformed_extinf": [6, 14],
        "url_without_extinf": [13, 17],
    }
    assert report.decode_replacements == 1
    assert report.header.epg_urls == ["http://epg.tv/a.xml", "http://epg.tv/b.xml"]
    assert entries[2].vlc_options == {"http-referrer": "http://r/", "http-user-agent": "UA"}
    assert entries[2].kodi_props == {"inputstream.adaptive.license_key": "k:v"}
    assert report.lines == 25
    assert report.bytes_read == len(EVERYTHING)


def test_feed_yields_entries_as_soon_as_their_url_line_ends() -> None:
    parser = M3UParser()
    assert list(parser.feed(b"#EXTM3U\n#EXTINF:-1,A\nhttp://h/1")) == []  # the URL line may go on
    assert [e.url for e in parser.feed(b".ts\n#EXTINF")] == ["http://h/1.ts"]
    assert [e.title for e in parser.feed(b":-1,B\nhttp://h/2\n")] == ["B"]
    assert list(parser.close()) == []
    assert parser.report.entries == 2


def playlist_chunks(entries: int) -> Iterator[bytes]:
    """A large playlist made chunk by chunk, never held whole."""
    yield b'#EXTM3U x-tvg-url="http://epg.tv/guide.xml"\n'
    batch: list[str] = []
    for index in range(entries):
        batch.append(
            f'#EXTINF:-1 tvg-id="c{index}.uk" tvg-name="Channel {index}" tvg-logo="http://logo.tv/{index}.png" '
            f'group-title="Group {index % 50}",Channel {index}\nhttp://line.tv:8080/live/u/p/{index}.ts\n'
        )
        if len(batch) == 250:
            yield "".join(batch).encode()
            batch.clear()
    yield "".join(batch).encode()


def test_memory_stays_flat_for_200k_entries() -> None:
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        count = sum(1 for _ in iter_m3u(playlist_chunks(200_000), source="big"))
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert peak < 4_000_000, f"peak traced memory {peak:,} bytes"


# -- writer ------------------------------------------------------------------------------------------------------


def test_render_golden_output() -> None:
    header = PlaylistHeader(attrs={"tvg-shift": "1"}, epg_urls=["http://epg.tv/a.xml", "http://epg.tv/b.xml"])
    entries = [
        M3UEntry(
            "BBC One, HD",
            "http://h/1.ts",
            attrs={"tvg-id": "bbc1.uk", "tvg-name": 'Say "Hi"', "group-title": "UK"},
            group="UK",
            vlc_options={"http-user-agent": "UA/1"},
        ),
        M3UEntry(
            "Film",
            "http://h/2.mkv",
            duration=5400.5,
            group="Movies",
            kodi_props={"inputstream.adaptive.license_key": "k"},
        ),
    ]
    assert render_m3u(entries, header) == (
        '#EXTM3U tvg-shift="1" x-tvg-url="http://epg.tv/a.xml,http://epg.tv/b.xml"\n'
        '#EXTINF:-1 tvg-id="bbc1.uk" tvg-name=\'Say "Hi"\' group-title="UK",BBC One, HD\n'
        "#EXTVLCOPT:http-user-agent=UA/1\n"
        "http://h/1.ts\n"
        "#EXTINF:5400.5,Film\n"
        "#EXTGRP:Movies\n"
        "#KODIPROP:inputstream.adaptive.license_key=k\n"
        "http://h/2.mkv\n"
    )


def test_title_with_newline_cannot_inject_an_entry() -> None:
    evil = M3UEntry('Evil\n#EXTINF:-1,Injected\r\nhttp://evil.tv/x"', URL, attrs={"tvg-name": "a\nb"})
    rendered = render_m3u([evil])
    assert rendered.count("\n") == 3
    entries, _ = parse(rendered)
    assert [(e.title, e.attrs, e.url) for e in entries] == [
        ('Evil #EXTINF:-1,Injected  http://evil.tv/x"', {"tvg-name": "a b"}, URL)
    ]


@pytest.mark.parametrize(
    ("value", "written", "read_back"),
    [
        pytest.param("plain", '"plain"', "plain", id="plain"),
        pytest.param('say "hi"', "'say \"hi\"'", 'say "hi"', id="double_quotes_use_single"),
        pytest.param("it's", '"it\'s"', "it's", id="apostrophe_uses_double"),
        pytest.param('it\'s "x"', "\"it's 'x'\"", "it's 'x'", id="both_quotes_lossy"),
        pytest.param("a, b = c", '"a, b = c"', "a, b = c", id="comma_and_equals"),
    ],
)
def test_attribute_values_are_quoted_so_they_read_back(value: str, written: str, read_back: str) -> None:
    rendered = render_m3u([M3UEntry("T", URL, attrs={"tvg-name": value})])
    assert f"tvg-name={written}," in rendered
    assert only_entry(rendered).attrs == {"tvg-name": read_back}


def test_writer_cleans_keys_and_urls() -> None:
    entry = M3UEntry("T", "http://h/a\nb", attrs={'Bad Key="x': "v", " ": "dropped"}, vlc_options={"A B": "c\nd"})
    rendered = render_m3u([entry])
    assert rendered == '#EXTM3U\n#EXTINF:-1 badkeyx="v",T\n#EXTVLCOPT:ab=c d\nhttp://h/a%0Ab\n'


def test_entry_group_replaces_a_different_group_title() -> None:
    entry = M3UEntry("T", URL, attrs={"group-title": "Old"}, group="New")
    assert only_entry(render_m3u([entry])).group == "New"
    assert entry.attrs == {"group-title": "Old"}  # the writer does not change its input


@pytest.mark.parametrize(
    ("duration", "text"),
    [(-1.0, "-1"), (0.0, "0"), (5400.0, "5400"), (12.5, "12.5"), (1e-05, "0.00001"), (float("nan"), "-1")],
    ids=["minus_one", "zero", "integer", "fraction", "tiny_without_exponent", "nan"],
)
def test_durations_are_written_plainly(duration: float, text: str) -> None:
    assert render_m3u([M3UEntry("T", URL, duration=duration)]).splitlines()[1] == f"#EXTINF:{text},T"


def test_write_m3u_is_lazy() -> None:
    def endless() -> Iterator[M3UEntry]:
        index = 0
        while True:
            index += 1
            yield M3UEntry(f"C{index}", f"http://h/{index}")

    lines = write_m3u(endless())
    assert [next(lines) for _ in range(3)] == ["#EXTM3U\n", "#EXTINF:-1,C1\n", "http://h/1\n"]
