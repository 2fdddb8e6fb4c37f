"""Settings: one documented list, read from ``M3U_STRM_*`` environment variables and a ``.env`` file.

Reach them through :func:`get_settings`. The secret key is never a hard-coded default: when none is given it is
generated on first run and stored in ``<data_dir>/secret_key`` (mode 0600).
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from m3u_strm.errors import ConfigError

DEFAULT_SCHEMES = ("http", "https", "rtmp", "rtmps", "rtsp", "rtp", "udp", "mmsh")


class Settings(BaseSettings):
    """Every setting of the product. The docstring of each field is its documentation."""

    model_config = SettingsConfigDict(env_prefix="M3U_STRM_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Directory for the SQLite database, the secret key and files.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL. Default: SQLite file <data_dir>/m3u_strm.db. "
        "PostgreSQL: postgresql+psycopg://user@host/db.",
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL", description="SQLite PRAGMA synchronous in WAL mode; FULL keeps every acknowledged write."
    )
    secret_key: SecretStr | None = Field(
        None, description="Key for signing short-lived URLs; generated into <data_dir>/secret_key when not set."
    )
    redis_url: str | None = Field(
        None, description="Redis URL (redis://127.0.0.1:6379/0) for shared login rate limits across instances."
    )
    host: str = Field("127.0.0.1", description="Address the server binds to.")
    port: int = Field(8000, description="Port the server listens on.")
    trusted_proxies: tuple[str, ...] = Field(
        (), description="Addresses of reverse proxies whose X-Forwarded-For header is believed."
    )
    public_url: str | None = Field(None, description="Base URL clients use to reach this server.")
    log_level: str = Field("INFO", description="Logging level (DEBUG, INFO, WARNING, ERROR).")
    demo: bool = Field(True, description="Start the loopback demo provider when no provider exists yet.")
    demo_channels: int = Field(300, description="Live channels in the demo provider's catalogue.")

    access_token_minutes: int = Field(60 * 24, description="Lifetime of a login (bearer) token in minutes.")
    login_max_failures: int = Field(5, description="Failed logins allowed per address or user within the window.")
    login_window_seconds: int = Field(300, description="Window for counting failed logins, in seconds.")
    password_min_length: int = Field(12, description="Minimum password length for users.")

    fetch_timeout_seconds: float = Field(30.0, description="Connect/read timeout for provider requests.")
    fetch_retries: int = Field(3, description="Retries for provider 5xx answers and resets, with backoff.")
    fetch_max_retry_after_seconds: float = Field(
        30.0, description="Longest Retry-After the sync waits out before reporting 'rate limited'."
    )
    max_playlist_bytes: int = Field(2 * 1024**3, description="Largest playlist (decompressed) a sync accepts.")
    max_line_bytes: int = Field(64 * 1024, description="Longest single playlist line kept; longer lines skip.")
    max_entries: int = Field(2_000_000, description="Most entries one playlist may hold.")
    max_xmltv_bytes: int = Field(1024**3, description="Largest XMLTV guide after decompression.")
    max_json_bytes: int = Field(1024**3, description="Largest Xtream JSON answer accepted.")
    allowed_schemes: tuple[str, ...] = Field(DEFAULT_SCHEMES, description="Stream URL schemes accepted on ingest.")
    xtream_live_format: Literal["ts", "m3u8"] = Field("ts", description="Container for Xtream live stream URLs.")
    default_user_agent: str = Field("M3U-STRM-Processor/0.1", description="User-Agent sent to providers.")

    merge_fuzzy_threshold: float = Field(
        85.0, ge=0, le=100, description="Similarity (0-100) at which two channel names from providers are merged."
    )
    output_direct_urls: bool = Field(
        False,
        description="Put provider URLs (with their credentials) in outputs instead of gateway URLs. Not recommended.",
    )
    strm_dir: Path | None = Field(None, description="Where `.strm` trees are written; default `<data_dir>/strm`.")
    strm_genre_folders: bool = Field(False, description="Add a genre folder level to generated `.strm` trees.")
    strm_auto_user: str | None = Field(
        None,
        description="Regenerate the `.strm` tree after each scheduled sync that changed something, with this user's "
        "playback token; unset: only on demand.",
    )
    strm_auto_live: bool = Field(False, description="Include live channels in the automatically regenerated tree.")
    scheduler: bool = Field(True, description="Run scheduled jobs (syncs, health checks) inside `serve`.")
    health_interval_minutes: int = Field(60, ge=1, description="Minutes between health checks of active streams.")
    health_retry_minutes: int = Field(360, ge=1, description="Minutes between re-checks of streams marked down.")
    health_concurrency: int = Field(50, ge=1, le=2000, description="Health checks running at once, over all providers.")
    health_timeout_seconds: float = Field(10.0, gt=0, description="Time a stream has to send media bytes.")
    health_failure_threshold: int = Field(
        3, ge=1, description="Consecutive failed checks that deactivate a stream (one success reactivates it)."
    )
    quality_interval_minutes: int = Field(60, ge=1, description="Minutes between scheduled quality sampling runs.")
    quality_budget: int = Field(50, ge=1, description="Streams probed per quality sampling run.")
    quality_concurrency: int = Field(2, ge=1, le=32, description="Quality probes running at once.")
    guide_refresh_hours: int = Field(
        24,
        ge=1,
        description="Hours after which a provider's guide is fetched again on its own, between catalogue syncs.",
    )
    playback_mode: Literal["proxy", "redirect"] = Field(
        "proxy",
        description="How the gateway plays: `proxy` relays the stream (shared upstreams, failover, exact sessions); "
        "`redirect` answers 302 to the best stream. A provider's own `playback_mode` overrides it.",
    )
    playback_connect_timeout_seconds: float = Field(
        10.0, gt=0, description="Time an upstream has to answer with its first bytes before the next stream is tried."
    )
    playback_stall_seconds: float = Field(
        8.0, gt=0, description="Seconds without upstream bytes after which a playing channel fails over."
    )
    playback_max_failovers: int = Field(3, ge=0, description="Stream switches per play before the viewer is let go.")
    playback_grace_seconds: float = Field(
        5.0, ge=0, description="Seconds a shared upstream stays open after its last viewer left (zapping back)."
    )
    playback_viewer_buffer_kb: int = Field(
        4096, ge=64, description="Data a viewer may fall behind the shared upstream before it is dropped."
    )
    playback_hls_link_seconds: int = Field(
        3600, ge=30, description="Lifetime of the signed segment and variant links in proxied HLS playlists."
    )
    playback_hls_idle_seconds: float = Field(
        60.0, gt=0, description="HLS requests of one token and client closer than this belong to one viewing session."
    )
    sessions_record_ip: bool = Field(False, description="Store the viewer's IP address with each viewing session.")
    sessions_zap_seconds: float = Field(
        30.0, ge=0, description="Sessions shorter than this are zaps: kept, left out of statistics by default."
    )
    sessions_completed_ratio: float = Field(
        0.9, gt=0, le=1, description="Share of a movie or episode watched for its session to count as completed."
    )
    sessions_max_future_seconds: float = Field(
        120.0, ge=0, description="Reported viewing events may be this far in the future (clock skew); later: refused."
    )
    hdhr_tuner_count: int = Field(4, ge=1, le=32, description="Tuners the emulated HDHomeRun reports.")
    hdhr_user: str | None = Field(
        None,
        description="User whose playback token serves the token-less HDHomeRun paths (`/discover.json`); unset: off.",
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'm3u_strm.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def resolved_strm_dir(self) -> Path:
        return self.strm_dir if self.strm_dir is not None else self.data_dir / "strm"

    def ensure_data_dir(self) -> Path:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"Cannot create the data directory {self.data_dir}: {exc.strerror}.",
                hint="Set M3U_STRM_DATA_DIR to a writable directory.",
            ) from exc
        return self.data_dir

    def signing_key(self) -> str:
        """The secret key: the configured one, else the one stored in the data directory (created once)."""
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if len(value) < 32:
                raise ConfigError("M3U_STRM_SECRET_KEY is too short.", hint="Use at least 32 random characters.")
            return value
        path = self.ensure_data_dir() / "secret_key"
        if path.exists():
            return path.read_text().strip()
        key = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (after changing the environment, e.g. in tests)."""
    get_settings.cache_clear()


def settings_markdown() -> str:
    """The settings reference (docs/settings.md), generated from the fields above."""
    lines = [
        "# Settings",
        "",
        "Generated from `m3u_strm.config.Settings` by `make docs`; a test fails when this file is out of date.",
        "Set each as an environment variable (or in `.env`) with the `M3U_STRM_` prefix.",
        "",
        "| variable | default | description |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, tuple):
            default = ",".join(default) or "(empty)"
        shown = "(none)" if default is None else f"`{default}`"
        lines.append(f"| `M3U_STRM_{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(lines) + "\n"
