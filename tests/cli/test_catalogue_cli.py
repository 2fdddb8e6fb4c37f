"""``m3u-strm channels``, ``output`` and ``strm`` in a subprocess, against a real database and the fake Xtream panel:
the channel commands change the merge, and nothing they write carries the panel's credentials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from m3u_strm.demo.fake_provider import FakeProviderServer
from m3u_strm.ingest.m3u import parse_m3u
from tests.cli.conftest import SECRET, USER, Cli


@pytest.fixture
def synced(cli: Cli, panel: FakeProviderServer) -> Cli:
    cli("provider", "add", "panel", "--xtream", panel.base_url, "--username", USER, "--password-stdin",
        stdin=SECRET + "\n")  # fmt: skip
    cli("sync", "panel")
    cli("user", "create", "alice", "--admin", "--password-stdin", stdin="alice password 123\n")
    return cli


def _channels(cli: Cli, *args: str) -> list[dict[str, object]]:
    items = json.loads(cli("channels", "list", "--json", "--limit", "1000", *args).stdout)["items"]
    assert isinstance(items, list)
    return items


def test_channels_list_search_and_streams(synced: Cli) -> None:
    channels = _channels(synced)
    assert len(channels) >= 10
    first = channels[0]
    found = _channels(synced, "--search", str(first["name"])[:6])
    assert first["id"] in [c["id"] for c in found]
    streams = json.loads(synced("channels", "streams", str(first["id"]), "--json").stdout)
    assert streams and all("url" not in s for s in streams)
    assert streams[0]["rank"] == 1


def test_channels_merge_and_split(synced: Cli) -> None:
    one, two = _channels(synced)[:2]
    synced("channels", "merge", str(one["id"]), str(two["id"]))
    after = {c["id"]: c for c in _channels(synced)}
    assert one["id"] not in after
    assert after[two["id"]]["stream_count"] == int(one["stream_count"]) + int(two["stream_count"])  # type: ignore[call-overload]
    streams = json.loads(synced("channels", "streams", str(two["id"]), "--json").stdout)
    moved = next(s for s in streams if s["merge_method"] == "manual")
    out = synced("channels", "split", str(two["id"]), str(moved["id"])).stdout
    assert "Created channel" in out
    synced("channels", "split", str(two["id"]), "99999999", expect=2)


def test_output_files_and_strm_tree_never_carry_credentials(synced: Cli, tmp_path: Path) -> None:
    playlist, guide, tree = tmp_path / "out.m3u", tmp_path / "guide.xml.gz", tmp_path / "strm"
    synced("output", "m3u", str(playlist), "--base-url", "http://tv.local:8000")
    synced("output", "m3u", str(tmp_path / "all.m3u"), "--quality", "all", "--base-url", "http://tv.local:8000")
    synced("output", "xmltv", str(guide))
    synced("strm", "generate", str(tree), "--movies", "--series", "--live", "--base-url", "http://tv.local:8000")
    entries, _ = parse_m3u(playlist.read_text())
    assert entries and all(e.url.startswith("http://tv.local:8000/play/") for e in entries)
    strm = list(tree.rglob("*.strm"))
    assert {p.relative_to(tree).parts[0] for p in strm} == {"Movies", "TV Shows", "Live"}
    written = [p.read_bytes() for p in (playlist, tmp_path / "all.m3u", guide, *strm)]
    for body in written + [out.encode() for out in synced.outputs]:
        assert SECRET.encode() not in body and USER.encode() not in body


def test_direct_urls_need_the_flag_and_warn(synced: Cli, tmp_path: Path) -> None:
    result = synced("output", "m3u", str(tmp_path / "direct.m3u"), "--direct")
    assert "Direct URLs are on" in result.stderr
    assert SECRET in (tmp_path / "direct.m3u").read_text()


def test_output_needs_a_user_when_there_are_several_admins(synced: Cli, tmp_path: Path) -> None:
    synced("user", "create", "bob", "--admin", "--password-stdin", stdin="bob password 1234\n")
    result = synced("output", "m3u", str(tmp_path / "x.m3u"), expect=2)
    assert "--user" in result.stderr
    synced("output", "m3u", str(tmp_path / "x.m3u"), "--user", "bob")


def test_strm_process_one_shot(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "in.m3u"
    source.write_text("#EXTM3U\n#EXTINF:-1,UK: BBC One HD\nhttp://h/1.ts\n#EXTINF:-1,BBC One SD\nhttp://h/2.ts\n")
    result = cli("strm", "process", str(source), str(tmp_path / "out"), "--json")
    report = json.loads(result.stdout)
    assert (report["files_created"], report["duplicates_merged"]) == (1, 1)
    assert (tmp_path / "out" / "Live" / "BBC One.strm").read_text() == "http://h/1.ts\n"


def test_strm_process_reports_a_missing_file(cli: Cli, tmp_path: Path) -> None:
    result = cli("strm", "process", str(tmp_path / "nope.m3u"), str(tmp_path / "out"), expect=2)
    assert "nope.m3u" in result.stderr
