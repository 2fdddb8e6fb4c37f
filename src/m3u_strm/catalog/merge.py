"""The channel merge: give every live stream a channel, rank each channel's streams, and keep ids stable.

It runs inside the caller's transaction after a sync changed streams and after every manual change, over the
whole catalogue (merging is across providers). Who decides a stream's channel, strongest first:

1. **pinned** — an admin merged or split it by hand (``streams.merge_pinned``): it stays where it was put;
2. **rule** — the first merge rule (in id order) whose pattern matches the stream;
3. **automatic** — :func:`m3u_strm.catalog.match.match_streams` (tvg-id, then same normalised name, then fuzzy
   inside blocks). Each resulting group is mapped to the channel most of its streams already belong to, else to
   the channel created for the same group key before, else to a new channel.

A channel an admin merged into another (``merged_into_id``) passes whatever lands on it to its target; a manual
(split-off) channel never receives streams by itself. Only rows whose values differ are written, so running the
merge twice — or after a re-sync of an unchanged provider — writes nothing.
"""

from __future__ import annotations

import fnmatch
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Table, func, insert, select, text, update
from sqlalchemy.orm import Session

from m3u_strm.catalog.match import MergeCandidate, MergeGroup, MergeResult, match_streams
from m3u_strm.catalog.normalize import NormalizedName, normalize_name
from m3u_strm.catalog.quality import quality_from_name, quality_score, tier_from_height
from m3u_strm.catalog.ranking import RankCandidate, rank_streams
from m3u_strm.db.models import Channel, MergeRule, Provider, Stream
from m3u_strm.outputs.playlist import safe_logo

__all__ = ["MergeReport", "compile_pattern", "merge_catalogue", "remerge"]

_ADVISORY_LOCK_ID = 0x6D337573  # any constant: serialises merges across PostgreSQL sessions


@dataclass
class MergeReport:
    streams: int = 0
    channels_created: int = 0
    streams_moved: int = 0
    streams_updated: int = 0
    channels_updated: int = 0


@dataclass(slots=True)
class _Stream:
    id: int
    provider_id: int
    name: str
    tvg_id: str | None
    category: str | None
    logo: str | None
    channel_id: int | None
    pinned: bool
    method: str | None
    confidence: float | None
    reason: str | None
    quality_score: int | None  # as stored
    resolution: str | None  # as stored
    rank: int | None
    is_active: bool
    consecutive_failures: int
    health_score: int | None
    response_time_ms: int | None
    priority: int
    tier: str | None  # as computed now
    score: int


@dataclass(slots=True)
class _Placement:
    channel_id: int
    method: str | None
    confidence: float | None
    reason: str | None


@dataclass
class _Channels:
    """The channels table as the merge sees it."""

    rows: dict[int, dict[str, Any]]
    by_key: dict[str, int] = field(default_factory=dict)

    def resolve(self, channel_id: int | None) -> int | None:
        seen: set[int] = set()
        while channel_id is not None and channel_id in self.rows and channel_id not in seen:
            seen.add(channel_id)
            target = self.rows[channel_id]["merged_into_id"]
            if target is None:
                return channel_id
            channel_id = target
        return channel_id if channel_id in self.rows else None


class _RecentNames:
    """Normalised names of the last merge, kept for the next one: normalising is most of a re-merge's time, and
    after a sync nearly every name is the same. Only names still in the catalogue are kept, and none at all past
    ``limit`` names (about 300 bytes each)."""

    def __init__(self, limit: int = 300_000) -> None:
        self.limit = limit
        self.names: dict[str, NormalizedName] = {}

    def start(self) -> dict[str, NormalizedName]:
        return dict(self.names)

    def keep(self, normalized: dict[str, NormalizedName], streams: list[_Stream]) -> None:
        live = {stream.name for stream in streams}
        self.names = {n: normalized[n] for n in live if n in normalized} if len(live) <= self.limit else {}


_recent_names = _RecentNames()


def merge_catalogue(session: Session, *, threshold: float = 85.0) -> MergeReport:
    """Merge every live stream into channels and rank them; see the module docstring."""
    _lock(session)
    normalized = _recent_names.start()  # each distinct name is normalised once, for matching and quality
    streams = _load_streams(session, normalized)
    channels = _load_channels(session)
    report = MergeReport(streams=len(streams))
    placements, names = _place(session, streams, channels, threshold, report, normalized)
    ranks = _rank(streams, placements)
    _write_streams(session, streams, placements, ranks, report)
    _refresh_channels(session, streams, placements, ranks, names, channels, report)
    _recent_names.keep(normalized, streams)
    return report


def remerge(engine: Engine, *, threshold: float = 85.0) -> MergeReport:
    """:func:`merge_catalogue` in a transaction of its own (after health checks and probes changed the ranking)."""
    with Session(engine) as session, session.begin():
        return merge_catalogue(session, threshold=threshold)


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_ADVISORY_LOCK_ID)))
    else:  # take SQLite's write lock now, before reading, so a concurrent merge waits instead of failing later
        session.execute(text("UPDATE channels SET id = id WHERE 1 = 0"))


def _load_streams(session: Session, normalized: dict[str, NormalizedName]) -> list[_Stream]:
    """The live streams, with their quality worked out as they are read (URLs are not kept: at hundreds of
    thousands of streams they would be most of the merge's memory)."""
    query = (
        select(
            Stream.id,
            Stream.provider_id,
            Stream.name,
            Stream.tvg_id,
            Stream.url,
            Stream.category,
            Stream.logo,
            Stream.channel_id,
            Stream.merge_pinned.label("pinned"),
            Stream.merge_method.label("method"),
            Stream.merge_confidence.label("confidence"),
            Stream.merge_reason.label("reason"),
            Stream.quality_score,
            Stream.resolution,
            Stream.height,
            Stream.bitrate_kbps,
            Stream.rank,
            Stream.is_active,
            Stream.consecutive_failures,
            Stream.health_score,
            Stream.response_time_ms,
            Provider.priority,
        )
        .join(Provider, Provider.id == Stream.provider_id)
        .where(Stream.removed_at.is_(None))
        .order_by(Stream.id)
        .execution_options(yield_per=5000)
    )
    streams = []
    for row in session.execute(query):
        fields = dict(row._mapping)
        url, height, bitrate = fields.pop("url"), fields.pop("height"), fields.pop("bitrate_kbps")
        tier = tier_from_height(height) if height else None
        if tier is None:
            name = normalized.get(row.name) or normalized.setdefault(row.name, normalize_name(row.name))
            tier = quality_from_name(row.name, url, normalized=name).tier
        streams.append(_Stream(**fields, tier=tier, score=quality_score(tier, bitrate)))
    return streams


def _load_channels(session: Session) -> _Channels:
    columns = (Channel.id, Channel.match_key, Channel.merged_into_id, Channel.manual, Channel.name_locked, Channel.name,
               Channel.normalized_name, Channel.country, Channel.region, Channel.variant, Channel.category,
               Channel.epg_id, Channel.logo, Channel.number)  # fmt: skip
    rows = {row.id: dict(row._mapping) for row in session.execute(select(*columns))}
    channels = _Channels(rows)
    for channel_id in sorted(rows):
        key = rows[channel_id]["match_key"]
        if key is not None:
            channels.by_key.setdefault(key, channel_id)
    return channels


def _place(
    session: Session,
    streams: list[_Stream],
    channels: _Channels,
    threshold: float,
    report: MergeReport,
    normalized: dict[str, NormalizedName],
) -> tuple[dict[int, _Placement], dict[int, MergeGroup]]:
    """Each stream's channel, and for each automatic channel the group that names it."""
    placements: dict[int, _Placement] = {}
    for stream in streams:
        target = channels.resolve(stream.channel_id) if stream.pinned else None
        if target is not None:
            placements[stream.id] = _Placement(target, stream.method or "manual", stream.confidence, stream.reason)
    rules = _compiled_rules(session)
    for stream in streams:
        if stream.id not in placements:
            _apply_rules(stream, rules, channels, placements)
    automatic = [s for s in streams if s.id not in placements]
    candidates = (MergeCandidate(s.id, s.provider_id, s.name, s.tvg_id) for s in automatic)
    result = match_streams(candidates, threshold=threshold, names=normalized)
    group_channels = _channels_for_groups(session, result, {s.id: s for s in streams}, channels, report)
    for stream in automatic:
        link = result.links[stream.id]
        placements[stream.id] = _Placement(group_channels[link.group_key], link.method, link.confidence, link.reason)
    return placements, _naming_groups(result.groups, group_channels, channels)


def _naming_groups(
    groups: list[MergeGroup], group_channels: dict[str, int], channels: _Channels
) -> dict[int, MergeGroup]:
    """The group a channel takes its name from: the one with its own key, else its largest (several groups share a
    channel only after an admin merged channels)."""
    naming: dict[int, MergeGroup] = {}
    for group in groups:
        channel_id = group_channels[group.key]
        own_key = channels.rows[channel_id]["match_key"]
        current = naming.get(channel_id)
        if current is None or _naming_preference(group, own_key) > _naming_preference(current, own_key):
            naming[channel_id] = group
    return naming


def _naming_preference(group: MergeGroup, own_key: str | None) -> tuple[bool, int]:
    return group.key == own_key, len(group.stream_ids)


@dataclass(frozen=True, slots=True)
class _Rule:
    id: int
    pattern: re.Pattern[str]
    anchored: bool  # globs match the whole value; regexes are searched
    source: str
    field: str
    provider_id: int | None
    channel_id: int


def compile_pattern(pattern: str, kind: str) -> re.Pattern[str]:
    """A merge rule's pattern as a case-insensitive regex; raises ``re.error`` for a bad regex."""
    source = fnmatch.translate(pattern) if kind == "glob" else pattern
    return re.compile(source, re.IGNORECASE)


def _compiled_rules(session: Session) -> list[_Rule]:
    rules = []
    for rule in session.scalars(select(MergeRule).order_by(MergeRule.id)):
        try:
            pattern = compile_pattern(rule.pattern, rule.kind)
        except re.error:  # validated on creation; a rule stored by an older version must not stop the merge
            continue
        rules.append(
            _Rule(rule.id, pattern, rule.kind == "glob", rule.pattern, rule.field, rule.provider_id, rule.channel_id)
        )
    return rules


def _apply_rules(stream: _Stream, rules: Sequence[_Rule], channels: _Channels, out: dict[int, _Placement]) -> None:
    for rule in rules:
        if rule.provider_id is not None and rule.provider_id != stream.provider_id:
            continue
        value = stream.name if rule.field == "name" else (stream.tvg_id or "")
        if rule.pattern.match(value) if rule.anchored else rule.pattern.search(value):
            target = channels.resolve(rule.channel_id)
            if target is not None:
                out[stream.id] = _Placement(target, "rule", 100.0, f"rule #{rule.id} {rule.source!r}")
                return


def _channels_for_groups(
    session: Session, result: MergeResult, streams: dict[int, _Stream], channels: _Channels, report: MergeReport
) -> dict[str, int]:
    """Map each group to a channel: by the channels its streams are in now, by its key, or a new one."""
    claims: list[tuple[int, str, int]] = []
    for group in result.groups:
        votes = Counter(
            target
            for stream_id in group.stream_ids
            if (target := channels.resolve(streams[stream_id].channel_id)) is not None
            and not channels.rows[target]["manual"]
        )
        claims.extend((-count, group.key, channel_id) for channel_id, count in votes.items())
    mapping: dict[str, int] = {}
    taken: set[int] = set()
    for _, key, channel_id in sorted(claims):
        if key not in mapping and channel_id not in taken:
            mapping[key] = channel_id
            taken.add(channel_id)
    missing: list[MergeGroup] = []
    for group in result.groups:
        if group.key in mapping:
            continue
        known = channels.by_key.get(group.key)
        target = channels.resolve(known)
        if target is not None and (target != known or target not in taken) and not channels.rows[target]["manual"]:
            mapping[group.key] = target
            taken.add(target)
        else:
            missing.append(group)
    mapping.update(_create_channels(session, missing, channels, report))
    return mapping


def _create_channels(
    session: Session, groups: list[MergeGroup], channels: _Channels, report: MergeReport
) -> dict[str, int]:
    if not groups:
        return {}
    next_number = max((row["number"] or 0 for row in channels.rows.values()), default=0) + 1
    values: list[dict[str, Any]] = [
        {
            "name": group.name.display[:255],
            "normalized_name": group.name.key[:255],
            "match_key": group.key[:255],
            "country": group.name.country,
            "region": group.name.region,
            "variant": group.name.variant,
            "number": next_number + offset,
            "tags": [],
            "enabled": True,
            "manual": False,
            "name_locked": False,
        }
        for offset, group in enumerate(groups)
    ]
    # A plain executemany, then the ids by their (new, unique) numbers: far cheaper than INSERT ... RETURNING
    # row by row at tens of thousands of channels.
    table = Channel.__table__
    assert isinstance(table, Table)
    session.execute(insert(table), values)
    numbers = select(Channel.number, Channel.id).where(Channel.number >= next_number)
    id_of = {number: channel_id for number, channel_id in session.execute(numbers)}
    ids = [id_of[row["number"]] for row in values]
    for channel_id, row in zip(ids, values, strict=True):
        channels.rows[channel_id] = {"id": channel_id, "merged_into_id": None, "category": None, "epg_id": None,
                                     "logo": None, **row}  # fmt: skip
    report.channels_created += len(ids)
    return {group.key: channel_id for group, channel_id in zip(groups, ids, strict=True)}


def _rank(streams: list[_Stream], placements: dict[int, _Placement]) -> dict[int, int]:
    members: dict[int, list[RankCandidate]] = defaultdict(list)
    for s in streams:
        members[placements[s.id].channel_id].append(
            RankCandidate(
                s.id, s.score, s.priority, s.is_active, s.consecutive_failures, s.health_score, s.response_time_ms
            )
        )
    ranks: dict[int, int] = {}
    for candidates in members.values():
        for position, candidate in enumerate(rank_streams(candidates), start=1):
            ranks[candidate.stream_id] = position
    return ranks


def _write_streams(
    session: Session,
    streams: list[_Stream],
    placements: dict[int, _Placement],
    ranks: dict[int, int],
    report: MergeReport,
) -> None:
    changes: list[dict[str, Any]] = []
    for stream in streams:
        place = placements[stream.id]
        confidence = round(place.confidence, 2) if place.confidence is not None else None
        tier, score = stream.tier, stream.score
        wanted = (place.channel_id, place.method, confidence, place.reason, ranks[stream.id], score, tier)
        stored = (stream.channel_id, stream.method, stream.confidence, stream.reason, stream.rank,
                  stream.quality_score, stream.resolution)  # fmt: skip
        if wanted != stored:
            changes.append(dict(zip(_STREAM_COLUMNS, (stream.id, *wanted), strict=True)))
            report.streams_moved += stream.channel_id != place.channel_id
    if changes:
        session.execute(update(Stream), changes)
    report.streams_updated = len(changes)


_STREAM_COLUMNS = ("id", "channel_id", "merge_method", "merge_confidence", "merge_reason", "rank", "quality_score",
                   "resolution")  # fmt: skip


def _refresh_channels(
    session: Session,
    streams: list[_Stream],
    placements: dict[int, _Placement],
    ranks: dict[int, int],
    names: dict[int, MergeGroup],
    channels: _Channels,
    report: MergeReport,
) -> None:
    """Name, guide id, logo and category of each channel from its group and its best-ranked streams."""
    members: dict[int, list[_Stream]] = defaultdict(list)
    for stream in streams:
        members[placements[stream.id].channel_id].append(stream)
    changes: list[dict[str, Any]] = []
    for channel_id, holding in sorted(members.items()):
        holding.sort(key=lambda s: ranks[s.id])
        row = channels.rows[channel_id]
        wanted = _stream_fields(holding)
        group = names.get(channel_id)
        if group is not None and not row["manual"]:
            wanted |= {
                "name": group.name.display[:255], "normalized_name": group.name.key[:255],
                "match_key": group.key[:255], "country": group.name.country, "region": group.name.region,
                "variant": group.name.variant,
            }  # fmt: skip
            if row["name_locked"]:
                del wanted["name"]
        if any(row[column] != value for column, value in wanted.items()):
            changes.append({"id": channel_id, **wanted})
    if changes:
        session.execute(update(Channel), changes)
    report.channels_updated = len(changes)


def _stream_fields(ranked: list[_Stream]) -> dict[str, Any]:
    categories = Counter(s.category for s in ranked if s.category)
    best_category = max(categories.items(), key=lambda item: item[1])[0] if categories else None
    return {
        "category": best_category,
        "epg_id": next((s.tvg_id for s in ranked if s.tvg_id), None),
        "logo": next((logo for s in ranked if (logo := safe_logo(s.logo))), None),
    }
