"""SQLAlchemy 2.0 models: the core tables of the architecture page that the foundation needs.

Catalogue tables (``streams``, ``vod_movies``, ``vod_series``, ``vod_episodes``) share one shape so that provider
sync can diff any of them the same way: ``provider_id`` + ``item_key`` (a stable key: the Xtream id, or for M3U a
hash of URL and tvg-id/name) identify a row; ``content_hash`` says whether anything changed; ``removed_at`` soft
deletes a row so that history stays joinable. ``changed_at`` moves only when a sync adds, changes or revives a
row; a live row is confirmed present by its provider's ``last_success_at`` (touching every row on each sync
would make an unchanged re-sync rewrite the whole table).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from m3u_strm.db.types import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONDict = dict[str, Any]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), JSONDict: JSON(), list[Any]: JSON()}


class Provider(Base):
    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # m3u | xtream
    url: Mapped[str | None] = mapped_column(Text)  # M3U URL or local path; Xtream base URL
    username: Mapped[str | None] = mapped_column(String(255))  # secret
    password: Mapped[str | None] = mapped_column(String(255))  # secret
    epg_url: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    max_connections: Mapped[int | None] = mapped_column(Integer)
    user_agent: Mapped[str | None] = mapped_column(String(255))
    sync_interval_minutes: Mapped[int] = mapped_column(Integer, default=720)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    playback_mode: Mapped[str | None] = mapped_column(String(16))  # proxy | redirect; None: the global setting
    account_status: Mapped[str | None] = mapped_column(String(32))
    account_expires_at: Mapped[datetime | None]
    last_sync_at: Mapped[datetime | None]
    last_sync_status: Mapped[str | None] = mapped_column(String(16))
    last_success_at: Mapped[datetime | None]
    sync_lock: Mapped[str | None] = mapped_column(String(64))
    sync_locked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    syncs: Mapped[list[ProviderSync]] = relationship(back_populates="provider", cascade="all, delete-orphan")


class ProviderSync(Base):
    """One row per sync attempt: the provider performance log."""

    __tablename__ = "provider_syncs"
    __table_args__ = (Index("ix_provider_syncs_provider_started", "provider_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(16), default="manual")
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | success | failed
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    http_status: Mapped[int | None] = mapped_column(Integer)
    bytes_downloaded: Mapped[int] = mapped_column(BigInteger, default=0)
    entries_seen: Mapped[int] = mapped_column(Integer, default=0)
    streams_added: Mapped[int] = mapped_column(Integer, default=0)
    streams_removed: Mapped[int] = mapped_column(Integer, default=0)
    streams_updated: Mapped[int] = mapped_column(Integer, default=0)
    movies_added: Mapped[int] = mapped_column(Integer, default=0)
    movies_removed: Mapped[int] = mapped_column(Integer, default=0)
    movies_updated: Mapped[int] = mapped_column(Integer, default=0)
    series_added: Mapped[int] = mapped_column(Integer, default=0)
    series_removed: Mapped[int] = mapped_column(Integer, default=0)
    series_updated: Mapped[int] = mapped_column(Integer, default=0)
    episodes_added: Mapped[int] = mapped_column(Integer, default=0)
    episodes_removed: Mapped[int] = mapped_column(Integer, default=0)
    episodes_updated: Mapped[int] = mapped_column(Integer, default=0)
    epg_channels: Mapped[int] = mapped_column(Integer, default=0)
    epg_programmes: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    error_kind: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)  # redacted
    skipped: Mapped[JSONDict] = mapped_column(default=dict)  # reason -> count
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    freshness_hours: Mapped[float | None] = mapped_column(Float)
    snapshot_hash: Mapped[str | None] = mapped_column(String(32))  # digest of the rows this sync fetched

    provider: Mapped[Provider] = relationship(back_populates="syncs")


class Channel(Base):
    """A merged channel: the streams of several providers that show the same thing.

    ``match_key`` is the merge group this channel was created for; a re-merge finds its channel again by the
    streams it already holds first, by this key second, so ids stay stable. ``merged_into_id`` is set when an admin
    merged this channel into another: whatever would land here lands there instead. ``manual`` marks a channel an
    admin created by splitting streams off; the merge never gives it new streams by itself.
    """

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    normalized_name: Mapped[str] = mapped_column(String(255), index=True)
    match_key: Mapped[str | None] = mapped_column(String(255), index=True)
    country: Mapped[str | None] = mapped_column(String(16))
    region: Mapped[str | None] = mapped_column(String(32))
    variant: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(255))
    epg_id: Mapped[str | None] = mapped_column(String(255))
    logo: Mapped[str | None] = mapped_column(Text)
    number: Mapped[int | None] = mapped_column(Integer)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    name_locked: Mapped[bool] = mapped_column(Boolean, default=False)  # an admin named it: the merge keeps the name
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MergeRule(Base):
    """An admin's rule: streams whose name (or tvg-id) matches ``pattern`` belong to ``channel_id``.

    ``kind`` is ``glob`` (case-insensitive, ``*`` and ``?``) or ``regex`` (Python, case-insensitive, searched).
    Rules win over automatic matching and are applied in id order; a stream an admin pinned wins over rules.
    """

    __tablename__ = "merge_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    pattern: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8), default="glob")  # glob | regex
    field: Mapped[str] = mapped_column(String(8), default="name")  # name | tvg_id
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CatalogueItem:
    """Columns every synced catalogue table has (see the module docstring)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    item_key: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)  # added, changed or back after removal
    removed_at: Mapped[datetime | None]


class Stream(CatalogueItem, Base):
    """One provider's live stream. ``url`` is a secret: it may carry the provider's credentials."""

    __tablename__ = "streams"
    __table_args__ = (UniqueConstraint("provider_id", "item_key", name="uq_streams_provider_item"),)

    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"), index=True)
    url: Mapped[str] = mapped_column(Text)
    url_hash: Mapped[str] = mapped_column(String(64), index=True)
    xtream_id: Mapped[int | None] = mapped_column(BigInteger)
    tvg_id: Mapped[str | None] = mapped_column(String(255))
    tvg_name: Mapped[str | None] = mapped_column(Text)
    logo: Mapped[str | None] = mapped_column(Text)
    number: Mapped[str | None] = mapped_column(String(32))
    user_agent: Mapped[str | None] = mapped_column(Text)
    referrer: Mapped[str | None] = mapped_column(Text)
    kodi_props: Mapped[JSONDict] = mapped_column(default=dict)  # secret: may hold license keys
    attrs: Mapped[JSONDict] = mapped_column(default=dict)
    resolution: Mapped[str | None] = mapped_column(String(16))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    bitrate_kbps: Mapped[int | None] = mapped_column(Integer)
    codec: Mapped[str | None] = mapped_column(String(32))
    fps: Mapped[float | None] = mapped_column(Float)
    quality_score: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_check_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    failure_reason: Mapped[str | None] = mapped_column(Text)
    response_time_ms: Mapped[int | None] = mapped_column(Integer)
    rank: Mapped[int | None] = mapped_column(Integer)
    merge_method: Mapped[str | None] = mapped_column(String(16))  # tvg_id | name | fuzzy | single | rule | manual
    merge_confidence: Mapped[float | None] = mapped_column(Float)
    merge_reason: Mapped[str | None] = mapped_column(Text)
    merge_pinned: Mapped[bool] = mapped_column(Boolean, default=False)  # an admin placed it: merge leaves it
    last_outcome: Mapped[str | None] = mapped_column(String(16))  # of the last health check
    health_score: Mapped[int | None] = mapped_column(Integer)  # 0-100, from the check history
    last_probe_at: Mapped[datetime | None]
    probe_flags: Mapped[list[Any]] = mapped_column(default=list)  # deep check: black, frozen, silent, placeholder


class VodMovie(CatalogueItem, Base):
    __tablename__ = "vod_movies"
    __table_args__ = (UniqueConstraint("provider_id", "item_key", name="uq_vod_movies_provider_item"),)

    url: Mapped[str] = mapped_column(Text)
    url_hash: Mapped[str] = mapped_column(String(64))
    xtream_id: Mapped[int | None] = mapped_column(BigInteger)
    container_extension: Mapped[str | None] = mapped_column(String(16))
    logo: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[float | None] = mapped_column(Float)
    year: Mapped[int | None] = mapped_column(Integer)


class VodSeries(CatalogueItem, Base):
    __tablename__ = "vod_series"
    __table_args__ = (UniqueConstraint("provider_id", "item_key", name="uq_vod_series_provider_item"),)

    xtream_id: Mapped[int | None] = mapped_column(BigInteger)
    cover: Mapped[str | None] = mapped_column(Text)
    plot: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[float | None] = mapped_column(Float)
    release_date: Mapped[str | None] = mapped_column(String(32))


class VodEpisode(CatalogueItem, Base):
    __tablename__ = "vod_episodes"
    __table_args__ = (
        UniqueConstraint("provider_id", "item_key", name="uq_vod_episodes_provider_item"),
        Index("ix_vod_episodes_series", "series_key"),
    )

    series_key: Mapped[str] = mapped_column(String(64))  # item_key of the series in vod_series
    url: Mapped[str] = mapped_column(Text)
    url_hash: Mapped[str] = mapped_column(String(64))
    xtream_id: Mapped[int | None] = mapped_column(BigInteger)
    season: Mapped[int | None] = mapped_column(Integer)
    episode_num: Mapped[int | None] = mapped_column(Integer)
    container_extension: Mapped[str | None] = mapped_column(String(16))
    duration_secs: Mapped[int | None] = mapped_column(Integer)


class JobRun(Base):
    """One run of a background job (sync, health check, quality sampling ...): the scheduler's log."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")  # schedule | manual | api
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | success | failed | skipped
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    counts: Mapped[JSONDict] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)  # redacted


class HealthCheck(Base):
    """One health check of one stream (append-only history; the stream row keeps the summary)."""

    __tablename__ = "health_checks"
    __table_args__ = (
        Index("ix_health_checks_stream_at", "stream_id", "checked_at"),
        Index("ix_health_checks_provider_at", "provider_id", "checked_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id", ondelete="SET NULL"))
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))  # alive | dead | timeout | rate_limited | auth_failed | ...
    counted: Mapped[bool] = mapped_column(Boolean, default=True)  # rate_limited and unsupported are not
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_ms: Mapped[int | None] = mapped_column(Integer)
    bytes_read: Mapped[int] = mapped_column(Integer, default=0)
    error_kind: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)  # redacted


class QualitySample(Base):
    """One quality measurement of one stream: from its name or URL, a probe, or a deep (decoding) probe."""

    __tablename__ = "quality_samples"
    __table_args__ = (Index("ix_quality_samples_stream_at", "stream_id", "sampled_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id", ondelete="SET NULL"))
    sampled_at: Mapped[datetime] = mapped_column(default=utcnow)
    method: Mapped[str] = mapped_column(String(8))  # name | url | probe | deep
    outcome: Mapped[str] = mapped_column(String(16), default="ok")  # ok | broken | failed
    resolution: Mapped[str | None] = mapped_column(String(16))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    bitrate_kbps: Mapped[int | None] = mapped_column(Integer)
    codec: Mapped[str | None] = mapped_column(String(32))
    audio_codec: Mapped[str | None] = mapped_column(String(32))
    fps: Mapped[float | None] = mapped_column(Float)
    score: Mapped[int | None] = mapped_column(Integer)
    flags: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)  # redacted


class EpgChannel(Base):
    __tablename__ = "epg_channels"
    __table_args__ = (UniqueConstraint("provider_id", "xmltv_id", name="uq_epg_channels_provider_xmltv"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    xmltv_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(Text)
    icon: Mapped[str | None] = mapped_column(Text)


class EpgProgramme(Base):
    __tablename__ = "epg_programmes"
    __table_args__ = (UniqueConstraint("epg_channel_id", "start", name="uq_epg_programmes_channel_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    epg_channel_id: Mapped[int] = mapped_column(ForeignKey("epg_channels.id", ondelete="CASCADE"))
    start: Mapped[datetime]
    stop: Mapped[datetime | None]
    title: Mapped[str] = mapped_column(Text)
    sub_title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    categories: Mapped[list[Any]] = mapped_column(default=list)
    episode_num: Mapped[str | None] = mapped_column(String(64))
    icon: Mapped[str | None] = mapped_column(Text)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="viewer")  # admin | viewer
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class ApiToken(Base):
    """A bearer token: a login session (``kind='session'``, expires) or a personal API token (``'personal'``).

    Only the SHA-256 of the token is stored; the token itself is shown once.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class PlaybackToken(Base):
    """The per-user token that media servers put in ``/play/...`` URLs. Kept readable to write outputs."""

    __tablename__ = "playback_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class ViewingSession(Base):
    """One viewing of a channel, movie or episode by one user; the rules are in ``m3u_strm.playback.sessions``.

    ``key`` is the idempotency key of the start event. ``content_id`` has no foreign key: history outlives the
    catalogue, so ``title`` keeps the name the content had when the session started. Never the stream URL:
    ``url_hash`` is for audit. ``ended_at`` and ``duration_s`` stay NULL while a session is open.
    """

    __tablename__ = "viewing_sessions"
    __table_args__ = (
        Index("ix_viewing_sessions_user_started", "user_id", "started_at", "id"),
        Index("ix_viewing_sessions_started", "started_at"),
        Index("ix_viewing_sessions_content_started", "content_kind", "content_id", "started_at"),
        Index("ix_viewing_sessions_ended", "ended_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    content_kind: Mapped[str] = mapped_column(String(8))  # channel | movie | episode
    content_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(255))
    stream_id: Mapped[int | None] = mapped_column(ForeignKey("streams.id", ondelete="SET NULL"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id", ondelete="SET NULL"))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime]
    duration_s: Mapped[float | None] = mapped_column(Float)
    watched_s: Mapped[float | None] = mapped_column(Float)
    media_duration_s: Mapped[float | None] = mapped_column(Float)
    bytes_sent: Mapped[int] = mapped_column(BigInteger, default=0)
    failovers: Mapped[int] = mapped_column(Integer, default=0)
    client: Mapped[str | None] = mapped_column(String(255))
    client_ip: Mapped[str | None] = mapped_column(String(64))  # only with sessions_record_ip
    source: Mapped[str] = mapped_column(String(16))  # proxy | redirect | api
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    is_zap: Mapped[bool] = mapped_column(Boolean, default=False)
    url_hash: Mapped[str | None] = mapped_column(String(64))


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[JSONDict] = mapped_column(default=dict)


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    value: Mapped[JSONDict] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


CATALOGUE_MODELS: dict[str, type[CatalogueItem]] = {
    "streams": Stream,
    "movies": VodMovie,
    "series": VodSeries,
    "episodes": VodEpisode,
}
