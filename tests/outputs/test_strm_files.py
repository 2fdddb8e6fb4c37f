"""The atomic, incremental ``.strm`` tree writer (FAULTS rows 17, 18 and 19), on real directories and processes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath

import pytest

from m3u_strm.errors import OutputWriteError
from m3u_strm.outputs.paths import live_relpath, movie_relpath
from m3u_strm.outputs.strm_files import TEMP_PREFIX, TEMP_SUFFIX, StrmFile, TreeReport, write_tree
from m3u_strm.outputs.strm_manifest import CORRUPT_MANIFEST_NAME, MANIFEST_NAME
from tests.outputs.strm_child import SECRET, relpath_for, tree_items, url_for

CHILD = Path(__file__).with_name("strm_child.py")


def movie(index: int, url: str | None = None) -> StrmFile:
    return StrmFile(movie_relpath(f"Film {index}", 2000), url or f"http://gw.test/play/tok/movie/{index}")


def channel(name: str, url: str = "http://gw.test/play/tok/live/1", category: str = "News") -> StrmFile:
    return StrmFile(live_relpath(category, name), url)


def strm_files(root: Path) -> dict[str, str]:
    """Every ``.strm`` file under ``root`` (relative path -> content), symlinks left out."""
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in root.rglob("*.strm") if not p.is_symlink()}


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(TEMP_PREFIX) and p.name.endswith(TEMP_SUFFIX)]


def manifest(root: Path) -> dict[str, dict[str, object]]:
    scopes: dict[str, dict[str, object]] = json.loads((root / MANIFEST_NAME).read_text())["scopes"]
    return scopes


def counts(report: TreeReport) -> tuple[int, int, int, int]:
    return report.created, report.updated, report.unchanged, report.removed


def test_first_run_creates_and_rerun_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "strm" / "nested"  # created with its parents
    files = [movie(i) for i in range(30)]
    assert counts(write_tree(root, files, scope="movies")) == (30, 0, 0, 0)
    target = root / files[0].relpath
    assert target.read_text() == "http://gw.test/play/tok/movie/0\n"
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*.strm")}
    time.sleep(0.01)
    assert counts(write_tree(root, files, scope="movies")) == (0, 0, 30, 0)
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*.strm")} == before
    assert temp_files(root) == []


def test_changed_and_new_items_are_counted_apart(tmp_path: Path) -> None:
    write_tree(tmp_path, [movie(i) for i in range(5)], scope="movies")
    files = [movie(0, "http://gw.test/play/tok/movie/new-0"), *[movie(i) for i in range(1, 5)], movie(5)]
    assert counts(write_tree(tmp_path, files, scope="movies")) == (1, 1, 4, 0)
    assert (tmp_path / files[0].relpath).read_text() == "http://gw.test/play/tok/movie/new-0\n"


@pytest.mark.parametrize(
    "edit",
    [
        lambda text: text.replace("movie/1", "movie/7"),  # same size
        lambda text: text + "#EXTINF:-1,injected\n",
        lambda text: text.rstrip("\n"),
        lambda text: "",
    ],
    ids=["same-size", "appended-line", "no-newline", "emptied"],
)
def test_hand_edited_file_is_rewritten(tmp_path: Path, edit: object) -> None:
    files = [movie(1)]
    write_tree(tmp_path, files, scope="movies")
    path = tmp_path / files[0].relpath
    path.write_text(edit(path.read_text()))  # type: ignore[operator]
    assert counts(write_tree(tmp_path, files, scope="movies")) == (0, 1, 0, 0)
    assert path.read_text() == "http://gw.test/play/tok/movie/1\n"


def test_url_is_written_as_one_line_without_surrounding_space(tmp_path: Path) -> None:
    item = StrmFile(PurePosixPath("Live/A.strm"), "  http://gw.test/a \n")
    write_tree(tmp_path, [item], scope="live")
    assert (tmp_path / "Live/A.strm").read_bytes() == b"http://gw.test/a\n"


def test_clean_removes_orphans_and_their_empty_directories_only(tmp_path: Path) -> None:
    write_tree(tmp_path, [movie(i) for i in range(3)], scope="movies")
    own = tmp_path / "Movies" / "My Own (2001)" / "My Own (2001).strm"
    own.parent.mkdir(parents=True)
    own.write_text("http://my.own/stream\n")
    artwork = tmp_path / movie(1).relpath.parent / "poster.jpg"  # a media server's file beside ours
    artwork.write_bytes(b"\xff\xd8")
    report = write_tree(tmp_path, [movie(0)], scope="movies")
    assert counts(report) == (0, 0, 1, 2)
    assert not (tmp_path / movie(2).relpath).exists() and not (tmp_path / movie(2).relpath.parent).exists()
    assert not (tmp_path / movie(1).relpath).exists() and artwork.exists()
    assert own.read_text() == "http://my.own/stream\n"
    assert sorted(manifest(tmp_path)["movies"]["files"]) == [str(movie(0).relpath)]  # type: ignore[type-var]


def test_emptied_scope_removes_directories_up_to_but_not_the_root(tmp_path: Path) -> None:
    root = tmp_path / "strm"
    write_tree(root, [movie(1)], scope="movies")
    assert counts(write_tree(root, [], scope="movies")) == (0, 0, 0, 1)
    assert root.is_dir()
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == []


def test_clean_false_keeps_orphans_and_their_ownership(tmp_path: Path) -> None:
    write_tree(tmp_path, [movie(1), movie(2)], scope="movies")
    assert counts(write_tree(tmp_path, [movie(1)], scope="movies", clean=False)) == (0, 0, 1, 0)
    assert (tmp_path / movie(2).relpath).exists()
    assert counts(write_tree(tmp_path, [movie(1)], scope="movies")) == (0, 0, 1, 1)
    assert not (tmp_path / movie(2).relpath).exists()


def test_another_scope_survives_clean(tmp_path: Path) -> None:
    write_tree(tmp_path, [movie(1)], scope="movies")
    write_tree(tmp_path, [channel("BBC One")], scope="live")
    assert counts(write_tree(tmp_path, [], scope="movies")) == (0, 0, 0, 1)
    assert strm_files(tmp_path) == {"Live/News/BBC One.strm": "http://gw.test/play/tok/live/1\n"}
    assert manifest(tmp_path)["live"]["files"] == ["Live/News/BBC One.strm"]


def test_path_owned_by_two_scopes_is_only_disowned(tmp_path: Path) -> None:
    shared = StrmFile(PurePosixPath("Live/Shared.strm"), "http://gw.test/shared")
    write_tree(tmp_path, [shared], scope="live")
    write_tree(tmp_path, [shared], scope="process")
    assert counts(write_tree(tmp_path, [], scope="process")) == (0, 0, 0, 0)
    assert (tmp_path / "Live/Shared.strm").exists()
    assert manifest(tmp_path)["process"]["files"] == []


def test_collisions_get_numbered_suffixes_in_input_order(tmp_path: Path) -> None:
    files = [
        channel("BBC One", "http://gw.test/1"),
        channel("bbc one", "http://gw.test/2"),
        channel("BBC One (2)", "http://gw.test/natural-2"),
        channel("BBC ONE", "http://gw.test/3"),
    ]
    report = write_tree(tmp_path, files, scope="live")
    assert report.renamed_collisions == 3
    assert strm_files(tmp_path) == {
        "Live/News/BBC One.strm": "http://gw.test/1\n",
        "Live/News/bbc one (2).strm": "http://gw.test/2\n",
        "Live/News/BBC One (2) (2).strm": "http://gw.test/natural-2\n",
        "Live/News/BBC ONE (3).strm": "http://gw.test/3\n",
    }
    assert counts(write_tree(tmp_path, files, scope="live")) == (0, 0, 4, 0)


def test_collision_suffix_keeps_the_component_within_the_limit(tmp_path: Path) -> None:
    long_name = movie_relpath("Ü" * 200, 1999)
    report = write_tree(tmp_path, [StrmFile(long_name, "http://a"), StrmFile(long_name, "http://b")], scope="movies")
    names = sorted(strm_files(tmp_path))
    assert report.renamed_collisions == 1 and len(names) == 2
    assert names[1].endswith(" (1999) (2).strm") or names[0].endswith(" (1999) (2).strm")
    assert all(len(Path(name).name.encode()) <= 240 for name in names)


@pytest.mark.parametrize(
    "corrupt",
    [b"{not json", b"[]", b'{"format": 1, "scopes": {"movies": {"files": "Movies"}}}', b'{"format": 99, "scopes": {}}'],
    ids=["not-json", "a-list", "files-not-a-list", "unknown-format"],
)
def test_corrupt_manifest_warns_and_deletes_nothing(tmp_path: Path, corrupt: bytes) -> None:
    write_tree(tmp_path, [movie(1), movie(2)], scope="movies")
    (tmp_path / MANIFEST_NAME).write_bytes(corrupt)
    report = write_tree(tmp_path, [movie(1)], scope="movies")
    assert counts(report) == (0, 0, 1, 0)
    assert (tmp_path / movie(2).relpath).exists()
    assert len(report.warnings) == 1 and "could not be read" in report.warnings[0]
    assert (tmp_path / CORRUPT_MANIFEST_NAME).read_bytes() == corrupt
    assert manifest(tmp_path)["movies"]["files"] == [str(movie(1).relpath)]


def test_manifest_entries_outside_the_root_are_never_deleted(tmp_path: Path) -> None:
    root, outside = tmp_path / "strm", tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.strm").write_text("keep me\n")
    write_tree(root, [movie(1)], scope="movies")
    (root / "Linked").symlink_to(outside, target_is_directory=True)
    document = json.loads((root / MANIFEST_NAME).read_text())
    document["scopes"]["movies"]["files"] += ["../outside/victim.strm", "/etc/hostname", "Linked/victim.strm"]
    (root / MANIFEST_NAME).write_text(json.dumps(document))
    report = write_tree(root, [movie(1)], scope="movies")
    assert report.removed == 0 and len(report.errors) == 3
    assert (outside / "victim.strm").read_text() == "keep me\n"


def test_unsafe_items_are_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    root, outside = tmp_path / "strm", tmp_path / "outside"
    outside.mkdir()
    root.mkdir()
    (root / "Movies").symlink_to(outside, target_is_directory=True)
    (root / "Live").mkdir()
    (root / "Live" / "Linked.strm").symlink_to(outside / "target.txt")
    files = [
        StrmFile(PurePosixPath("../escape.strm"), "http://gw.test/x"),
        StrmFile(PurePosixPath("/abs.strm"), "http://gw.test/x"),
        movie(1),  # its directory is a symlink to outside
        StrmFile(PurePosixPath("Live/Linked.strm"), "http://gw.test/x"),
        channel("Fine"),
    ]
    report = write_tree(root, files, scope="live")
    assert report.created == 1 and len(report.errors) == 4
    assert list(outside.iterdir()) == [] and not (tmp_path / "escape.strm").exists()
    assert (root / "Live/Linked.strm").is_symlink()
    assert strm_files(root / "Live") == {"News/Fine.strm": "http://gw.test/play/tok/live/1\n"}


def test_file_in_place_of_a_directory_is_a_per_file_error(tmp_path: Path) -> None:
    blocker = tmp_path / movie(1).relpath.parent
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where a folder should be")
    report = write_tree(tmp_path, [movie(1), movie(2)], scope="movies")
    assert report.created == 1 and len(report.errors) == 1
    assert blocker.read_text() == "a file where a folder should be"


def test_bad_url_is_refused_and_errors_never_hold_the_url(tmp_path: Path) -> None:
    files = [
        StrmFile(PurePosixPath("Live/Two lines.strm"), f"http://gw.test/a?password={SECRET}\n#EXTINF:-1,evil"),
        StrmFile(PurePosixPath("Live/Empty.strm"), "   "),
        StrmFile(PurePosixPath(f"Live/{SECRET}/../../x.strm"), "http://gw.test/b"),
    ]
    report = write_tree(tmp_path, files, scope="live")
    assert report.created == 0 and len(report.errors) == 3
    assert strm_files(tmp_path) == {}
    assert all("http://" not in error and "#EXTINF" not in error for error in report.errors)


def test_root_may_be_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "nas"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    report = write_tree(tmp_path / "link", [channel("BBC")], scope="live")
    assert report.created == 1 and report.root == real.resolve()
    assert (real / "Live/News/BBC.strm").exists()


def test_leftover_manifest_temp_in_the_root_is_swept_but_look_alikes_stay(tmp_path: Path) -> None:
    write_tree(tmp_path, [movie(1)], scope="movies")
    leftover = tmp_path / f"{MANIFEST_NAME}.0123abcd.tmp"  # a run killed while saving the manifest
    leftover.write_text('{"format": 1, "sco')
    look_alike = tmp_path / ".m3u-strm-notes.txt"
    look_alike.write_text("a user's note")
    assert counts(write_tree(tmp_path, [movie(1)], scope="movies")) == (0, 0, 1, 0)
    assert not leftover.exists() and look_alike.exists()


def test_progress_is_reported_every_500_files_and_at_the_end(tmp_path: Path) -> None:
    seen: list[int] = []
    write_tree(tmp_path, [movie(i) for i in range(1234)], scope="movies", progress=seen.append)
    assert seen == [500, 1000, 1234]
    seen.clear()
    write_tree(tmp_path, [], scope="movies", progress=seen.append)
    assert seen == [0]


def test_blank_scope_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scope"):
        write_tree(tmp_path, [], scope=" ")


def run_child(root: Path, count: int, version: int, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(CHILD), str(root), str(count), str(version), *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def assert_complete(root: Path, count: int, versions: set[int]) -> dict[str, str]:
    """Every .strm file under ``root`` holds one whole line of a known version for its own path."""
    index_of = {str(relpath_for(i)): i for i in range(count)}
    found = strm_files(root)
    for name, text in found.items():
        assert text in {url_for(index_of[name], v) + "\n" for v in versions}, f"{name} holds {text[:80]!r}"
    return found


def test_kill_just_before_a_rename_leaves_temp_files_that_the_next_run_removes(tmp_path: Path) -> None:
    root = tmp_path / "strm"
    result = run_child(root, 1200, 1, "--kill-at-rename", "700")
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert temp_files(root), "a kill between write and rename leaves the batch's temp files"
    assert len(assert_complete(root, 1200, {1})) == 699
    assert manifest(root)["vod"]["in_progress"] is True
    report = write_tree(root, tree_items(1200, 1), scope="vod")
    assert counts(report) == (501, 0, 699, 0)
    assert temp_files(root) == [] and any("temp file" in warning for warning in report.warnings)
    assert manifest(root)["vod"]["in_progress"] is False


@pytest.mark.parametrize("existing", [False, True], ids=["fresh-tree", "updating-a-tree"])
def test_sigkill_during_a_large_write_leaves_only_complete_files(tmp_path: Path, existing: bool) -> None:
    root, count = tmp_path / "strm", 20_000
    if existing:
        write_tree(root, tree_items(count, 1), scope="vod")
    kill_after = random.Random().randrange(1_000, 15_000, 500)
    writer = subprocess.Popen(
        [sys.executable, str(CHILD), str(root), str(count), "2"], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    for line in writer.stdout:
        if line.strip().isdigit() and int(line) >= kill_after:
            os.kill(writer.pid, signal.SIGKILL)
            break
    writer.wait(timeout=60)
    assert writer.returncode == -signal.SIGKILL, f"the writer finished before the kill after {kill_after} files"
    found = assert_complete(root, count, {1, 2} if existing else {2})
    assert len(found) == count if existing else len(found) >= kill_after, f"killed after {kill_after} files"
    rerun = write_tree(root, tree_items(count, 2), scope="vod")
    assert rerun.created + rerun.updated + rerun.unchanged == count and not rerun.errors
    assert temp_files(root) == []
    assert set(strm_files(root).values()) == {url_for(i, 2) + "\n" for i in range(count)}
    assert counts(write_tree(root, tree_items(count, 2), scope="vod")) == (0, 0, count, 0)


def test_write_failure_keeps_files_in_place_and_the_manifest_true(tmp_path: Path) -> None:
    """EFBIG from RLIMIT_FSIZE stands in for ENOSPC: unprivileged, and the same write(2) failure path."""
    root = tmp_path / "strm"
    write_tree(root, tree_items(300, 1), scope="vod")
    result = run_child(root, 600, 2, "--max-file-bytes", "100000", "--big-item", "550")
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"under {root}" in result.stdout and "File too large" in result.stdout
    assert SECRET not in result.stdout
    on_disk = assert_complete(root, 600, {1, 2})
    assert on_disk == {str(relpath_for(i)): url_for(i, 2) + "\n" for i in range(500)}  # first batch in, second not
    assert temp_files(root) == []
    assert sorted(manifest(root)["vod"]["files"]) == sorted(on_disk)  # type: ignore[type-var]
    assert manifest(root)["vod"]["in_progress"] is False
    rerun = write_tree(root, tree_items(600, 2), scope="vod")
    assert counts(rerun) == (100, 0, 500, 0)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_directory_raises_output_write_error(tmp_path: Path) -> None:
    write_tree(tmp_path, [channel("Old")], scope="live")
    (tmp_path / "Live/News").chmod(0o500)
    try:
        with pytest.raises(OutputWriteError, match="Permission denied"):
            write_tree(tmp_path, [channel("Old", "http://gw.test/new"), channel("New")], scope="live")
        assert (tmp_path / "Live/News/Old.strm").read_text() == "http://gw.test/play/tok/live/1\n"
    finally:
        (tmp_path / "Live/News").chmod(0o700)
