"""Provider records: create, change, remove, look up — with their credentials registered as secrets at once."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from m3u_strm.catalog.merge import merge_catalogue
from m3u_strm.config import get_settings
from m3u_strm.db.models import Provider
from m3u_strm.errors import ConflictError, InputError, NotFoundError
from m3u_strm.privacy.audit import record_audit
from m3u_strm.privacy.redaction import MASK, redact, register_secret

ProviderKind = Literal["m3u", "xtream"]


@dataclass
class ProviderSpec:
    """What an admin says about a provider. ``None`` in an update means 'leave as it is'."""

    name: str | None = None
    kind: ProviderKind | None = None
    url: str | None = None
    username: str | None = None
    password: str | None = None
    epg_url: str | None = None
    priority: int | None = None
    max_connections: int | None = None
    user_agent: str | None = None
    sync_interval_minutes: int | None = None
    enabled: bool | None = None


def register_provider_secrets(provider: Provider) -> None:
    register_secret(provider.username, provider.password)


def load_provider_secrets(session: Session) -> None:
    """Register every stored provider credential with the redactor (run at start-up)."""
    for provider in session.scalars(select(Provider)):
        register_provider_secrets(provider)


def _check_url(value: str, *, what: str, allow_path: bool) -> None:
    parts = urlsplit(value)
    if parts.scheme in {"http", "https"} and parts.netloc:
        return
    if allow_path and (parts.scheme in {"", "file"} or len(parts.scheme) == 1):  # 1 letter: a Windows drive
        path = Path(parts.path if parts.scheme == "file" else value).expanduser()
        if not path.is_file():
            raise InputError(f"The {what} file {str(path)!r} does not exist.", hint="Give an existing path or a URL.")
        return
    raise InputError(
        f"The {what} {redact(value)!r} is not an http(s) URL{' or a file path' if allow_path else ''}.",
        hint="Example: http://provider.example:8080",
    )


def _validate(spec: ProviderSpec) -> None:
    if not spec.name or not spec.name.strip() or len(spec.name) > 120:
        raise InputError("A provider needs a name of 1-120 characters.")
    if spec.kind not in ("m3u", "xtream"):
        raise InputError(f"Unknown provider kind {spec.kind!r}.", hint="Use 'm3u' or 'xtream'.")
    if not spec.url:
        raise InputError(
            "An M3U provider needs a playlist URL or file."
            if spec.kind == "m3u"
            else "An Xtream provider needs a host.",
        )
    _check_url(spec.url, what="playlist" if spec.kind == "m3u" else "Xtream host", allow_path=spec.kind == "m3u")
    if spec.kind == "xtream" and not (spec.username and spec.password):
        raise InputError("An Xtream provider needs a username and a password.")
    if spec.epg_url:
        _check_url(spec.epg_url, what="EPG URL", allow_path=True)
    if spec.max_connections is not None and spec.max_connections < 1:
        raise InputError("max_connections must be at least 1.")
    if spec.sync_interval_minutes is not None and spec.sync_interval_minutes < 5:
        raise InputError("The sync interval must be at least 5 minutes.")


def _merged_spec(provider: Provider | None, spec: ProviderSpec) -> ProviderSpec:
    if provider is None:
        return spec
    merged = ProviderSpec(**{f.name: getattr(provider, f.name) for f in fields(ProviderSpec)})
    for f in fields(ProviderSpec):
        value = getattr(spec, f.name)
        if value is not None:
            setattr(merged, f.name, value)
    return merged


def create_provider(
    session: Session, spec: ProviderSpec, *, actor_user_id: int | None = None, client_address: str | None = None
) -> Provider:
    _validate(spec)
    assert spec.name is not None
    spec.name = spec.name.strip()
    if find_provider(session, spec.name) is not None:
        raise ConflictError(f"A provider named {spec.name!r} already exists.", hint="Pick another name.")
    values = {f.name: getattr(spec, f.name) for f in fields(ProviderSpec) if getattr(spec, f.name) is not None}
    provider = Provider(**values)
    register_provider_secrets(provider)
    session.add(provider)
    session.flush()
    record_audit(
        session, "provider.create", actor_user_id=actor_user_id, target_type="provider", target_id=provider.id,
        client_address=client_address, details={"name": provider.name, "kind": provider.kind},
    )  # fmt: skip
    return provider


def update_provider(
    session: Session,
    provider: Provider,
    spec: ProviderSpec,
    *,
    actor_user_id: int | None = None,
    client_address: str | None = None,
) -> Provider:
    merged = _merged_spec(provider, spec)
    _validate(merged)
    if merged.name != provider.name and find_provider(session, merged.name or "") is not None:
        raise ConflictError(f"A provider named {merged.name!r} already exists.")
    changed = [f.name for f in fields(ProviderSpec) if getattr(spec, f.name) is not None]
    for name in changed:
        setattr(provider, name, getattr(merged, name))
    register_provider_secrets(provider)
    record_audit(
        session, "provider.update", actor_user_id=actor_user_id, target_type="provider", target_id=provider.id,
        client_address=client_address, details={"changed": changed},
    )  # fmt: skip
    if "priority" in changed:  # priority breaks ties between streams: rank every channel again
        session.flush()
        merge_catalogue(session, threshold=get_settings().merge_fuzzy_threshold)
    return provider


def delete_provider(
    session: Session, provider: Provider, *, actor_user_id: int | None = None, client_address: str | None = None
) -> None:
    """Remove a provider with its catalogue and sync log; refused while one of its syncs runs."""
    if provider.sync_lock is not None:
        raise ConflictError(
            f"Provider {provider.name!r} is syncing right now.", hint="Remove it when the sync has finished."
        )
    record_audit(
        session, "provider.delete", actor_user_id=actor_user_id, target_type="provider", target_id=provider.id,
        client_address=client_address, details={"name": provider.name},
    )  # fmt: skip
    session.delete(provider)


def find_provider(session: Session, name: str) -> Provider | None:
    return session.scalars(select(Provider).where(func.lower(Provider.name) == name.lower())).first()


def get_provider(session: Session, ref: int | str) -> Provider:
    """A provider by id or by name."""
    provider = session.get(Provider, int(ref)) if str(ref).isdigit() else None
    provider = provider or find_provider(session, str(ref))
    if provider is None:
        raise NotFoundError(f"No provider {ref!r}.", hint="List providers with `m3u-strm provider list`.")
    return provider


def list_providers(session: Session) -> list[Provider]:
    return list(session.scalars(select(Provider).order_by(Provider.priority.desc(), Provider.name)))


def public_view(provider: Provider) -> dict[str, Any]:
    """A provider as shown to people: credentials masked, URLs redacted."""
    return {
        "id": provider.id,
        "name": provider.name,
        "kind": provider.kind,
        "url": redact(provider.url or ""),
        "username": MASK if provider.username else None,
        "password": MASK if provider.password else None,
        "epg_url": redact(provider.epg_url) if provider.epg_url else None,
        "priority": provider.priority,
        "max_connections": provider.max_connections,
        "user_agent": provider.user_agent,
        "sync_interval_minutes": provider.sync_interval_minutes,
        "enabled": provider.enabled,
        "account_status": provider.account_status,
        "account_expires_at": provider.account_expires_at,
        "last_sync_at": provider.last_sync_at,
        "last_sync_status": provider.last_sync_status,
        "last_success_at": provider.last_success_at,
        "created_at": provider.created_at,
    }
