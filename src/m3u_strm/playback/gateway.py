"""The playback gateway, minimal form: a ``/play/<token>/...`` URL becomes a redirect to the best stream.

Every output (playlists, ``.strm`` files, the tuner) points here instead of at a provider, so provider URLs and
credentials stay in the database and a user's access is revoked by rotating their playback token. The playback
issue turns this into the proxy with viewing sessions, connection limits and failover; the resolution rules stay:

* the token must belong to an active user (else 401);
* ``live/<channel>``: the channel must exist and be enabled (a channel an admin merged away forwards to its
  target); its best-ranked active stream of an enabled provider wins; none → 503 with the reason;
* ``stream/<id>``: one stream of the multi-quality playlist, if it is still listed and its provider enabled;
* ``movie/<id>``, ``episode/<id>``: a VOD item that is still listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from m3u_strm.accounts.tokens import resolve_playback_token
from m3u_strm.db.models import Channel, Provider, Stream, VodEpisode, VodMovie
from m3u_strm.errors import NoPlayableStreamError, NotFoundError

__all__ = ["ContentKind", "PlayTarget", "resolve_play"]

ContentKind = Literal["live", "stream", "movie", "episode"]
Vod = TypeVar("Vod", VodMovie, VodEpisode)


@dataclass(frozen=True, slots=True)
class PlayTarget:
    url: str  # secret: the provider's URL
    user_id: int
    kind: ContentKind
    item_id: int
    provider_id: int
    stream_id: int | None = None


KINDS: tuple[ContentKind, ...] = ("live", "stream", "movie", "episode")


def _item_id(item: str) -> int:
    """``42``, or ``42.ts`` / ``42.m3u8`` / ``42.mkv`` as players like to append a container."""
    stem = item.split(".", 1)[0]
    if not stem.isdigit() or len(stem) > 18:
        raise NotFoundError(f"{item[:40]!r} is not an item of the catalogue.")
    return int(stem)


def resolve_play(session: Session, token: str, kind: str, item: str | int) -> PlayTarget:
    """The URL to play; the token is checked first, so a bad token never learns what exists."""
    user = resolve_playback_token(session, token)
    if kind not in KINDS:
        raise NotFoundError(
            f"There is nothing of kind {kind[:20]!r} to play.", hint="Use live, stream, movie or episode."
        )
    item_id = item if isinstance(item, int) else _item_id(item)
    if kind == "live":
        stream = _best_stream(session, _enabled_channel(session, item_id))
        return PlayTarget(stream.url, user.id, "live", item_id, stream.provider_id, stream.id)
    if kind == "stream":
        stream = _listed_stream(session, item_id)
        return PlayTarget(stream.url, user.id, "stream", item_id, stream.provider_id, stream.id)
    vod = _listed_vod(session, VodMovie, item_id) if kind == "movie" else _listed_vod(session, VodEpisode, item_id)
    if vod is None:
        raise NotFoundError(f"There is no {kind} {item_id} in the catalogue.", hint="Regenerate your .strm files.")
    return PlayTarget(vod.url, user.id, "movie" if kind == "movie" else "episode", item_id, vod.provider_id)


def _listed_vod(session: Session, model: type[Vod], item_id: int) -> Vod | None:
    query = (
        select(model)
        .join(Provider, Provider.id == model.provider_id)
        .where(model.id == item_id, model.removed_at.is_(None), Provider.enabled.is_(True))
    )
    return session.scalars(query).first()


def _enabled_channel(session: Session, channel_id: int) -> Channel:
    channel = session.get(Channel, channel_id)
    seen: set[int] = set()
    while channel is not None and channel.merged_into_id is not None and channel.id not in seen:
        seen.add(channel.id)
        channel = session.get(Channel, channel.merged_into_id)
    if channel is None:
        raise NotFoundError(f"There is no channel {channel_id}.", hint="Refresh your playlist.")
    if not channel.enabled:
        raise NotFoundError(f"Channel {channel_id} is disabled.", hint="An admin can enable it again.")
    return channel


def _best_stream(session: Session, channel: Channel) -> Stream:
    stream = session.scalars(
        select(Stream)
        .join(Provider, Provider.id == Stream.provider_id)
        .where(
            Stream.channel_id == channel.id,
            Stream.removed_at.is_(None),
            Stream.is_active.is_(True),
            Provider.enabled.is_(True),
        )
        .order_by(Stream.rank.is_(None), Stream.rank, Stream.id)
        .limit(1)
    ).first()
    if stream is None:
        raise NoPlayableStreamError(
            f"Channel {channel.name!r} has no active stream right now.",
            hint="Its streams are gone from the providers' catalogues, marked down by health checks, "
            "or their providers are disabled.",
        )
    return stream


def _listed_stream(session: Session, stream_id: int) -> Stream:
    stream = session.scalars(
        select(Stream)
        .join(Provider, Provider.id == Stream.provider_id)
        .join(Channel, Channel.id == Stream.channel_id)
        .where(
            Stream.id == stream_id, Stream.removed_at.is_(None), Provider.enabled.is_(True), Channel.enabled.is_(True)
        )
    ).first()
    if stream is None:
        raise NotFoundError(f"There is no stream {stream_id} in the catalogue.", hint="Refresh your playlist.")
    return stream
