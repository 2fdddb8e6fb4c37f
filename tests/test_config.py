"""Settings: documented, generated docs current, secret key generated once and never hard-coded."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from m3u_strm.config import Settings, settings_markdown
from m3u_strm.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_has_a_description() -> None:
    undocumented = [name for name, field in Settings.model_fields.items() if not field.description]
    assert undocumented == []


def test_settings_reference_is_current() -> None:
    assert (ROOT / "docs" / "settings.md").read_text() == settings_markdown(), "run `make docs`"


def test_secret_key_is_generated_once_into_the_data_dir_with_private_mode(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    first = settings.signing_key()
    assert len(first) >= 32
    path = tmp_path / "d" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(data_dir=tmp_path / "d").signing_key() == first
    assert Settings(data_dir=tmp_path / "other").signing_key() != first


def test_short_configured_secret_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="too short"):
        Settings(data_dir=tmp_path, secret_key="short").signing_key()  # type: ignore[arg-type]


def test_environment_prefix_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("M3U_STRM_PORT", "8123")
    monkeypatch.setenv("M3U_STRM_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.port == 8123
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'm3u_strm.db'}"


def test_cli_reference_is_current() -> None:
    from m3u_strm.cli.reference import cli_markdown

    assert (ROOT / "docs" / "cli.md").read_text() == cli_markdown(), "run `make docs`"
