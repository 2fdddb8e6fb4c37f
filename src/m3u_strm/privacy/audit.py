"""The audit log: who changed what, and when. Details are redacted before they are stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from m3u_strm.db.models import AuditLog
from m3u_strm.privacy.redaction import redact


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in {"password", "token", "secret"}}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def record_audit(
    session: Session,
    action: str,
    *,
    actor_user_id: int | None = None,
    target_type: str | None = None,
    target_id: object = None,
    client_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one audit row (flushed with the caller's transaction)."""
    row = AuditLog(
        action=action,
        actor_user_id=actor_user_id,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        client_address=client_address,
        details=_clean(details or {}),
    )
    session.add(row)
    return row
