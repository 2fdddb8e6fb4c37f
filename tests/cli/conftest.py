"""The real ``m3u-strm`` command in a subprocess (``cli``), and a fake Xtream panel for it to sync (``panel``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from m3u_strm.demo.catalogue import build_catalogue
from m3u_strm.demo.fake_provider import FakeProviderServer

SECRET = "cli-Secret-Pass-55"
USER = "cli-user-19"


@pytest.fixture(scope="module")
def panel() -> Iterator[FakeProviderServer]:
    with FakeProviderServer(
        build_catalogue(live=25, movies=4, series=2, seed=5), username=USER, password=SECRET
    ) as server:
        yield server


class Cli:
    def __init__(self, db_url: str, data_dir: Path) -> None:
        self.env = {
            **os.environ,
            "M3U_STRM_DATABASE_URL": db_url,
            "M3U_STRM_DATA_DIR": str(data_dir),
            "M3U_STRM_DEMO": "false",
            "COLUMNS": "200",
        }
        self.outputs: list[str] = []

    def __call__(self, *args: str, stdin: str = "", expect: int = 0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "m3u_strm", *args], input=stdin, capture_output=True, text=True,
            env=self.env, timeout=120, check=False,
        )  # fmt: skip
        self.outputs.append(result.stdout + result.stderr)
        assert result.returncode == expect, result.stdout + result.stderr
        return result


@pytest.fixture
def cli(db_url: str, tmp_path: Path) -> Cli:
    return Cli(db_url, tmp_path / "data")
