"""``m3u-strm guide refresh`` in a subprocess against a real database and the fake provider."""

from __future__ import annotations

import json
from pathlib import Path

from m3u_strm.demo.fake_provider import FakeProviderServer
from tests.cli.conftest import Cli
from tests.sync.conftest import PROVIDER_PASSWORD, PROVIDER_USERNAME


def test_guide_refresh_fetches_each_guide_logs_the_run_and_never_prints_credentials(
    db_url: str, tmp_path: Path, fake: FakeProviderServer
) -> None:
    cli = Cli(db_url, tmp_path / "data")
    cli("provider", "add", "panel", "--xtream", fake.base_url, "--username", PROVIDER_USERNAME, "--password-stdin",
        stdin=PROVIDER_PASSWORD + "\n")  # fmt: skip
    cli("guide", "refresh")  # never synced, but asked for: fetched all the same
    fake.faults.status_code, fake.faults.only_paths = 503, {"/xmltv.php"}
    failed = json.loads(cli("guide", "refresh", "--provider", "panel", "--json", expect=1).stdout)
    assert failed["providers"] == {"panel": "failed"} and "503" in failed["why"]["panel"]
    fake.faults.reset()
    done = json.loads(cli("guide", "refresh", "--json").stdout)
    assert (done["status"], done["refreshed"], done["providers"]) == ("success", 1, {"panel": "refreshed"})
    assert done["programmes"] > 0
    jobs = json.loads(cli("jobs", "--json").stdout)
    assert [(j["job"], j["trigger"], j["status"]) for j in jobs[:3]] == [
        ("guide_refresh", "cli", "success"), ("guide_refresh", "cli", "failed"), ("guide_refresh", "cli", "success"),
    ]  # fmt: skip
    syncs = json.loads(cli("provider", "syncs", "panel", "--json").stdout)
    assert {s["trigger"] for s in syncs} == {"guide"}
    cli("guide", "refresh", "--provider", "nobody", expect=2)
    assert all(PROVIDER_PASSWORD not in output for output in cli.outputs)
