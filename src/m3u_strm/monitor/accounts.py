"""When streams answer 401/403, is it the streams or the account? Ask the provider once per run.

A health check that meets ``auth_failed`` on a provider's stream asks that provider's account (Xtream:
``player_api.php`` authentication) once per run:

* the account is rejected (``auth: 0``, expired, disabled, 401/403 on the API) → the provider is flagged
  (``account_status = "auth_failed"``) and its streams' ``auth_failed`` results are not counted against them —
  one bad account must not deactivate a whole catalogue;
* the account is fine → the 401/403 is the stream's own, and it counts like any failure;
* no account to ask (M3U providers) → the result counts.

An account check that cannot reach the provider does not count the streams' results either (it cannot tell).
"""

from __future__ import annotations

import logging
from enum import Enum

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from m3u_strm.config import Settings
from m3u_strm.db.models import Provider
from m3u_strm.errors import M3UStrmError, ProviderAuthError
from m3u_strm.ingest.fetch import provider_client
from m3u_strm.ingest.xtream import XtreamClient

__all__ = ["AccountVerdict", "judge_account"]

log = logging.getLogger(__name__)


class AccountVerdict(Enum):
    REJECTED = "rejected"  # flag the provider; don't count the streams' auth failures
    FINE = "fine"  # the streams' own failure: count it
    UNREACHABLE = "unreachable"  # cannot tell: don't count
    NO_ACCOUNT = "no_account"  # M3U: nothing to ask; count it

    @property
    def counts_against_streams(self) -> bool:
        return self in (AccountVerdict.FINE, AccountVerdict.NO_ACCOUNT)


async def judge_account(engine: Engine, settings: Settings, provider_id: int) -> AccountVerdict:
    """Ask the provider's account and flag the provider when it is rejected; see the module docstring."""
    with Session(engine) as session:
        provider = session.get(Provider, provider_id)
        if provider is None or provider.kind != "xtream":
            return AccountVerdict.NO_ACCOUNT
        name, url = provider.name, provider.url or ""
        username, password = provider.username or "", provider.password or ""
    async with provider_client(settings) as http:
        client = XtreamClient(http, url, username, password, source=name, retries=1,
                              max_retry_after=settings.fetch_max_retry_after_seconds)  # fmt: skip
        try:
            await client.authenticate()
        except ProviderAuthError as exc:
            _flag(engine, provider_id, str(exc))
            return AccountVerdict.REJECTED
        except M3UStrmError as exc:
            log.warning("account check of provider %s failed: %s", name, exc)
            return AccountVerdict.UNREACHABLE
    _flag(engine, provider_id, None)
    return AccountVerdict.FINE


def _flag(engine: Engine, provider_id: int, problem: str | None) -> None:
    with Session(engine) as session, session.begin():
        provider = session.get_one(Provider, provider_id)
        if problem is not None:
            provider.account_status = "auth_failed"
            log.warning("provider %s: account rejected during health checks: %s", provider.name, problem)
        elif provider.account_status == "auth_failed":
            provider.account_status = "Active"
