"""What a ``/play/<token>/...`` URL plays: the user, the content and its streams in the order to try them.

Every output (playlists, ``.strm`` files, the tuner) points here instead of at a provider, so provider URLs and
credentials stay in the database and a user's access is revoked by rotating their playback token. Resolution rules:

* the token must belong to an active user (else 401), checked first so a bad token never learns what exists;
* ``live/<channel>``: the channel must exist and be enabled (a channel an admin merged away forwards to its
  target); its active streams of enabled providers, best ranked first, are the candidates (failover walks them
  in order); none → 503 with the reason;
* ``stream/<id>``: that one stream of the multi-quality playlist, if still listed and its provider enabled;
* ``movie/<id>``, ``episode/<id>``: a VOD item still listed by an enabled provider.

How it plays (:attr:`Candidate.mode`): the provider's own ``playback_mode`` when set, else the global setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, literal, select

from m3u_strm.db.models import Channel, PlaybackToken, Provider, Stream, User, VodEpisode, VodMovie
from m3u_strm.errors import AuthenticationError, NoPlayableStreamError, NotFoundError

__all__ = [
    "KINDS", "Candidate", "ContentKind", "PlayKind", "PlayPlan", "PlaybackMode", "content_kind_of", "resolve_play",
    "token_user",
]  # fmt: skip

PlayKind = Literal["live", "stream", "movie", "episode"]
ContentKind = Literal["channel", "movie", "episode"]
PlaybackMode = Literal["proxy", "redirect"]

KINDS: tuple[PlayKind, ...] = ("live", "stream", "movie", "episode")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One upstream that can play the content. ``url`` is a secret: it may carry the provider's credentials."""

    url: str
    url_hash: str
    provider_id: int
    provider_name: str
    max_connections: int | None
    mode: PlaybackMode
    stream_id: int | None = None
    user_agent: str | None = None
    referrer: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {"User-Agent": self.user_agent} if self.user_agent else {}
        if self.referrer:
            headers["Referer"] = self.referrer
        return headers


@dataclass(frozen=True, slots=True)
class PlayPlan:
    """Who plays what, and the candidates in the order to try them (never empty)."""

    user_id: int
    kind: PlayKind
    content_id: int  # the channel (live and stream), movie or episode id
    title: str
    candidates: tuple[Candidate, ...]
    media_duration_s: float | None = None

    @property
    def content_kind(self) -> ContentKind:
        return content_kind_of(self.kind)

    @property
    def best(self) -> Candidate:
        return self.candidates[0]

    @property
    def is_live(self) -> bool:
        return self.kind in ("live", "stream")

    @property
    def share_key(self) -> tuple[str, int]:
        """Viewers with the same key share one upstream: a channel, or one chosen stream."""
        return (self.kind, self.best.stream_id if self.kind == "stream" and self.best.stream_id else self.content_id)


def content_kind_of(kind: str) -> ContentKind:
    """What a play kind records: ``live`` and ``stream`` are a channel; ``movie`` and ``episode`` themselves."""
    return "channel" if kind in ("live", "stream") else "movie" if kind == "movie" else "episode"


def _item_id(item: str) -> int:
    """``42``, or ``42.ts`` / ``42.m3u8`` / ``42.mkv`` as players like to append a container."""
    stem = item.split(".", 1)[0]
    if not stem.isdigit() or len(stem) > 18:
        raise NotFoundError(f"{item[:40]!r} is not an item of the catalogue.")
    return int(stem)


def resolve_play(
    connection: Connection,
    token: str,
    kind: str,
    item: str | int,
    *,
    default_mode: PlaybackMode = "proxy",
    user_id: int | None = None,
) -> PlayPlan:
    """The plan for one play request; see the module rules. ``user_id``: the token's user, already checked."""
    user_id = token_user(connection, token) if user_id is None else user_id
    if kind not in KINDS:
        raise NotFoundError(
            f"There is nothing of kind {kind[:20]!r} to play.", hint="Use live, stream, movie or episode."
        )
    item_id = item if isinstance(item, int) else _item_id(item)
    if kind == "live":
        channel_id, name = _enabled_channel(connection, item_id)
        candidates = _playable_streams(connection, channel_id, name, default_mode)
        return PlayPlan(user_id, "live", channel_id, name, candidates)
    if kind == "stream":
        candidate, channel_id, name = _listed_stream(connection, item_id, default_mode)
        return PlayPlan(user_id, "stream", channel_id, name, (candidate,))
    movie = kind == "movie"
    vod = _listed_vod(connection, VodMovie if movie else VodEpisode, item_id)
    if vod is None:
        raise NotFoundError(f"There is no {kind} {item_id} in the catalogue.", hint="Regenerate your .strm files.")
    candidate = Candidate(
        vod.url, vod.url_hash, vod.provider_id, vod.provider_name, vod.max_connections,
        _mode(vod.playback_mode, default_mode), user_agent=vod.provider_agent,
    )  # fmt: skip
    duration = None if movie or not vod.duration else float(vod.duration)
    return PlayPlan(user_id, "movie" if movie else "episode", item_id, vod.name, (candidate,), duration)


def token_user(connection: Connection, token: str) -> int:
    """The active user owning ``token`` (one query; the same answers as ``resolve_playback_token``)."""
    row = connection.execute(
        select(PlaybackToken.revoked_at, User.id, User.is_active)
        .outerjoin(User, User.id == PlaybackToken.user_id)
        .where(PlaybackToken.token == token)
    ).first()
    if row is None or row.revoked_at is not None:
        raise AuthenticationError("The playback token is invalid or revoked.")
    if row.id is None or not row.is_active:
        raise AuthenticationError("The playback token's user no longer exists or is disabled.")
    user_id: int = row.id
    return user_id


def _mode(playback_mode: str | None, default: PlaybackMode) -> PlaybackMode:
    return "redirect" if playback_mode == "redirect" else "proxy" if playback_mode else default


#: The columns a candidate needs: no ORM objects (a stream row carries JSON columns the gateway never reads).
_CANDIDATE_COLUMNS = (
    Stream.id, Stream.url, Stream.url_hash, Stream.user_agent, Stream.referrer, Provider.id.label("provider_id"),
    Provider.name.label("provider_name"), Provider.max_connections, Provider.playback_mode,
    Provider.user_agent.label("provider_agent"),
)  # fmt: skip


def _candidate(row: Any, default_mode: PlaybackMode) -> Candidate:  # a Row of _CANDIDATE_COLUMNS
    return Candidate(
        row.url, row.url_hash, row.provider_id, row.provider_name, row.max_connections,
        _mode(row.playback_mode, default_mode), row.id, row.user_agent or row.provider_agent, row.referrer,
    )  # fmt: skip


def _listed_vod(connection: Connection, model: type[VodMovie | VodEpisode], item_id: int) -> Any:
    """A row (url, url_hash, name, duration and the provider's columns) of a listed movie or episode, or ``None``."""
    duration = VodEpisode.duration_secs if model is VodEpisode else literal(None)
    columns = (
        model.url, model.url_hash, model.name, duration.label("duration"), Provider.id.label("provider_id"),
        Provider.name.label("provider_name"), Provider.max_connections, Provider.playback_mode,
        Provider.user_agent.label("provider_agent"),
    )  # fmt: skip
    query = (
        select(*columns)
        .join(Provider, Provider.id == model.provider_id)
        .where(model.id == item_id, model.removed_at.is_(None), Provider.enabled.is_(True))
    )
    return connection.execute(query).first()


def _enabled_channel(connection: Connection, channel_id: int) -> tuple[int, str]:
    """The channel's id and name, following admin merges to their target."""
    query = select(Channel.id, Channel.name, Channel.enabled, Channel.merged_into_id)
    row = connection.execute(query.where(Channel.id == channel_id)).first()
    seen: set[int] = set()
    while row is not None and row.merged_into_id is not None and row.id not in seen:
        seen.add(row.id)
        row = connection.execute(query.where(Channel.id == row.merged_into_id)).first()
    if row is None:
        raise NotFoundError(f"There is no channel {channel_id}.", hint="Refresh your playlist.")
    if not row.enabled:
        raise NotFoundError(f"Channel {channel_id} is disabled.", hint="An admin can enable it again.")
    return row.id, row.name


def _playable_streams(
    connection: Connection, channel_id: int, name: str, default_mode: PlaybackMode
) -> tuple[Candidate, ...]:
    rows = connection.execute(
        select(*_CANDIDATE_COLUMNS)
        .join(Provider, Provider.id == Stream.provider_id)
        .where(
            Stream.channel_id == channel_id,
            Stream.removed_at.is_(None),
            Stream.is_active.is_(True),
            Provider.enabled.is_(True),
        )
        .order_by(Stream.rank.is_(None), Stream.rank, Stream.id)
    ).all()
    if not rows:
        raise NoPlayableStreamError(
            f"Channel {name!r} has no active stream right now.",
            hint="Its streams are gone from the providers' catalogues, marked down by health checks, "
            "or their providers are disabled.",
        )
    return tuple(_candidate(row, default_mode) for row in rows)


def _listed_stream(connection: Connection, stream_id: int, default_mode: PlaybackMode) -> tuple[Candidate, int, str]:
    row = connection.execute(
        select(*_CANDIDATE_COLUMNS, Channel.id.label("channel_id"), Channel.name.label("channel_name"))
        .join(Provider, Provider.id == Stream.provider_id)
        .join(Channel, Channel.id == Stream.channel_id)
        .where(
            Stream.id == stream_id, Stream.removed_at.is_(None), Provider.enabled.is_(True), Channel.enabled.is_(True)
        )
    ).first()
    if row is None:
        raise NotFoundError(f"There is no stream {stream_id} in the catalogue.", hint="Refresh your playlist.")
    return _candidate(row, default_mode), row.channel_id, row.channel_name
