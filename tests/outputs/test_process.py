"""The one-shot processor: a playlist (file or URL) in, a .strm tree out, nothing stored."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import pytest

from m3u_strm.config import Settings
from m3u_strm.errors import NotAPlaylistError
from m3u_strm.outputs.process import ProcessOptions, ProcessReport, process_playlist
from tests.catalogue_helpers import Line, write_playlist

PLAYLIST = [
    Line("UK: Sky Sports 1 HD", "http://p.example/live/u/p/1.ts", "", "Sports"),
    Line("|UK| SKY SPORTS 1 FHD", "http://p.example/live/u/p/2.ts", "", "Sports"),
    Line("Sky Sports 1 SD", "http://p.example/live/u/p/3.ts", "", "Sports"),
    Line("UK: Sky Sports 1 4K", "http://p.example/live/u/p/4.ts", "", "Sports"),
    Line("BBC One", "http://p.example/live/u/p/5.ts", "", "General"),
    Line("BBC One +1", "http://p.example/live/u/p/6.ts", "", "General"),
    Line("The Matrix (1999)", "http://p.example/movie/u/p/100.mkv", "", "Movies"),
    Line("Severance S01 E02", "http://p.example/series/u/p/200.mkv", "", "Series"),
]


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", demo=False)


def _run(source: str, out: Path, tmp_path: Path, **options: object) -> ProcessReport:
    async def run() -> ProcessReport:
        return await process_playlist(source, out, ProcessOptions(**options), _settings(tmp_path))  # type: ignore[arg-type]

    return anyio.run(run)


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*.strm"))}


@pytest.fixture
def playlist(tmp_path: Path) -> Path:
    return write_playlist(tmp_path / "list.m3u", PLAYLIST)


def test_best_keeps_one_file_per_channel_with_the_best_stream(playlist: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = _run(str(playlist), out, tmp_path)
    assert _tree(out) == {
        "Live/Sky Sports 1.strm": "http://p.example/live/u/p/4.ts\n",
        "Live/BBC One.strm": "http://p.example/live/u/p/5.ts\n",
        "Live/BBC One +1.strm": "http://p.example/live/u/p/6.ts\n",
        "Movies/The Matrix (1999)/The Matrix (1999).strm": "http://p.example/movie/u/p/100.mkv\n",
        "TV Shows/Severance/Season 01/Severance S01E02.strm": "http://p.example/series/u/p/200.mkv\n",
    }
    assert (report.files_created, report.duplicates_merged, report.entries) == (5, 3, 8)
    assert report.categories == ["General", "Movies", "Series", "Sports"]
    assert report.direct_urls_with_credentials is True


@pytest.mark.parametrize(
    ("prefer", "url"),
    [("hd", "http://p.example/live/u/p/2.ts"), ("sd", "http://p.example/live/u/p/3.ts"),
     ("4k", "http://p.example/live/u/p/4.ts")],
)  # fmt: skip
def test_prefer_picks_the_closest_quality(playlist: Path, tmp_path: Path, prefer: str, url: str) -> None:
    _run(str(playlist), tmp_path / "out", tmp_path, prefer=prefer)
    assert _tree(tmp_path / "out")["Live/Sky Sports 1.strm"] == url + "\n"


def test_prefer_all_writes_every_stream_named_by_quality(playlist: Path, tmp_path: Path) -> None:
    _run(str(playlist), tmp_path / "out", tmp_path, prefer="all", by_category=True)
    sky = sorted(path for path in _tree(tmp_path / "out") if "Sky Sports 1" in path)
    assert sky == [
        "Live/Sports/Sky Sports 1 (1080p).strm", "Live/Sports/Sky Sports 1 (4K).strm",
        "Live/Sports/Sky Sports 1 (720p).strm", "Live/Sports/Sky Sports 1 (SD).strm",
    ]  # fmt: skip


def test_no_merge_writes_one_file_per_entry(playlist: Path, tmp_path: Path) -> None:
    report = _run(str(playlist), tmp_path / "out", tmp_path, merge=False)
    assert report.duplicates_merged == 0
    assert len(_tree(tmp_path / "out")) == 8


def test_second_run_changes_nothing_and_clean_removes_only_its_own_files(playlist: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(str(playlist), out, tmp_path)
    mine = out / "Live" / "my own.strm"
    mine.write_text("keep me\n")
    again = _run(str(playlist), out, tmp_path)
    assert (again.files_created, again.files_updated, again.files_unchanged) == (0, 0, 5)
    write_playlist(playlist, PLAYLIST[:5])
    cleaned = _run(str(playlist), out, tmp_path, clean=True)
    assert cleaned.files_removed == 3
    assert mine.read_text() == "keep me\n"
    assert "Movies/The Matrix (1999)/The Matrix (1999).strm" not in _tree(out)


def test_a_page_that_is_not_a_playlist_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    page = tmp_path / "login.html"
    page.write_text("<html><body>Please log in</body></html>")
    with pytest.raises(NotAPlaylistError):
        _run(str(page), tmp_path / "out", tmp_path)
    assert not list((tmp_path / "out").rglob("*.strm"))


@pytest.fixture
def served(playlist: Path) -> Iterator[str]:
    body = playlist.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "audio/x-mpegurl")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/get.php?username=u&password=p4ss&type=m3u_plus"
    server.shutdown()


def test_playlist_from_a_url_with_credentials_is_reported_redacted(served: str, tmp_path: Path) -> None:
    report = _run(served, tmp_path / "out", tmp_path)
    assert report.files_created == 5
    assert "p4ss" not in report.source and "p4ss" not in str(report.to_dict())
