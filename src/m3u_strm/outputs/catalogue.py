"""What the outputs show, read from the merged catalogue: playlist channels, guide channels and programmes, the
tuner lineup. The renderers (``playlist``, ``guide``, ``hdhomerun``) turn these into bytes.

A channel is listed when it is enabled, not merged into another, and has at least one live stream of an enabled
provider. Its guide id (``tvg-id`` in the playlist, ``<channel id>`` in the guide) is the same everywhere:
:class:`GuideIds` (timeshift channels get ids, and programmes, of their own).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Select, and_, exists, select
from sqlalchemy.orm import Session

from m3u_strm.catalog.normalize import normalize_name
from m3u_strm.db.models import Channel, EpgChannel, EpgProgramme, Provider, Stream
from m3u_strm.outputs.guide import GuideChannel, GuideProgramme
from m3u_strm.outputs.hdhomerun import LineupEntry
from m3u_strm.outputs.links import PlayLinks
from m3u_strm.outputs.playlist import PlaylistChannel

__all__ = [
    "GuideIds", "channel_by_number", "guide_channels", "guide_id", "guide_programmes",
    "lineup_entries",
    "playlist_channels",
]  # fmt: skip

HD_TIERS = frozenset({"720p", "1080p", "1440p", "4K", "8K"})
_BATCH = 2000

_PLAYABLE = and_(
    Stream.channel_id == Channel.id,
    Stream.removed_at.is_(None),
    Provider.id == Stream.provider_id,
    Provider.enabled.is_(True),
)


_GUIDE_ID = re.compile(r"^[-a-zA-Z0-9]+(\.[-a-zA-Z0-9]+)+$")  # what the XMLTV DTD's tools accept
_GUIDE_ID_JUNK = re.compile(r"[^-a-zA-Z0-9.]+")


def guide_id(channel: Channel) -> str:
    """The id a channel has in our playlist and our guide: its EPG id when it has the ``name.tld`` shape XMLTV
    tools accept (``bbcone.uk``), else that id made to fit (``BBCOne.uk@SD`` → ``BBCOne.uk-SD``), else our own."""
    if channel.epg_id and _GUIDE_ID.match(channel.epg_id):
        return channel.epg_id
    fitted = ".".join(p for p in _GUIDE_ID_JUNK.sub("-", channel.epg_id or "").split(".") if p.strip("-"))
    return fitted if _GUIDE_ID.match(fitted) else f"{fitted or channel.id}.m3u-strm".lstrip("-")


_TIMESHIFT = re.compile(r"^\+(\d{1,2})$")


class GuideIds:
    """Guide ids for one output, aware of timeshift channels.

    Providers often give "BBC One +1" the same tvg-id as "BBC One"; a guide would then show the +1 channel the
    programmes of the hour before. When a ``+N`` channel shares its EPG id with a channel without a variant, it gets
    an id of its own (``bbcone.uk-plus1``) and the guide writes the programmes again, ``N`` hours later. A +1
    channel with an id of its own keeps it: its guide is the provider's.
    """

    def __init__(self, session: Session) -> None:
        query = (
            _listed_channels()
            .with_only_columns(Channel.epg_id)
            .where(Channel.variant.is_(None), Channel.epg_id.is_not(None))
        )
        self._base_ids = set(session.scalars(query.order_by(None)))

    def shift_hours(self, channel: Channel) -> int:
        match = _TIMESHIFT.match(channel.variant or "")
        return int(match[1]) if match and channel.epg_id in self._base_ids else 0

    def of(self, channel: Channel) -> str:
        hours = self.shift_hours(channel)
        return f"{guide_id(channel)}-plus{hours}" if hours else guide_id(channel)


def _listed_channels(category: str | None = None) -> Select[Channel]:
    query = select(Channel).where(
        Channel.enabled.is_(True),
        Channel.merged_into_id.is_(None),
        exists().where(_PLAYABLE),
    )
    if category is not None:
        query = query.where(Channel.category == category)
    return query.order_by(Channel.number, Channel.id)


def _entry(channel: Channel, url: str, ids: GuideIds, suffix: str | None = None) -> PlaylistChannel:
    return PlaylistChannel(
        channel_id=channel.id, name=channel.name, url=url, tvg_id=ids.of(channel), tvg_name=channel.name,
        logo=channel.logo, group=channel.category, chno=channel.number, suffix=suffix,
    )  # fmt: skip


def playlist_channels(
    session: Session, links: PlayLinks, *, category: str | None = None, every_stream: bool = False
) -> Iterator[PlaylistChannel]:
    """One entry per channel (its best stream behind the gateway), or with ``every_stream`` one per stream, ranked."""
    ids = GuideIds(session)
    if not every_stream and not links.direct:
        for channel in session.scalars(_listed_channels(category).execution_options(yield_per=_BATCH)):
            yield _entry(channel, links.live(channel.id), ids)
        return
    query = (
        select(Channel, Stream.id, Stream.url, Stream.resolution, Stream.rank)
        .join(Stream, Stream.channel_id == Channel.id)
        .join(Provider, Provider.id == Stream.provider_id)
        .where(Stream.removed_at.is_(None), Provider.enabled.is_(True))
        .where(Channel.id.in_(_listed_channels(category).with_only_columns(Channel.id).order_by(None)))
        .order_by(Channel.number, Channel.id, Stream.rank, Stream.id)
        .execution_options(yield_per=_BATCH)
    )
    last_channel = None
    for channel, stream_id, url, resolution, rank in session.execute(query):
        if not every_stream:  # direct URLs: the best stream only
            if channel.id != last_channel:
                last_channel = channel.id
                yield _entry(channel, links.pick(links.live(channel.id), url), ids)
            continue
        suffix = f" (#{rank} {resolution})" if resolution else f" (#{rank})"
        yield _entry(channel, links.pick(links.stream(stream_id), url), ids, suffix)


@dataclass(frozen=True, slots=True)
class _GuideSource:
    epg_channel_id: int
    display_name: str
    icon: str | None


def _guide_sources(session: Session) -> tuple[dict[str, _GuideSource], dict[str, _GuideSource]]:
    """Stored guide channels that have programmes, by xmltv id (case-insensitive) and by normalised name; the
    higher-priority provider wins."""
    by_id: dict[str, _GuideSource] = {}
    by_name: dict[str, _GuideSource] = {}
    rows = session.execute(
        select(EpgChannel.id, EpgChannel.xmltv_id, EpgChannel.display_name, EpgChannel.icon)
        .join(Provider, Provider.id == EpgChannel.provider_id)
        .where(Provider.enabled.is_(True), exists().where(EpgProgramme.epg_channel_id == EpgChannel.id))
        .order_by(Provider.priority.desc(), Provider.id, EpgChannel.id)
    )
    for epg_id, xmltv_id, display_name, icon in rows:
        source = _GuideSource(epg_id, display_name, icon)
        by_id.setdefault(xmltv_id.casefold(), source)
        by_name.setdefault(normalize_name(display_name).key, source)
    return by_id, by_name


def _guide_links(session: Session) -> list[tuple[Channel, _GuideSource]]:
    by_id, by_name = _guide_sources(session)
    linked = []
    for channel in session.scalars(_listed_channels()):
        source = by_id.get(channel.epg_id.casefold()) if channel.epg_id else None
        source = source or by_name.get(channel.normalized_name)
        if source is not None:
            linked.append((channel, source))
    return linked


GuideTargets = dict[int, list[tuple[str, timedelta]]]  # stored guide channel -> (our guide id, time shift)


def guide_channels(session: Session) -> tuple[list[GuideChannel], GuideTargets]:
    """The guide's channels, and for each stored guide channel the guide ids (and time shifts) its programmes
    are written under."""
    ids = GuideIds(session)
    channels: list[GuideChannel] = []
    targets: GuideTargets = {}
    seen: set[str] = set()
    for channel, source in _guide_links(session):
        ours = ids.of(channel)
        if ours in seen:
            continue
        seen.add(ours)
        names = tuple(dict.fromkeys(n for n in (channel.name, source.display_name) if n))
        channels.append(GuideChannel(ours, names, channel.logo or source.icon))
        shift = timedelta(hours=ids.shift_hours(channel))
        targets.setdefault(source.epg_channel_id, []).append((ours, shift))
    return channels, targets


def guide_programmes(session: Session, targets: GuideTargets) -> Iterator[GuideProgramme]:
    """Programmes of the linked guide channels, by channel then start, streamed from the database."""
    ids = sorted(targets)
    for offset in range(0, len(ids), 500):  # keeps the IN list small on every database
        chunk = ids[offset : offset + 500]
        query = (
            select(EpgProgramme)
            .where(EpgProgramme.epg_channel_id.in_(chunk))
            .order_by(EpgProgramme.epg_channel_id, EpgProgramme.start)
            .execution_options(yield_per=_BATCH)
        )
        for programme in session.scalars(query):
            for ours, shift in targets[programme.epg_channel_id]:
                stop = programme.stop + shift if programme.stop else None
                yield GuideProgramme(
                    channel=ours, start=programme.start + shift, stop=stop, title=programme.title,
                    sub_title=programme.sub_title, description=programme.description,
                    categories=tuple(programme.categories or ()), episode_num=programme.episode_num,
                    icon=programme.icon,
                )  # fmt: skip


def lineup_entries(session: Session, links: PlayLinks) -> Iterator[LineupEntry]:
    best_tier = (
        select(Stream.resolution)
        .where(_PLAYABLE)
        .order_by(Stream.rank, Stream.id)
        .limit(1)
        .correlate(Channel)
        .scalar_subquery()
    )
    query = _listed_channels().add_columns(best_tier)
    for channel, tier in session.execute(query):
        yield LineupEntry(str(channel.number or channel.id), channel.name, links.live(channel.id), tier in HD_TIERS)


def channel_by_number(session: Session, number: str) -> Channel | None:
    """The listed channel a tuner's ``/auto/v<number>`` means (number, else id for channels without one)."""
    if not number.isdigit():
        return None
    value = int(number)
    query = _listed_channels().where((Channel.number == value) | (Channel.number.is_(None) & (Channel.id == value)))
    return session.scalars(query.limit(1)).first()
