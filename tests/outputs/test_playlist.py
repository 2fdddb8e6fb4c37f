"""The served M3U playlist: golden bytes, parse-back with our own parser, logo safety, streaming.

Golden files live in ``tests/outputs/golden/``; ``UPDATE_GOLDEN=1`` rewrites them from the current output.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from m3u_strm.chunks import CHUNK_CHARS
from m3u_strm.ingest.m3u import parse_m3u
from m3u_strm.ingest.m3u_text import clean_text
from m3u_strm.outputs.playlist import PlaylistChannel, render_playlist, safe_logo
from tests.outputs.golden_files import assert_matches_golden

GATEWAY = "http://192.168.1.5:8000/play/pb_Tok-3n"
EPG_URL = "http://192.168.1.5:8000/epg/pb_Tok-3n/guide.xml"

CHANNELS = (
    PlaylistChannel(
        1,
        "BBC One",
        f"{GATEWAY}/live/1",
        tvg_id="bbc1.uk",
        logo="https://logos.example/bbc1.png",
        group="UK | News",
        chno=101,
        suffix=" (FHD)",
    ),
    PlaylistChannel(
        2,
        "Evil\n#EXTINF:-1,Injected\r\nhttp://provider.example/steal",
        f"{GATEWAY}/live/2",
        tvg_id="evil.example",
        logo="javascript:alert(document.cookie)",
        group='Kids, "Fun" & <Games>',
        chno=102,
    ),
    PlaylistChannel(
        3,
        "Quotes \"double\" and 'single', commas, = signs",
        f"{GATEWAY}/live/3",
        tvg_id="quotes.example",
        tvg_name='Quotes "double"',
        logo="data:image/png;base64,iVBORw0KGgo=",
        group="Movies",
    ),
    PlaylistChannel(4, "قناة الجزيرة", f"{GATEWAY}/live/4", tvg_id="aljazeera.qa", group="AR | أخبار", chno=104),
    PlaylistChannel(5, "😀 Emoji TV \u202eRTL override", f"{GATEWAY}/live/5", logo="http://logos.example/e.png"),
    PlaylistChannel(6, " \x07 ", f"{GATEWAY}/live/6", chno=106),
)


def render(channels: tuple[PlaylistChannel, ...] = CHANNELS, epg_url: str | None = EPG_URL) -> str:
    return "".join(render_playlist(channels, epg_url=epg_url))


def test_playlist_matches_golden_file() -> None:
    assert_matches_golden("playlist.m3u", render().encode())


def test_playlist_parses_back_to_the_same_channels() -> None:
    entries, report = parse_m3u(render(), source="ours")

    assert report.skipped == {} and report.repaired == {}
    assert [(e.title, e.tvg_id, e.group, e.url) for e in entries] == [
        ("BBC One (FHD)", "bbc1.uk", "UK | News", f"{GATEWAY}/live/1"),
        (
            "Evil #EXTINF:-1,Injected  http://provider.example/steal",
            "evil.example",
            'Kids, "Fun" & <Games>',
            f"{GATEWAY}/live/2",
        ),
        ("Quotes \"double\" and 'single', commas, = signs", "quotes.example", "Movies", f"{GATEWAY}/live/3"),
        ("قناة الجزيرة", "aljazeera.qa", "AR | أخبار", f"{GATEWAY}/live/4"),
        ("😀 Emoji TV \u202eRTL override", None, None, f"{GATEWAY}/live/5"),
        ("Channel 106", None, None, f"{GATEWAY}/live/6"),
    ]
    assert [e.tvg_chno for e in entries] == ["101", "102", None, "104", None, "106"]
    assert report.header.epg_urls == [EPG_URL]


def test_injected_extinf_in_a_name_stays_inside_its_title() -> None:
    lines = render().splitlines()

    assert sum(line.startswith("#EXTINF") for line in lines) == len(CHANNELS)
    assert not any(line.startswith("http://provider.example") for line in lines)


def test_tvg_name_falls_back_to_the_name_without_the_quality_suffix() -> None:
    entries, _ = parse_m3u(render())

    assert [e.tvg_name for e in entries[:1]] == ["BBC One"]
    assert entries[2].tvg_name == 'Quotes "double"'


@pytest.mark.parametrize(
    ("epg_url", "header"),
    [(EPG_URL, f'#EXTM3U x-tvg-url="{EPG_URL}"'), (None, "#EXTM3U"), ("", "#EXTM3U")],
    ids=["with-guide", "without-guide", "empty-guide-url"],
)
def test_header_names_the_guide_url_when_there_is_one(epg_url: str | None, header: str) -> None:
    assert render(CHANNELS[:1], epg_url).splitlines()[0] == header


@pytest.mark.parametrize(
    ("channel", "title"),
    [
        (PlaylistChannel(9, "", "http://gw/9", chno=7), "Channel 7"),
        (PlaylistChannel(9, "\t\n", "http://gw/9"), "Channel 9"),
        (PlaylistChannel(9, "\ufeff", "http://gw/9", tvg_name="From tvg-name"), "From tvg-name"),
        (PlaylistChannel(9, " ", "http://gw/9", tvg_name=" \x00", suffix=" (HD)"), "Channel 9 (HD)"),
        (PlaylistChannel(9, "ITV", "http://gw/9", suffix=" (UHD)"), "ITV (UHD)"),
    ],
    ids=["blank-uses-chno", "whitespace-uses-id", "bom-only-uses-tvg-name", "blank-tvg-name-too", "suffix-appended"],
)
def test_titles_are_never_blank(channel: PlaylistChannel, title: str) -> None:
    entries, _ = parse_m3u(render((channel,)))

    assert [entry.title for entry in entries] == [title]


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://logos.example/bbc1.png", "https://logos.example/bbc1.png"),
        ("HTTP://LOGOS.EXAMPLE/A.PNG", "HTTP://LOGOS.EXAMPLE/A.PNG"),
        ("  http://logos.example/a b.png  ", "http://logos.example/a b.png"),
        ("http://[::1]:8080/logo.png", "http://[::1]:8080/logo.png"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        (" javascript:alert(1)", None),
        ("data:image/png;base64,iVBORw0KGgo=", None),
        ("file:///etc/passwd", None),
        ("ftp://logos.example/a.png", None),
        ("//logos.example/a.png", None),
        ("http:/logos.example/a.png", None),
        ("http://", None),
        ("https://logos.example/a\n.png", None),
        ("java\tscript:alert(1)", None),
        ("http://[::1/logo.png", None),
        ("", None),
        (None, None),
    ],
    ids=[
        "https",
        "upper-case-scheme",
        "stripped-inner-space-kept",
        "ipv6-host",
        "javascript",
        "javascript-mixed-case",
        "javascript-leading-space",
        "data-uri",
        "file",
        "ftp",
        "scheme-relative",
        "no-authority",
        "no-host",
        "newline-inside",
        "tab-inside-scheme",
        "broken-ipv6",
        "empty",
        "none",
    ],
)
def test_safe_logo_keeps_only_http_and_https_urls_with_a_host(url: str | None, kept: str | None) -> None:
    assert safe_logo(url) == kept


def test_unsafe_logos_never_reach_the_playlist() -> None:
    text = render()

    assert "javascript" not in text.lower() and "data:image" not in text
    assert 'tvg-logo="https://logos.example/bbc1.png"' in text


def _endless_channels() -> Iterator[PlaylistChannel]:
    for number in itertools.count(1):
        yield PlaylistChannel(number, f"Channel {number}", f"{GATEWAY}/live/{number}", tvg_id=f"c{number}.example")


def test_render_playlist_streams_without_consuming_every_channel() -> None:
    chunks = render_playlist(_endless_channels(), epg_url=EPG_URL)

    first, second = next(chunks), next(chunks)

    assert CHUNK_CHARS <= len(first) < 2 * CHUNK_CHARS and len(second) >= CHUNK_CHARS
    assert first.startswith("#EXTM3U") and not second.startswith("#EXTM3U")


def test_chunks_join_to_whole_lines_in_order() -> None:
    channels = list(itertools.islice(_endless_channels(), 3000))

    chunks = list(render_playlist(channels, epg_url=None))
    entries, _ = parse_m3u("".join(chunks))

    assert len(chunks) > 1 and all(chunk.endswith("\n") for chunk in chunks)
    assert [entry.url for entry in entries] == [channel.url for channel in channels]


# --- property: any names parse back -------------------------------------------------------------------------

_hostile = st.sampled_from(["\n#EXTINF:-1,x", '"', "'", ",", "=", ' tvg-id="x"', "\r", "\x00", "\u2028", "#", "😀"])
_names = st.lists(st.one_of(st.text(max_size=12), _hostile), max_size=6).map("".join)
_tokens = st.text(st.characters(categories=["Ll", "Lu", "Nd"], max_codepoint=127) | st.sampled_from("-_"), min_size=1)


def expected_title(channel: PlaylistChannel) -> str:
    """What a player shows: the name cleaned the way the writer and parser clean text, or the fallback."""
    name = clean_text(channel.name) or (clean_text(channel.tvg_name) if channel.tvg_name else "")
    return unicodedata.normalize("NFC", name or f"Channel {channel.channel_id}")


@settings(max_examples=300, deadline=None)
@given(names=st.lists(st.tuples(_names, st.none() | _names, st.none() | _names), max_size=8), token=_tokens)
def test_any_names_parse_back_one_entry_per_channel_with_urls_intact(
    names: list[tuple[str, str | None, str | None]], token: str
) -> None:
    channels = [
        PlaylistChannel(index, name, f"http://gw.example:8000/play/{token}/live/{index}", tvg_name=tvg, group=group)
        for index, (name, tvg, group) in enumerate(names, start=1)
    ]

    entries, report = parse_m3u(render(tuple(channels)))

    assert sum(report.skipped.values()) == 0
    assert [entry.url for entry in entries] == [channel.url for channel in channels]
    assert [entry.title for entry in entries] == [expected_title(channel) for channel in channels]
