"""The real ``m3u-strm`` command in a subprocess, against a real database and the fake provider."""

from __future__ import annotations

import json
from pathlib import Path

from m3u_strm.demo.fake_provider import FakeProviderServer
from tests.cli.conftest import SECRET, USER, Cli
from tests.conftest import SHARED_DATA


def test_xtream_provider_add_sync_and_log_without_leaking_credentials(cli: Cli, panel: FakeProviderServer) -> None:
    cli(
        "provider",
        "add",
        "panel",
        "--xtream",
        panel.base_url,
        "--username",
        USER,
        "--password-stdin",
        stdin=SECRET + "\n",
    )
    listed = json.loads(cli("provider", "list", "--json").stdout)
    assert listed[0]["name"] == "panel" and listed[0]["password"] == "***"
    synced = cli("sync", "panel")
    assert "streams" in synced.stdout and "25" in synced.stdout
    log = json.loads(cli("provider", "syncs", "panel", "--json").stdout)
    assert log[0]["status"] == "success" and log[0]["streams_added"] == 25
    panel.faults.status_code = 502
    try:
        failed = cli("sync", "panel", expect=1)
    finally:
        panel.faults.reset()
    assert "502" in failed.stderr
    for output in cli.outputs:
        assert SECRET not in output and USER not in output


def test_user_and_token_commands(cli: Cli) -> None:
    cli("user", "create", "alice", "--admin", "--password-stdin", stdin="a long enough password\n")
    token = cli("token", "create", "alice").stdout.strip().splitlines()[-1]
    assert token.startswith("msp_")
    short = cli("user", "create", "bob", "--password-stdin", stdin="short\n", expect=2)
    assert "too short" in short.stderr and "12" in short.stderr
    missing = cli("token", "create", "nobody", expect=2)
    assert "No user named 'nobody'" in missing.stderr


def test_inspect_reports_counts_and_skips_without_storing(cli: Cli) -> None:
    path = SHARED_DATA / "real_m3u" / "free-tv_2026-08-22" / "playlist.m3u8"
    report = json.loads(cli("inspect", str(path), "--json").stdout)
    assert report["kind"] == "playlist"
    assert report["counts"]["entries"] > 100
    assert report["skipped"]["not_a_url"] == 9
    assert len(report["epg_urls"]) > 50
    assert json.loads(cli("provider", "list", "--json").stdout) == []


def test_inspect_of_an_html_page_says_so(cli: Cli, tmp_path: Path) -> None:
    page = tmp_path / "login.m3u"
    page.write_text("<!DOCTYPE html><html><body>Please log in</body></html>")
    result = cli("inspect", str(page), expect=1)
    assert "HTML page, not a playlist" in result.stderr


def test_provider_add_needs_exactly_one_source(cli: Cli) -> None:
    result = cli("provider", "add", "x", expect=2)
    assert "--m3u" in result.stderr and "--xtream" in result.stderr


def test_db_upgrade_is_idempotent(cli: Cli) -> None:
    cli("db", "upgrade")
    assert "current schema" in cli("db", "upgrade").stdout
