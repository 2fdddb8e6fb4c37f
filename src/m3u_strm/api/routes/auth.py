"""Login, the current user, personal API tokens and the playback token."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from m3u_strm.accounts import tokens
from m3u_strm.accounts.ratelimit import login_keys
from m3u_strm.accounts.users import authenticate
from m3u_strm.api.deps import ClientAddress, CurrentUser, LoginLimiterDep, SessionDep, SettingsDep
from m3u_strm.api.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenPublic,
    PlaybackTokenPublic,
    TokenPublic,
    UserPublic,
)
from m3u_strm.errors import AuthenticationError
from m3u_strm.privacy.audit import record_audit

router = APIRouter(prefix="/api/auth", tags=["auth"])
log = logging.getLogger(__name__)


@router.post("/token", response_model=TokenPublic)
def login_for_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    limiter: LoginLimiterDep,
    address: ClientAddress,
) -> TokenPublic:
    keys = login_keys(address, form.username)
    limiter.check(keys)
    try:
        user = authenticate(session, form.username, form.password)
    except AuthenticationError:
        limiter.record_failure(keys)
        log.warning("failed login for user %r from %s", form.username, address)
        raise
    limiter.reset(keys)
    issued = tokens.issue_token(
        session, user, kind=tokens.SESSION, lifetime=timedelta(minutes=settings.access_token_minutes)
    )
    record_audit(session, "auth.login", actor_user_id=user.id, target_type="user", target_id=user.id,
                 client_address=address)  # fmt: skip
    return TokenPublic(access_token=issued.token, expires_at=issued.record.expires_at)


@router.get("/me", response_model=UserPublic)
def read_me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)


@router.get("/tokens", response_model=list[ApiTokenPublic])
def read_tokens(user: CurrentUser, session: SessionDep) -> list[ApiTokenPublic]:
    return [ApiTokenPublic.model_validate(t) for t in tokens.list_tokens(session, user)]


@router.post("/tokens", response_model=ApiTokenCreated, status_code=201)
def create_token(
    body: ApiTokenCreate, user: CurrentUser, session: SessionDep, address: ClientAddress
) -> ApiTokenCreated:
    issued = tokens.issue_token(session, user, kind=tokens.PERSONAL, name=body.name)
    record_audit(session, "token.create", actor_user_id=user.id, target_type="api_token", target_id=issued.record.id,
                 client_address=address, details={"name": body.name})  # fmt: skip
    public = ApiTokenPublic.model_validate(issued.record)
    return ApiTokenCreated(**public.model_dump(), token=issued.token)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: int, user: CurrentUser, session: SessionDep, address: ClientAddress) -> None:
    tokens.revoke_token(session, user, token_id)
    record_audit(session, "token.revoke", actor_user_id=user.id, target_type="api_token", target_id=token_id,
                 client_address=address)  # fmt: skip


@router.get("/playback-token", response_model=PlaybackTokenPublic)
def read_playback_token(user: CurrentUser, session: SessionDep) -> PlaybackTokenPublic:
    record = tokens.playback_token(session, user)
    return PlaybackTokenPublic(token=record.token, created_at=record.created_at)


@router.post("/playback-token/rotate", response_model=PlaybackTokenPublic)
def rotate_playback_token(user: CurrentUser, session: SessionDep, address: ClientAddress) -> PlaybackTokenPublic:
    record = tokens.rotate_playback_token(session, user)
    record_audit(session, "playback_token.rotate", actor_user_id=user.id, target_type="user", target_id=user.id,
                 client_address=address)  # fmt: skip
    return PlaybackTokenPublic(token=record.token, created_at=record.created_at)
