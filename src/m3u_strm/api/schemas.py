"""Request and response bodies (``XCreate`` / ``XUpdate`` / ``XPublic``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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
