"""Reading the merged catalogue: channel lists, a channel's ranked streams and how each was merged.

Views are plain dicts ready for the API and the CLI. A stream's URL is never part of a view (it may carry the
provider's credentials); its ``url_hash`` identifies it instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from m3u_strm.catalog.overrides import get_channel
from m3u_strm.db.models import Channel, Provider, Stream
from m3u_strm.monitor.records import UPTIME_WINDOWS, uptimes

__all__ = ["channel_streams", "channel_view", "list_channels", "merge_details"]

_LIVE_STREAM = and_(Stream.channel_id == Channel.id, Stream.removed_at.is_(None))


def _stream_count() -> ColumnElement[int]:
    return select(func.count(Stream.id)).where(_LIVE_STREAM).correlate(Channel).scalar_subquery()


def channel_view(channel: Channel, stream_count: int) -> dict[str, Any]:
    return {
        "id": channel.id, "name": channel.name, "normalized_name": channel.normalized_name,
        "country": channel.country, "region": channel.region, "variant": channel.variant,
        "category": channel.category, "epg_id": channel.epg_id, "logo": channel.logo, "number": channel.number,
        "enabled": channel.enabled, "manual": channel.manual, "name_locked": channel.name_locked,
        "merged_into_id": channel.merged_into_id,
        "stream_count": stream_count,
    }  # fmt: skip


def list_channels(
    session: Session,
    *,
    search: str | None = None,
    category: str | None = None,
    include_empty: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """Channels by number: the total that match and one page of them. Channels merged away are left out."""
    count = _stream_count().label("stream_count")
    query = select(Channel, count).where(Channel.merged_into_id.is_(None))
    if search:
        needle = f"%{search.strip().lower()}%"
        query = query.where(or_(func.lower(Channel.name).like(needle), Channel.normalized_name.like(needle)))
    if category:
        query = query.where(Channel.category == category)
    if not include_empty:
        query = query.where(select(Stream.id).where(_LIVE_STREAM).correlate(Channel).exists())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(Channel.number, Channel.id).limit(limit).offset(offset))
    return total, [channel_view(channel, stream_count) for channel, stream_count in rows]


def channel_detail(session: Session, channel_id: int) -> dict[str, Any]:
    channel = get_channel(session, channel_id)
    count = session.scalar(select(func.count(Stream.id)).where(Stream.channel_id == channel.id,
                                                               Stream.removed_at.is_(None)))  # fmt: skip
    return channel_view(channel, count or 0)


def channel_streams(session: Session, channel_id: int) -> list[dict[str, Any]]:
    """The channel's live streams, best ranked first."""
    channel = get_channel(session, channel_id)
    rows = session.execute(
        select(Stream, Provider.name)
        .join(Provider, Provider.id == Stream.provider_id)
        .where(Stream.channel_id == channel.id, Stream.removed_at.is_(None))
        .order_by(Stream.rank.is_(None), Stream.rank, Stream.id)
    )
    views = [_stream_view(stream, provider) for stream, provider in rows]
    uptime = uptimes(session, ids=[view["id"] for view in views])
    for view in views:
        view["uptime"] = uptime.get(view["id"], dict.fromkeys(UPTIME_WINDOWS))
    return views


def _stream_view(stream: Stream, provider: str) -> dict[str, Any]:
    return {
        "id": stream.id, "provider_id": stream.provider_id, "provider": provider, "name": stream.name,
        "tvg_id": stream.tvg_id, "category": stream.category, "rank": stream.rank,
        "resolution": stream.resolution, "quality_score": stream.quality_score, "bitrate_kbps": stream.bitrate_kbps,
        "is_active": stream.is_active, "url_hash": stream.url_hash, "health_score": stream.health_score,
        "last_outcome": stream.last_outcome, "consecutive_failures": stream.consecutive_failures,
        "response_time_ms": stream.response_time_ms, "last_check_at": stream.last_check_at,
        "width": stream.width, "height": stream.height, "fps": stream.fps, "codec": stream.codec,
        "last_probe_at": stream.last_probe_at, "probe_flags": list(stream.probe_flags or []),
        "merge_method": stream.merge_method, "merge_confidence": stream.merge_confidence,
        "merge_reason": stream.merge_reason, "merge_pinned": stream.merge_pinned,
    }  # fmt: skip


def merge_details(session: Session, channel_id: int) -> dict[str, Any]:
    """Why each stream is in this channel, and which channels were merged into it."""
    channel = get_channel(session, channel_id)
    merged_from = session.scalars(select(Channel.id).where(Channel.merged_into_id == channel.id).order_by(Channel.id))
    streams = channel_streams(session, channel.id)
    methods: dict[str, int] = {}
    for stream in streams:
        methods[stream["merge_method"] or "none"] = methods.get(stream["merge_method"] or "none", 0) + 1
    return {
        "channel_id": channel.id, "match_key": channel.match_key, "manual": channel.manual,
        "merged_from": list(merged_from), "methods": methods,
        "streams": [
            {key: stream[key] for key in ("id", "provider", "name", "tvg_id", "merge_method", "merge_confidence",
                                          "merge_reason", "merge_pinned", "rank")}
            for stream in streams
        ],
    }  # fmt: skip
