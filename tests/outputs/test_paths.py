"""FAULTS row 17: hostile provider names become safe path components, and every built path stays under the root."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from m3u_strm.errors import UnsafePathError
from m3u_strm.outputs.paths import (
    MAX_COMPONENT_BYTES,
    RootGuard,
    episode_relpath,
    live_relpath,
    movie_relpath,
    resolve_under,
    safe_component,
    split_title_year,
)

HOSTILE = [
    ("../../etc/passwd", "-..-etc-passwd", "traversal"),
    ("/abs", "-abs", "absolute"),
    ("..\\..\\x", "-..-x", "windows-traversal"),
    ("a\x00b", "ab", "nul"),
    ("bell\x07 and del\x7f", "bell and del", "controls"),
    ("tab\tand\nnewline\r\n", "tab and newline", "whitespace-controls"),
    ("CON", "CON_", "con"),
    ("con", "con_", "con-lowercase"),
    ("aux.txt", "aux_.txt", "aux-with-extension"),
    ("nul.strm", "nul_.strm", "nul-strm"),
    ("Lpt9.tar.gz", "Lpt9_.tar.gz", "lpt-two-dots"),
    ("COM\u00b9", "COM\u00b9_", "com-superscript"),
    ("COM10", "COM10", "com10-is-allowed"),
    ("CONSOLE", "CONSOLE", "con-prefix-is-allowed"),
    ("name. ", "name", "trailing-dot-space"),
    ("name...", "name", "trailing-dots"),
    ("  spaced   out  ", "spaced out", "spaces"),
    (".hidden", "hidden", "leading-dot"),
    ("a:b", "a-b", "ntfs-ads"),
    ("Mission: Impossible", "Mission - Impossible", "colon-space"),
    ("AC/DC | Live", "AC-DC - Live", "slash-and-pipe"),
    ("<>|?*", "-", "only-reserved"),
    ('say "hi" <now>?', "say hi now", "quotes-and-brackets"),
    ("", "_", "empty"),
    (".", "_", "dot"),
    ("..", "_", "dot-dot"),
    ("....", "_", "only-dots"),
    ("   ", "_", "only-spaces"),
    ("فيلم عربي", "فيلم عربي", "rtl"),
    ("\u202egpj.exe", "gpj.exe", "rtl-override"),
    ("\ufeffBOM title\u200b", "BOM title", "bom-zero-width"),
    ("🎬 Movie 🍿", "🎬 Movie 🍿", "emoji"),
    ("👨\u200d👩\u200d👧 family", "👨\u200d👩\u200d👧 family", "emoji-zwj"),
    ("Ame\u0301lie", "Amélie", "nfd-to-nfc"),
    ("x\ud800y", "xy", "lone-surrogate"),
]


@pytest.mark.parametrize(("name", "expected", "_id"), HOSTILE, ids=[row[2] for row in HOSTILE])
def test_hostile_names_become_safe_components(name: str, expected: str, _id: str) -> None:
    assert safe_component(name) == expected


TRUNCATED = [
    ("x" * 300, "x" * 240, "ascii"),
    ("é" * 150, "é" * 120, "two-byte"),
    ("a" * 239 + "é" * 10, "a" * 239, "two-byte-at-cut"),
    ("a" * 238 + "€" + "b" * 100, "a" * 238, "three-byte-at-cut"),
    ("😀" * 75, "😀" * 60, "four-byte"),
    ("a" * 237 + "😀" * 10, "a" * 237, "four-byte-at-cut"),
    ("x" * 300 + ".strm", "x" * 235 + ".strm", "keeps-extension"),
    ("word " * 60, ("word " * 48).strip(), "no-trailing-space-after-cut"),
    ("Kapitel " + "ü" * 200 + ".mkv", "Kapitel " + "ü" * 114 + ".mkv", "multibyte-with-extension"),
]


@pytest.mark.parametrize(("name", "expected", "_id"), TRUNCATED, ids=[row[2] for row in TRUNCATED])
def test_long_names_are_cut_at_a_character_boundary(name: str, expected: str, _id: str) -> None:
    result = safe_component(name)
    assert result == expected
    assert len(result.encode()) <= MAX_COMPONENT_BYTES


def test_fallback_replaces_a_name_with_nothing_left() -> None:
    assert safe_component("..", fallback="Untitled") == "Untitled"
    assert safe_component("?*", fallback="") == "_"


def test_max_bytes_below_the_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        safe_component("x", max_bytes=4)


TITLES = [
    ("The Matrix (1999)", ("The Matrix", 1999), "parenthesised"),
    ("The Matrix - 1999", ("The Matrix", 1999), "dash"),
    ("The Matrix \u2013 1999", ("The Matrix", 1999), "en-dash"),
    ("Alien [1979]", ("Alien", 1979), "bracketed"),
    ("Heat (1995) ", ("Heat", 1995), "trailing-space"),
    ("1917 (2019)", ("1917", 2019), "numeric-title"),
    ("1917", ("1917", None), "numeric-title-alone"),
    ("2001: A Space Odyssey", ("2001: A Space Odyssey", None), "leading-number"),
    ("Blade Runner 2049", ("Blade Runner 2049", None), "bare-number-is-title"),
    ("Wonder Woman 1984", ("Wonder Woman 1984", None), "bare-year-is-title"),
    ("EN - The Matrix 1999", ("EN - The Matrix 1999", None), "language-prefix-untouched"),
    ("(2019)", ("(2019)", None), "only-a-year"),
    ("Old Film (1200)", ("Old Film (1200)", None), "not-a-year"),
    ("", ("", None), "empty"),
]


@pytest.mark.parametrize(("title", "expected", "_id"), TITLES, ids=[row[2] for row in TITLES])
def test_split_title_year(title: str, expected: tuple[str, int | None], _id: str) -> None:
    assert split_title_year(title) == expected


MOVIES = [
    (("The Matrix", 1999), {}, "Movies/The Matrix (1999)/The Matrix (1999).strm", "with-year"),
    (("Heat", None), {}, "Movies/Heat/Heat.strm", "no-year"),
    (("Heat (1995)", None), {}, "Movies/Heat (1995)/Heat (1995).strm", "year-in-title-not-repeated"),
    (("Heat (1995)", 1995), {}, "Movies/Heat (1995)/Heat (1995).strm", "same-year-twice"),
    (("Léon: The Professional", 1994), {}, "Movies/Léon - The Professional (1994)/Léon - The Professional (1994).strm",
     "colon"),
    (("CON", None), {}, "Movies/CON_/CON_.strm", "reserved"),
    (("", None), {}, "Movies/Untitled/Untitled.strm", "empty"),
    (("Alien", 1979), {"genre": "Sci-Fi / Horror"}, "Movies/Sci-Fi - Horror/Alien (1979)/Alien (1979).strm", "genre"),
    (("Alien", 1979), {"genre": "  "}, "Movies/Alien (1979)/Alien (1979).strm", "blank-genre"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "kwargs", "expected", "_id"), MOVIES, ids=[row[3] for row in MOVIES])
def test_movie_relpath(args: tuple[str, int | None], kwargs: dict[str, str], expected: str, _id: str) -> None:
    assert str(movie_relpath(*args, **kwargs)) == expected


def test_long_movie_title_keeps_year_and_extension() -> None:
    path = movie_relpath("Épopée " * 60, 2001)
    assert path.name.endswith(" (2001).strm") and path.parent.name.endswith(" (2001)")
    assert all(len(part.encode()) <= MAX_COMPONENT_BYTES for part in path.parts)


EPISODES = [
    (("Lost", 2004, 1, 2, "Walkabout"), "TV Shows/Lost (2004)/Season 01/Lost S01E02 - Walkabout.strm", "plain"),
    (("Lost", None, 1, 2, ""), "TV Shows/Lost/Season 01/Lost S01E02.strm", "empty-title"),
    (("Lost", None, 1, 2, None), "TV Shows/Lost/Season 01/Lost S01E02.strm", "no-title"),
    (("Lost", None, 1, 2, "S01E02"), "TV Shows/Lost/Season 01/Lost S01E02.strm", "title-repeats-code"),
    (("Lost", None, 1, 2, "lost - s01e02"), "TV Shows/Lost/Season 01/Lost S01E02.strm", "title-repeats-all"),
    (("Lost", None, 1, 2, "Lost - S01E02 - Pilot"), "TV Shows/Lost/Season 01/Lost S01E02 - Pilot.strm",
     "title-with-prefix"),
    (("Lost", None, 1, 2, "Lostboys"), "TV Shows/Lost/Season 01/Lost S01E02 - Lostboys.strm", "series-as-prefix-word"),
    (("Doctor Who (2005)", None, 0, 1, "Special"),
     "TV Shows/Doctor Who (2005)/Season 00/Doctor Who S00E01 - Special.strm", "year-in-series-specials"),
    (("One Piece", 1999, 1, 1071, "Gear 5"), "TV Shows/One Piece (1999)/Season 01/One Piece S01E1071 - Gear 5.strm",
     "wide-episode"),
    (("Show", None, 120, 3, "x"), "TV Shows/Show/Season 120/Show S120E03 - x.strm", "wide-season"),
    (("Show", None, -1, -5, "x"), "TV Shows/Show/Season 00/Show S00E00 - x.strm", "negative-numbers"),
    (("Q: Who?", None, 1, 1, "A/B"), "TV Shows/Q - Who/Season 01/Q - Who S01E01 - A-B.strm", "reserved-chars"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "expected", "_id"), EPISODES, ids=[row[2] for row in EPISODES])
def test_episode_relpath(args: tuple[str, int | None, int, int, str | None], expected: str, _id: str) -> None:
    assert str(episode_relpath(*args)) == expected


def test_episode_relpath_with_genre() -> None:
    path = episode_relpath("Lost", 2004, 1, 2, None, genre="Drama")
    assert str(path) == "TV Shows/Drama/Lost (2004)/Season 01/Lost S01E02.strm"


LIVE = [
    (("UK | News", "BBC News"), {}, "Live/UK - News/BBC News.strm", "plain"),
    ((None, "BBC News"), {"suffix": "HD"}, "Live/Uncategorised/BBC News (HD).strm", "no-category-suffix"),
    (("  ", "CNN"), {}, "Live/Uncategorised/CNN.strm", "blank-category"),
    (("Kids", "NUL"), {}, "Live/Kids/NUL_.strm", "reserved-channel"),
    (("Kids", "NUL"), {"suffix": "FHD"}, "Live/Kids/NUL_ (FHD).strm", "reserved-channel-with-suffix"),
    (("..", "../x"), {"suffix": "?"}, "Live/Uncategorised/-x.strm", "traversal-everywhere"),
]


@pytest.mark.parametrize(("args", "kwargs", "expected", "_id"), LIVE, ids=[row[3] for row in LIVE])
def test_live_relpath(args: tuple[str | None, str], kwargs: dict[str, str], expected: str, _id: str) -> None:
    assert str(live_relpath(*args, **kwargs)) == expected


UNSAFE_RELPATHS = [
    (PurePosixPath("/etc/passwd"), "absolute"),
    (PurePosixPath("../x.strm"), "parent"),
    (PurePosixPath("Movies/../../x.strm"), "parent-inside"),
    (PurePosixPath("Movies/..\\..\\x.strm"), "backslash"),
    (PurePosixPath("Movies/a\x00b.strm"), "nul"),
    (PurePosixPath(""), "empty"),
    (PurePosixPath("Movies/.."), "ends-in-parent"),
]


@pytest.mark.parametrize("relpath", [row[0] for row in UNSAFE_RELPATHS], ids=[row[1] for row in UNSAFE_RELPATHS])
def test_unsafe_relpaths_are_refused(tmp_path: Path, relpath: PurePosixPath) -> None:
    with pytest.raises(UnsafePathError):
        resolve_under(tmp_path, relpath)


def test_plain_relpath_resolves_under_the_root(tmp_path: Path) -> None:
    assert resolve_under(tmp_path, PurePosixPath("Movies/A/A.strm")) == tmp_path.resolve() / "Movies/A/A.strm"


def test_symlinked_directory_inside_the_root_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "Movies").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="symlink"):
        resolve_under(root, PurePosixPath("Movies/A/A.strm"))


def test_symlinked_file_inside_the_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "Live").mkdir()
    (tmp_path / "Live" / "A.strm").symlink_to(tmp_path / "elsewhere.txt")
    with pytest.raises(UnsafePathError, match="symlink"):
        resolve_under(tmp_path, PurePosixPath("Live/A.strm"))


def test_root_itself_may_be_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "nas"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    assert resolve_under(tmp_path / "link", PurePosixPath("Live/A.strm")) == real.resolve() / "Live/A.strm"


def test_guard_creates_parents_and_refuses_a_symlink_among_them(tmp_path: Path) -> None:
    guard = RootGuard(tmp_path)
    created = guard.ensure_parent(PurePosixPath("Live/News/A.strm"))
    assert created == [tmp_path.resolve() / "Live", tmp_path.resolve() / "Live/News"]
    (tmp_path / "Movies").symlink_to(tmp_path / "Live", target_is_directory=True)
    with pytest.raises(UnsafePathError):
        RootGuard(tmp_path).ensure_parent(PurePosixPath("Movies/X/A.strm"))


def _assert_safe(path: PurePosixPath, root: Path) -> None:
    assert not path.is_absolute()
    for part in path.parts:
        assert part not in ("", ".", "..")
        assert len(part.encode()) <= MAX_COMPONENT_BYTES
        assert safe_component(part) == part, f"{part!r} is not a fixed point of safe_component"
    resolved = resolve_under(root, path)
    assert os.path.commonpath([root.resolve(), resolved]) == str(root.resolve())


years = st.none() | st.integers(min_value=-10_000, max_value=10_000)
numbers = st.integers(min_value=-5, max_value=100_000)
optional_text = st.none() | st.text()


@settings(max_examples=300, deadline=None)
@given(name=st.text(), max_bytes=st.integers(min_value=16, max_value=300))
def test_safe_component_properties(name: str, max_bytes: int) -> None:
    result = safe_component(name, max_bytes=max_bytes)
    assert result and result not in (".", "..")
    assert len(result.encode()) <= max_bytes
    assert not any(char in result for char in '/\\:*?"<>|\0')
    assert result == result.strip(" .") and unicodedata.is_normalized("NFC", result)
    assert result.partition(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT1"}
    assert safe_component(result, max_bytes=max_bytes) == result


@pytest.fixture(scope="module")
def any_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("strm-root")


@settings(max_examples=200, deadline=None)
@given(title=st.text(), year=years, genre=optional_text)
def test_movie_paths_stay_under_the_root(any_root: Path, title: str, year: int | None, genre: str | None) -> None:
    _assert_safe(movie_relpath(title, year, genre=genre), any_root)


@settings(max_examples=200, deadline=None)
@given(series=st.text(), year=years, season=numbers, episode=numbers, title=optional_text, genre=optional_text)
def test_episode_paths_stay_under_the_root(
    any_root: Path, series: str, year: int | None, season: int, episode: int, title: str | None, genre: str | None
) -> None:
    _assert_safe(episode_relpath(series, year, season, episode, title, genre=genre), any_root)


@settings(max_examples=200, deadline=None)
@given(category=optional_text, channel=st.text(), suffix=optional_text)
def test_live_paths_stay_under_the_root(any_root: Path, category: str | None, channel: str, suffix: str | None) -> None:
    _assert_safe(live_relpath(category, channel, suffix=suffix), any_root)
