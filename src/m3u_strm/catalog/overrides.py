"""An admin's hand on the merge: merge two channels, split streams off, merge rules, disable a channel.

Every change is stored where the next automatic merge respects it — pinned streams, ``merged_into_id``, rules —
so it survives re-syncs; each one runs the merge again at once and writes an audit row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from m3u_strm.catalog.merge import compile_pattern, merge_catalogue
from m3u_strm.catalog.normalize import normalize_name
from m3u_strm.db.models import Channel, MergeRule, Provider, Stream
from m3u_strm.errors import ConflictError, InputError, NotFoundError
from m3u_strm.privacy.audit import record_audit

__all__ = [
    "Actor", "create_rule", "delete_rule", "get_channel", "list_rules", "merge_channels", "rename_channel",
    "renumber_channel", "reset_channel", "set_channel_enabled", "split_streams",
]  # fmt: skip

MAX_PATTERN_LENGTH = 255


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made the change, for the audit log."""

    user_id: int | None = None
    address: str | None = None


def get_channel(session: Session, channel_id: int) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise NotFoundError(f"There is no channel {channel_id}.", hint="GET /api/channels lists them.")
    return channel


def _final(session: Session, channel: Channel) -> Channel:
    seen = {channel.id}
    while channel.merged_into_id is not None and channel.merged_into_id not in seen:
        seen.add(channel.merged_into_id)
        channel = get_channel(session, channel.merged_into_id)
    return channel


def _audit(session: Session, action: str, actor: Actor, target: int, **details: object) -> None:
    record_audit(session, action, actor_user_id=actor.user_id, target_type="channel", target_id=target,
                 client_address=actor.address, details=dict(details))  # fmt: skip


def merge_channels(session: Session, source_id: int, target_id: int, *, actor: Actor, threshold: float) -> Channel:
    """Move every stream of ``source`` into ``target`` for good; ``source`` forwards future streams there."""
    source, target = get_channel(session, source_id), _final(session, get_channel(session, target_id))
    if _final(session, source).id == target.id:
        raise InputError(f"Channel {source_id} is already channel {target.id}.", hint="Pick two different channels.")
    source.merged_into_id = target.id
    session.execute(
        update(Stream)
        .where(Stream.channel_id == source.id)
        .values(
            channel_id=target.id,
            merge_pinned=True,
            merge_method="manual",
            merge_confidence=100.0,
            merge_reason=f"merged by an admin from channel {source.id}",
        )
        .execution_options(synchronize_session=False)
    )
    _audit(session, "channel.merge", actor, source.id, into=target.id)
    session.flush()
    merge_catalogue(session, threshold=threshold)
    return target


def split_streams(
    session: Session, channel_id: int, stream_ids: Sequence[int], *, actor: Actor, threshold: float
) -> Channel:
    """Take ``stream_ids`` out of the channel into a new channel of their own, kept apart on later merges."""
    channel = get_channel(session, channel_id)
    wanted = sorted(set(stream_ids))
    if not wanted:
        raise InputError("Name at least one stream to split off.", hint='Body: {"stream_ids": [1, 2]}.')
    streams = list(session.scalars(select(Stream).where(Stream.id.in_(wanted), Stream.removed_at.is_(None))))
    strangers = sorted(set(wanted) - {s.id for s in streams if s.channel_id == channel.id})
    if strangers:
        raise InputError(
            f"Stream(s) {', '.join(map(str, strangers))} are not live streams of channel {channel.id}.",
            hint=f"GET /api/channels/{channel.id}/streams lists its streams.",
        )
    name = normalize_name(streams[0].name)
    new = Channel(name=name.display[:255], normalized_name=name.key[:255], country=name.country,
                  region=name.region, variant=name.variant, manual=True, number=_next_number(session))  # fmt: skip
    session.add(new)
    session.flush()
    for stream in streams:
        stream.channel_id, stream.merge_pinned, stream.merge_method = new.id, True, "manual"
        stream.merge_confidence, stream.merge_reason = 100.0, f"split by an admin from channel {channel.id}"
    _audit(session, "channel.split", actor, channel.id, streams=wanted, into=new.id)
    session.flush()
    merge_catalogue(session, threshold=threshold)
    return new


def reset_channel(session: Session, channel_id: int, *, actor: Actor, threshold: float) -> Channel:
    """Undo the hand-made merges and splits of a channel: its pinned streams and the channels merged into it go
    back to automatic matching. Rules stay (delete them on their own)."""
    channel = get_channel(session, channel_id)
    connection = session.connection()  # core statements: their results carry the row counts
    unpinned = connection.execute(
        update(Stream).where(Stream.channel_id == channel.id, Stream.merge_pinned.is_(True)).values(merge_pinned=False)
    ).rowcount
    released = connection.execute(
        update(Channel).where(Channel.merged_into_id == channel.id).values(merged_into_id=None)
    ).rowcount
    channel.name_locked = False
    _audit(session, "channel.reset", actor, channel.id, unpinned=unpinned, released=released)
    session.flush()
    merge_catalogue(session, threshold=threshold)
    session.refresh(channel)
    return channel


def _next_number(session: Session) -> int:
    highest = session.scalar(select(func.max(Channel.number)))
    return (highest or 0) + 1


def set_channel_enabled(session: Session, channel_id: int, enabled: bool, *, actor: Actor) -> Channel:
    """A disabled channel stays merged and keeps its history, but leaves every output and the gateway."""
    channel = get_channel(session, channel_id)
    if channel.enabled != enabled:
        channel.enabled = enabled
        _audit(session, "channel.enable" if enabled else "channel.disable", actor, channel.id)
    return channel


def rename_channel(session: Session, channel_id: int, name: str, *, actor: Actor) -> Channel:
    """Give a channel the admin's name; later merges keep it (``reset`` gives the merge the name back)."""
    channel = get_channel(session, channel_id)
    name = " ".join(name.split())
    if not name or len(name) > 255:
        raise InputError("A channel name needs 1 to 255 characters.")
    _audit(session, "channel.rename", actor, channel.id, old=channel.name, new=name)
    channel.name, channel.name_locked = name, True
    return channel


def renumber_channel(session: Session, channel_id: int, number: int, *, actor: Actor) -> Channel:
    """Set the channel's number (``tvg-chno``, the tuner's GuideNumber); numbers are never reused by two channels."""
    channel = get_channel(session, channel_id)
    if number < 1 or number > 999_999:
        raise InputError("A channel number is between 1 and 999999.")
    holder = session.scalar(select(Channel.id).where(Channel.number == number, Channel.id != channel.id))
    if holder is not None:
        raise ConflictError(f"Channel {holder} has number {number} already.", hint="Renumber that one first.")
    _audit(session, "channel.renumber", actor, channel.id, old=channel.number, new=number)
    channel.number = number
    return channel


def list_rules(session: Session) -> list[MergeRule]:
    return list(session.scalars(select(MergeRule).order_by(MergeRule.id)))


def create_rule(
    session: Session,
    pattern: str,
    channel_id: int,
    *,
    kind: str = "glob",
    field: str = "name",
    provider_id: int | None = None,
    actor: Actor,
    threshold: float,
) -> MergeRule:
    """Store a rule (validated: pattern syntax, channel, provider) and merge again."""
    _check_rule(session, pattern, kind, field, provider_id)
    target = _final(session, get_channel(session, channel_id))
    rule = MergeRule(pattern=pattern, kind=kind, field=field, provider_id=provider_id, channel_id=target.id)
    session.add(rule)
    session.flush()
    _audit(session, "merge_rule.create", actor, target.id, rule=rule.id, pattern=pattern, kind=kind, field=field)
    merge_catalogue(session, threshold=threshold)
    return rule


def _check_rule(session: Session, pattern: str, kind: str, field: str, provider_id: int | None) -> None:
    if kind not in {"glob", "regex"}:
        raise InputError(f"Unknown rule kind {kind!r}.", hint="Use 'glob' (e.g. 'UK*Sky Sports 1*') or 'regex'.")
    if field not in {"name", "tvg_id"}:
        raise InputError(f"Unknown rule field {field!r}.", hint="Use 'name' or 'tvg_id'.")
    if not pattern.strip() or len(pattern) > MAX_PATTERN_LENGTH:
        raise InputError(f"A rule pattern needs 1 to {MAX_PATTERN_LENGTH} characters.")
    try:
        compile_pattern(pattern, kind)
    except re.error as exc:
        raise InputError(f"The pattern is not a valid regular expression: {exc}.") from exc
    if provider_id is not None and session.get(Provider, provider_id) is None:
        raise NotFoundError(f"There is no provider {provider_id}.")


def delete_rule(session: Session, rule_id: int, *, actor: Actor, threshold: float) -> None:
    rule = session.get(MergeRule, rule_id)
    if rule is None:
        raise NotFoundError(f"There is no merge rule {rule_id}.", hint="GET /api/merge-rules lists them.")
    _audit(session, "merge_rule.delete", actor, rule.channel_id, rule=rule.id, pattern=rule.pattern)
    session.delete(rule)
    session.flush()
    merge_catalogue(session, threshold=threshold)
