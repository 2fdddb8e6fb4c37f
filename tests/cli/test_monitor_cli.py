"""``m3u-strm check``, ``probe`` and ``jobs`` in a subprocess against a real database and loopback media."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from m3u_strm.demo.media import mpegts
from tests.catalogue_helpers import Line, write_playlist
from tests.cli.conftest import Cli
from tests.monitor.media_server import MediaServer, Route, serve


@pytest.fixture(scope="module")
def media() -> Iterator[MediaServer]:
    with serve() as server:
        server.add("/ok.ts", Route(mpegts(2.0, width=640, height=360)))
        server.add("/dark.ts", Route(mpegts(2.0, width=320, height=180, kind="black")))
        server.add("/gone.ts", Route(b"", status=404))
        yield server


@pytest.fixture
def provider(cli: Cli, media: MediaServer, tmp_path: Path) -> Cli:
    lines = [Line("Okay TV", f"{media.base_url}/ok.ts"), Line("Dark TV", f"{media.base_url}/dark.ts"),
             Line("Gone TV", f"{media.base_url}/gone.ts")]  # fmt: skip
    cli("provider", "add", "p", "--m3u", str(write_playlist(tmp_path / "p.m3u", lines)))
    cli("sync", "p")
    return cli


def test_check_prints_outcomes_and_the_run_is_logged(provider: Cli) -> None:
    report = json.loads(provider("check", "--json").stdout)
    assert report["checked"] == 3 and report["outcomes"] == {"alive": 2, "dead": 1}
    jobs = json.loads(provider("jobs", "--json").stdout)
    assert jobs[0]["job"] == "health_check" and jobs[0]["status"] == "success"


def test_check_deep_probes_the_alive_streams(provider: Cli) -> None:
    report = json.loads(provider("check", "--deep", "--json").stdout)
    assert report["deep"]["probed"] == 2 and report["deep"]["outcomes"] == {"ok": 1, "broken": 1}


def test_probe_a_url_or_a_stored_stream(provider: Cli, media: MediaServer) -> None:
    facts = json.loads(provider("probe", f"{media.base_url}/ok.ts", "--json").stdout)
    assert (facts["width"], facts["height"], facts["video_codec"], facts["tier"]) == (640, 360, "h264", "360p")
    deep = json.loads(provider("probe", "2", "--deep", "--json").stdout)
    assert deep["outcome"] == "broken" and "black" in deep["flags"]
    failed = provider("probe", f"{media.base_url}/gone.ts", expect=1)
    assert "failed" in failed.stdout
    provider("probe", "999", expect=2)
