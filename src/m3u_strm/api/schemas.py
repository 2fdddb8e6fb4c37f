"""Request and response bodies (``XCreate`` / ``XUpdate`` / ``XPublic``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field, model_validator


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_at: datetime | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: str
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class ApiTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)


class ApiTokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str | None
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenPublic):
    token: str = Field(description="Shown once; store it now.")


class PlaybackTokenPublic(BaseModel):
    token: str
    created_at: datetime


class ProviderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    kind: Literal["m3u", "xtream"]
    url: str = Field(description="M3U playlist URL or path; Xtream host (http://host:port)")
    username: str | None = None
    password: str | None = None
    epg_url: str | None = None
    priority: int = 0
    max_connections: int | None = Field(None, ge=1)
    user_agent: str | None = None
    sync_interval_minutes: int = Field(720, ge=5)
    enabled: bool = True


class ProviderUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=120)
    url: str | None = None
    username: str | None = None
    password: str | None = None
    epg_url: str | None = None
    priority: int | None = None
    max_connections: int | None = Field(None, ge=1)
    user_agent: str | None = None
    sync_interval_minutes: int | None = Field(None, ge=5)
    enabled: bool | None = None


class ProviderPublic(BaseModel):
    id: int
    name: str
    kind: str
    url: str
    username: str | None
    password: str | None
    epg_url: str | None
    priority: int
    max_connections: int | None
    user_agent: str | None
    sync_interval_minutes: int
    enabled: bool
    account_status: str | None
    account_expires_at: datetime | None
    last_sync_at: datetime | None
    last_sync_status: str | None
    last_success_at: datetime | None
    created_at: datetime


class ProviderSyncPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider_id: int
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    http_status: int | None
    bytes_downloaded: int
    entries_seen: int
    streams_added: int
    streams_removed: int
    streams_updated: int
    movies_added: int
    movies_removed: int
    movies_updated: int
    series_added: int
    series_removed: int
    series_updated: int
    episodes_added: int
    episodes_removed: int
    episodes_updated: int
    epg_channels: int
    epg_programmes: int
    error_count: int
    error_kind: str | None
    error_message: str | None
    skipped: dict[str, Any]
    warnings: list[Any]
    freshness_hours: float | None


class ProviderPerformance(BaseModel):
    provider_id: int
    provider: str
    kind: str
    days: int
    sync_count: int
    failed_syncs: int
    avg_duration_ms: float | None
    error_rate: float | None
    total_errors: int
    avg_freshness_hours: float | None
    bytes_downloaded: int
    last_sync_at: datetime | None
    last_sync_status: str | None


class ChannelPublic(BaseModel):
    id: int
    name: str
    normalized_name: str
    country: str | None
    region: str | None
    variant: str | None
    category: str | None
    epg_id: str | None
    logo: str | None
    number: int | None
    enabled: bool
    manual: bool
    name_locked: bool
    merged_into_id: int | None
    stream_count: int


class ChannelPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[ChannelPublic]


class ChannelUpdate(BaseModel):
    """Only the fields given change."""

    enabled: bool | None = None
    name: str | None = Field(None, min_length=1, max_length=255, description="Kept through later merges")
    number: int | None = Field(None, ge=1, le=999_999, description="tvg-chno and the tuner's GuideNumber")


class StreamPublic(BaseModel):
    """A stream as the API shows it: never its URL (it may hold the provider's credentials)."""

    id: int
    provider_id: int
    provider: str
    name: str
    tvg_id: str | None
    category: str | None
    rank: int | None
    resolution: str | None
    quality_score: int | None
    bitrate_kbps: int | None
    is_active: bool
    url_hash: str
    health_score: int | None
    last_outcome: str | None
    consecutive_failures: int
    response_time_ms: int | None
    last_check_at: datetime | None
    width: int | None
    height: int | None
    fps: float | None
    codec: str | None
    last_probe_at: datetime | None
    probe_flags: list[str]
    uptime: dict[str, float | None] = Field(description="Uptime % over 24h, 7d and 30d (None: no checks)")
    merge_method: str | None
    merge_confidence: float | None
    merge_reason: str | None
    merge_pinned: bool


class MergeDetailsPublic(BaseModel):
    channel_id: int
    match_key: str | None
    manual: bool
    merged_from: list[int]
    methods: dict[str, int]
    streams: list[dict[str, Any]]


class SplitRequest(BaseModel):
    stream_ids: list[int] = Field(min_length=1, max_length=1000)


class MergeRuleCreate(BaseModel):
    pattern: str = Field(min_length=1, max_length=255, description="Glob (`*Sky Sports 1*`) or regex")
    channel_id: int
    kind: Literal["glob", "regex"] = "glob"
    field: Literal["name", "tvg_id"] = "name"
    provider_id: int | None = None


class MergeRulePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    pattern: str
    kind: str
    field: str
    provider_id: int | None
    channel_id: int
    created_at: datetime


class StrmGenerate(BaseModel):
    movies: bool = True
    series: bool = True
    live: bool = False
    genre_folders: bool | None = Field(None, description="Default: the strm_genre_folders setting")
    clean: bool = True


class ProcessM3URequest(BaseModel):
    source: str = Field(min_length=1, description="Playlist URL or a path on the server")
    output_dir: str = Field(min_length=1, description="Absolute directory on the server")
    merge: bool = True
    prefer: Literal["best", "4k", "hd", "sd", "all"] = "best"
    by_category: bool = False
    fuzzy_threshold: float = Field(0.85, ge=0, le=1)
    clean: bool = False


# Viewing history (issue 5): sessions that clients report themselves, and every user's own history.


class HistoryStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_type: Literal["channel", "movie", "episode"]
    content_id: int = Field(ge=1)
    started_at: AwareDatetime | None = Field(None, description="Default: now. With a time zone (Z or +01:00)")
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=200, description="A repeated start with the same key is stored once"
    )
    stream_id: int | None = Field(None, ge=1)
    client: str | None = Field(None, max_length=255, description="Default: the User-Agent header")
    media_duration_s: float | None = Field(None, gt=0, allow_inf_nan=False, description="Length of the movie/episode")


class HistoryUpdate(BaseModel):
    """``progress`` records the position; ``complete`` ends the session as completed; ``end`` ends it."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["progress", "complete", "end"]
    watched_s: float | None = Field(
        None, ge=0, allow_inf_nan=False, validation_alias=AliasChoices("watched_s", "position_s"),
        description="Seconds watched so far (or the playback position); also accepted as position_s",
    )  # fmt: skip
    at: AwareDatetime | None = Field(None, description="Default: now")
    completed: bool | None = Field(None, description="With complete or end; default: computed from the length")

    @model_validator(mode="after")
    def _completed_needs_an_end(self) -> HistoryUpdate:
        if self.action == "progress" and self.completed is not None:
            raise ValueError("completed goes with the complete or end action, not with progress")
        return self


class HistorySessionPublic(BaseModel):
    """A viewing session as its user sees it: never a stream URL."""

    id: int
    content_type: str
    content_id: int
    title: str | None
    stream_id: int | None
    provider_id: int | None
    started_at: datetime
    ended_at: datetime | None
    duration_s: float | None
    watched_s: float | None
    bytes_sent: int
    failovers: int
    source: str
    completed: bool
    is_zap: bool
    client: str | None


class HistoryPage(BaseModel):
    items: list[HistorySessionPublic]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last page")
