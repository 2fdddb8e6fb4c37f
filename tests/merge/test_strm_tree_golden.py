"""The .strm tree a small catalogue produces, against a golden listing: layout, names and link kinds."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from m3u_strm.config import Settings
from m3u_strm.outputs.links import PlayLinks
from m3u_strm.outputs.strm_tree import StrmRequest, generate_strm
from tests.catalogue_helpers import Line, add_provider, sync, write_playlist
from tests.outputs.golden_files import assert_matches_golden

LINES = [
    Line("UK: BBC One HD", "http://p.example/live/u/p/1.ts", "bbcone.uk", "UK | General"),
    Line("|UK| BBC ONE FHD", "http://p.example/live/u/p/2.ts", "", "UK | General"),
    Line("News: CON", "http://p.example/live/u/p/3.ts", "", "News/Weather"),
    Line("The Matrix (1999)", "http://p.example/movie/u/p/10.mkv", "", "Action"),
    Line("The Matrix (1999)", "http://p.example/movie/u/p/11.mp4", "", "Action"),
    Line("2001: A Space Odyssey - 1968", "http://p.example/movie/u/p/12.mkv", "", "Sci-Fi"),
    Line("../../etc/passwd", "http://p.example/movie/u/p/13.mkv", "", "Evil"),
    Line("Severance S01 E01", "http://p.example/series/u/p/20.mkv", "", "Drama"),
    Line("Severance S01 E02", "http://p.example/series/u/p/21.mkv", "", "Drama"),
    Line("Severance S02 E10", "http://p.example/series/u/p/22.mkv", "", "Drama"),
]
_LINK = re.compile(r"^http://tv\.local:8000/play/TOKEN/(live|movie|episode)/\d+\n$")


def _listing(root: Path) -> str:
    rows = []
    for path in sorted(root.rglob("*.strm")):
        match = _LINK.match(path.read_text())
        assert match, path.read_text()
        rows.append(f"{path.relative_to(root).as_posix()} -> {match[1]}")
    return "\n".join(rows) + "\n"


def test_strm_tree_matches_golden_listing(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    add_provider(engine, "p", write_playlist(tmp_path / "p.m3u", LINES))
    sync(engine, settings, "p")
    root = tmp_path / "tree"
    links = PlayLinks("http://tv.local:8000", "TOKEN")
    with Session(engine) as session:
        summary = generate_strm(session, links, StrmRequest(root, live=True, genre_folders=True))
    assert summary.duplicates["movies"] == 1  # the second Matrix
    assert_matches_golden("strm_tree.txt", _listing(root).encode())
