"""The demo a new user sees on ``make run``: a loopback fake provider, added and synced, and an admin account.

It starts only while no provider of the user's own exists. The fake provider lives inside the server process on a
random loopback port; on every start its provider row is pointed at the new port.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from m3u_strm.accounts.users import count_admins, create_user
from m3u_strm.config import Settings
from m3u_strm.db.models import Provider, Setting
from m3u_strm.demo.catalogue import build_catalogue
from m3u_strm.demo.server import FakeProviderServer
from m3u_strm.ingest.providers import ProviderSpec, create_provider

DEMO_SETTING = "demo"
DEMO_PROVIDER = "Demo Provider"
DEMO_ADMIN = "admin"


@dataclass
class DemoHandle:
    server: FakeProviderServer
    provider_id: int
    admin_password: str | None  # set only when this start created the admin account

    def stop(self) -> None:
        self.server.stop()


def _demo_provider_id(session: Session) -> int | None:
    row = session.get(Setting, DEMO_SETTING)
    value = row.value.get("provider_id") if row else None
    return int(value) if isinstance(value, int) else None


def demo_wanted(engine: Engine, settings: Settings) -> bool:
    """True when the demo should run: enabled, and no provider other than the demo's own exists."""
    if not settings.demo:
        return False
    with Session(engine) as session:
        demo_id = _demo_provider_id(session)
        others = session.scalars(select(Provider.id).where(Provider.id != (demo_id or -1))).first()
        return others is None


def start_demo(engine: Engine, settings: Settings) -> DemoHandle:
    """Serve the fake provider on loopback and make sure the demo provider and an admin exist."""
    # A random username: a registered secret is masked everywhere, and "demo" would mask every mention of the demo.
    server = FakeProviderServer(
        build_catalogue(live=settings.demo_channels, seed=7),
        username=f"viewer-{secrets.token_hex(4)}",
        password=secrets.token_hex(12),
    )
    server.start()
    password: str | None = None
    with Session(engine) as session, session.begin():
        provider_id = _demo_provider_id(session)
        provider = session.get(Provider, provider_id) if provider_id else None
        if provider is None:
            spec = ProviderSpec(name=DEMO_PROVIDER, kind="xtream", url=server.base_url, username=server.username,
                                password=server.password, priority=0)  # fmt: skip
            provider = create_provider(session, spec)
            session.merge(Setting(key=DEMO_SETTING, value={"provider_id": provider.id}))
        provider.url = server.base_url
        provider.username = server.username
        provider.password = server.password
        provider.sync_lock = None
        if count_admins(session) == 0:
            password = secrets.token_urlsafe(15)
            create_user(session, DEMO_ADMIN, password, role="admin")
        provider_id = provider.id
    return DemoHandle(server, provider_id, password)
