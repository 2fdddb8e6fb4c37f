"""Store a provider's XMLTV guide: replace its channels' programmes in the caller's transaction.

The guide is parsed straight from the downloaded file, a batch at a time. A guide that cannot be parsed leaves the
stored guide as it was (the caller turns the error into a warning and rolls back only the savepoint).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Table, delete, insert, select

from m3u_strm.db.models import EpgChannel, EpgProgramme
from m3u_strm.ingest import xmltv

BATCH = 5000


@dataclass
class GuideCounts:
    channels: int = 0
    programmes: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


def replace_guide(connection: Connection, provider_id: int, path: Path, *, source: str, max_bytes: int) -> GuideCounts:
    channels: Table = EpgChannel.__table__  # type: ignore[assignment]
    programmes: Table = EpgProgramme.__table__  # type: ignore[assignment]
    existing = dict(
        connection.execute(
            select(channels.c.xmltv_id, channels.c.id).where(channels.c.provider_id == provider_id)
        ).all()
    )
    channel_ids = list(existing.values())
    if channel_ids:
        connection.execute(delete(programmes).where(programmes.c.epg_channel_id.in_(channel_ids)))
    counts = GuideCounts()
    batch: list[dict[str, object]] = []
    reports: list[xmltv.XmltvReport] = []

    def channel_id(xmltv_id: str, name: str | None = None, icon: str | None = None) -> int:
        known = existing.get(xmltv_id)
        if known is None:
            values = {"provider_id": provider_id, "xmltv_id": xmltv_id, "display_name": name or xmltv_id, "icon": icon}
            known = int(connection.execute(insert(channels).values(**values).returning(channels.c.id)).scalar_one())
            existing[xmltv_id] = known
        return known

    with path.open("rb") as handle:
        for item in xmltv.iter_xmltv(handle, source_name=source, max_bytes=max_bytes, report_to=reports):
            if isinstance(item, xmltv.EpgChannel):
                name = item.display_names[0] if item.display_names else item.id
                if item.id in existing:
                    connection.execute(
                        channels.update()
                        .where(channels.c.id == existing[item.id])
                        .values(display_name=name, icon=item.icon)
                    )
                else:
                    channel_id(item.id, name, item.icon)
                counts.channels += 1
                continue
            batch.append(_programme_row(channel_id(item.channel_id), item))
            if len(batch) >= BATCH:
                connection.execute(insert(programmes), batch)
                counts.programmes += len(batch)
                batch = []
    if batch:
        connection.execute(insert(programmes), batch)
        counts.programmes += len(batch)
    if reports:
        counts.skipped.update(reports[0].skipped)
    return counts


def _programme_row(epg_channel_id: int, item: xmltv.EpgProgramme) -> dict[str, object]:
    return {
        "epg_channel_id": epg_channel_id,
        "start": item.start,
        "stop": item.stop,
        "title": item.title,
        "sub_title": item.sub_title,
        "description": item.description,
        "categories": list(item.categories),
        "episode_num": item.episode_num,
        "icon": item.icon,
    }
