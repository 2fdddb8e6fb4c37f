"""Helpers for tests that build a small multi-provider catalogue from playlist files on disk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import anyio
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from m3u_strm.config import Settings
from m3u_strm.db.models import Channel, ProviderSync, Stream
from m3u_strm.ingest.providers import ProviderSpec, create_provider
from m3u_strm.ingest.sync import sync_provider


@dataclass(frozen=True)
class Line:
    name: str
    url: str
    tvg_id: str = ""
    group: str = "General"
    logo: str = ""


def write_playlist(path: Path, lines: list[Line]) -> Path:
    parts = ["#EXTM3U"]
    for line in lines:
        attrs = f'tvg-id="{line.tvg_id}" group-title="{line.group}"'
        if line.logo:
            attrs += f' tvg-logo="{line.logo}"'
        parts += [f"#EXTINF:-1 {attrs},{line.name}", line.url]
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


def add_provider(engine: Engine, name: str, playlist: Path, *, priority: int = 0, epg: Path | None = None) -> int:
    with Session(engine) as session, session.begin():
        spec = ProviderSpec(name=name, kind="m3u", url=str(playlist), priority=priority,
                            epg_url=str(epg) if epg else None)  # fmt: skip
        return create_provider(session, spec).id


def sync(engine: Engine, settings: Settings, name: str) -> ProviderSync:
    async def run() -> ProviderSync:
        return await sync_provider(engine, name, settings=settings)

    row = anyio.run(run)
    assert row.status == "success", row.error_message
    return row


def channel_of(engine: Engine) -> dict[str, int | None]:
    """Stream name → channel id, over live streams."""
    with Session(engine) as session:
        rows = session.execute(select(Stream.name, Stream.channel_id).where(Stream.removed_at.is_(None)))
        return {name: channel for name, channel in rows}


def channels_state(engine: Engine) -> list[tuple[object, ...]]:
    """Every column a merge writes, for channels and streams: equal before and after means nothing was written."""
    with Session(engine) as session:
        channels = [(c.id, c.name, c.match_key, c.category, c.epg_id, c.logo, c.number, c.enabled, c.merged_into_id,
                     c.updated_at) for c in session.scalars(select(Channel).order_by(Channel.id))]  # fmt: skip
        streams = [(s.id, s.channel_id, s.merge_method, s.merge_confidence, s.merge_reason, s.rank, s.quality_score,
                    s.resolution) for s in session.scalars(select(Stream).order_by(Stream.id))]  # fmt: skip
    return channels + streams
