"""Merged channels: browse them (any user), and the admin's manual merge, split, disable and merge rules."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from m3u_strm.api.deps import AdminUser, ClientAddress, CurrentUser, SessionDep, SettingsDep
from m3u_strm.api.schemas import (
    ChannelPage,
    ChannelPublic,
    ChannelUpdate,
    MergeDetailsPublic,
    MergeRuleCreate,
    MergeRulePublic,
    SplitRequest,
    StreamPublic,
)
from m3u_strm.catalog import channels as catalogue
from m3u_strm.catalog import overrides
from m3u_strm.catalog.overrides import Actor

router = APIRouter(prefix="/api/channels", tags=["channels"])
rules_router = APIRouter(prefix="/api/merge-rules", tags=["channels"])


@router.get("", response_model=ChannelPage)
def read_channels(
    _: CurrentUser,
    session: SessionDep,
    search: Annotated[str | None, Query(max_length=200)] = None,
    category: Annotated[str | None, Query(max_length=255)] = None,
    include_empty: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ChannelPage:
    total, items = catalogue.list_channels(
        session, search=search, category=category, include_empty=include_empty, limit=limit, offset=offset
    )
    return ChannelPage(total=total, limit=limit, offset=offset, items=[ChannelPublic(**item) for item in items])


@router.get("/{channel_id}", response_model=ChannelPublic)
def read_channel(channel_id: int, _: CurrentUser, session: SessionDep) -> ChannelPublic:
    return ChannelPublic(**catalogue.channel_detail(session, channel_id))


@router.patch("/{channel_id}", response_model=ChannelPublic)
def update_channel(
    channel_id: int, body: ChannelUpdate, user: AdminUser, session: SessionDep, address: ClientAddress
) -> ChannelPublic:
    """Enable or disable a channel, rename it (the name then survives merges) or renumber it."""
    actor = Actor(user.id, address)
    if body.enabled is not None:
        overrides.set_channel_enabled(session, channel_id, body.enabled, actor=actor)
    if body.name is not None:
        overrides.rename_channel(session, channel_id, body.name, actor=actor)
    if body.number is not None:
        overrides.renumber_channel(session, channel_id, body.number, actor=actor)
    return ChannelPublic(**catalogue.channel_detail(session, channel_id))


@router.get("/{channel_id}/streams", response_model=list[StreamPublic])
def read_channel_streams(channel_id: int, _: AdminUser, session: SessionDep) -> list[dict[str, Any]]:
    return catalogue.channel_streams(session, channel_id)


@router.get("/{channel_id}/merge-details", response_model=MergeDetailsPublic)
def read_merge_details(channel_id: int, _: AdminUser, session: SessionDep) -> dict[str, Any]:
    return catalogue.merge_details(session, channel_id)


@router.post("/{channel_id}/merge-with/{target_id}", response_model=ChannelPublic)
def merge_channel(
    channel_id: int, target_id: int, user: AdminUser, session: SessionDep, settings: SettingsDep,
    address: ClientAddress,
) -> ChannelPublic:  # fmt: skip
    """Move every stream of this channel into ``target_id`` for good (it survives re-syncs)."""
    target = overrides.merge_channels(session, channel_id, target_id, actor=Actor(user.id, address),
                                      threshold=settings.merge_fuzzy_threshold)  # fmt: skip
    return ChannelPublic(**catalogue.channel_detail(session, target.id))


@router.post("/{channel_id}/split", response_model=ChannelPublic, status_code=201)
def split_channel(
    channel_id: int, body: SplitRequest, user: AdminUser, session: SessionDep, settings: SettingsDep,
    address: ClientAddress,
) -> ChannelPublic:  # fmt: skip
    """Move the given streams into a new channel of their own; later merges keep them there."""
    new = overrides.split_streams(session, channel_id, body.stream_ids, actor=Actor(user.id, address),
                                  threshold=settings.merge_fuzzy_threshold)  # fmt: skip
    return ChannelPublic(**catalogue.channel_detail(session, new.id))


@router.post("/{channel_id}/reset", response_model=ChannelPublic)
def reset_channel(
    channel_id: int, user: AdminUser, session: SessionDep, settings: SettingsDep, address: ClientAddress
) -> ChannelPublic:
    """Undo manual merges and splits of this channel: its streams go back to automatic matching."""
    channel = overrides.reset_channel(
        session, channel_id, actor=Actor(user.id, address), threshold=settings.merge_fuzzy_threshold
    )
    return ChannelPublic(**catalogue.channel_detail(session, channel.id))


@rules_router.get("", response_model=list[MergeRulePublic])
def read_merge_rules(_: AdminUser, session: SessionDep) -> list[MergeRulePublic]:
    return [MergeRulePublic.model_validate(rule) for rule in overrides.list_rules(session)]


@rules_router.post("", response_model=MergeRulePublic, status_code=201)
def create_merge_rule(
    body: MergeRuleCreate, user: AdminUser, session: SessionDep, settings: SettingsDep, address: ClientAddress
) -> MergeRulePublic:
    rule = overrides.create_rule(
        session, body.pattern, body.channel_id, kind=body.kind, field=body.field, provider_id=body.provider_id,
        actor=Actor(user.id, address), threshold=settings.merge_fuzzy_threshold,
    )  # fmt: skip
    return MergeRulePublic.model_validate(rule)


@rules_router.delete("/{rule_id}", status_code=204)
def delete_merge_rule(
    rule_id: int, user: AdminUser, session: SessionDep, settings: SettingsDep, address: ClientAddress
) -> Response:
    overrides.delete_rule(session, rule_id, actor=Actor(user.id, address), threshold=settings.merge_fuzzy_threshold)
    return Response(status_code=204)
