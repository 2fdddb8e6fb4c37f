"""Providers: CRUD, starting a sync, and the sync log."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from m3u_strm.api.deps import AdminUser, ClientAddress, EngineDep, SessionDep
from m3u_strm.api.schemas import ProviderCreate, ProviderPublic, ProviderSyncPublic, ProviderUpdate
from m3u_strm.db.models import Provider, ProviderSync
from m3u_strm.ingest import providers as provider_service
from m3u_strm.ingest.sync import begin_sync, run_sync
from m3u_strm.privacy.audit import record_audit

router = APIRouter(prefix="/api/providers", tags=["providers"])


def _public(provider: Provider) -> ProviderPublic:
    return ProviderPublic(**provider_service.public_view(provider))


@router.get("", response_model=list[ProviderPublic])
def read_providers(_: AdminUser, session: SessionDep) -> list[ProviderPublic]:
    return [_public(p) for p in provider_service.list_providers(session)]


@router.post("", response_model=ProviderPublic, status_code=201)
def create_provider(
    body: ProviderCreate, user: AdminUser, session: SessionDep, address: ClientAddress
) -> ProviderPublic:
    spec = provider_service.ProviderSpec(**body.model_dump())
    provider = provider_service.create_provider(session, spec, actor_user_id=user.id, client_address=address)
    return _public(provider)


@router.get("/{provider_id}", response_model=ProviderPublic)
def read_provider(provider_id: int, _: AdminUser, session: SessionDep) -> ProviderPublic:
    return _public(provider_service.get_provider(session, provider_id))


@router.patch("/{provider_id}", response_model=ProviderPublic)
def update_provider(
    provider_id: int, body: ProviderUpdate, user: AdminUser, session: SessionDep, address: ClientAddress
) -> ProviderPublic:
    provider = provider_service.get_provider(session, provider_id)
    spec = provider_service.ProviderSpec(**body.model_dump(exclude_unset=True))
    provider_service.update_provider(session, provider, spec, actor_user_id=user.id, client_address=address)
    return _public(provider)


@router.delete("/{provider_id}", status_code=204)
def delete_provider(provider_id: int, user: AdminUser, session: SessionDep, address: ClientAddress) -> Response:
    provider = provider_service.get_provider(session, provider_id)
    provider_service.delete_provider(session, provider, actor_user_id=user.id, client_address=address)
    return Response(status_code=204)


@router.post("/{provider_id}/sync", response_model=ProviderSyncPublic, status_code=202)
async def start_sync(
    provider_id: int,
    request: Request,
    response: Response,
    user: AdminUser,
    engine: EngineDep,
    address: ClientAddress,
    wait: Annotated[bool, Query(description="Wait for the sync to finish and return its result")] = False,
) -> ProviderSyncPublic:
    """Start a sync (202, poll ``/syncs``), or with ``wait=true`` run it and return the result (200).

    A second sync of the same provider while one runs is refused with 409.
    """
    ticket = begin_sync(engine, provider_id, trigger="api")
    _audit_sync(engine, user.id, provider_id, ticket.sync_id, address)
    task = asyncio.create_task(run_sync(engine, ticket, settings=request.app.state.settings))
    request.app.state.background_tasks.add(task)
    task.add_done_callback(request.app.state.background_tasks.discard)
    if wait:
        row = await task
        response.status_code = 200
        return ProviderSyncPublic.model_validate(row)
    with Session(engine) as session:
        return ProviderSyncPublic.model_validate(session.get_one(ProviderSync, ticket.sync_id))


def _audit_sync(engine: Engine, user_id: int, provider_id: int, sync_id: int, address: str | None) -> None:
    with Session(engine) as session, session.begin():
        record_audit(session, "provider.sync", actor_user_id=user_id, target_type="provider", target_id=provider_id,
                     client_address=address, details={"sync_id": sync_id})  # fmt: skip


@router.get("/{provider_id}/syncs", response_model=list[ProviderSyncPublic])
def read_provider_syncs(
    provider_id: int,
    _: AdminUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ProviderSyncPublic]:
    provider = provider_service.get_provider(session, provider_id)
    rows = session.scalars(
        select(ProviderSync)
        .where(ProviderSync.provider_id == provider.id)
        .order_by(ProviderSync.started_at.desc(), ProviderSync.id.desc())
        .limit(limit)
    )
    return [ProviderSyncPublic.model_validate(row) for row in rows]
