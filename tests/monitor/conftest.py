"""Fixtures of the monitoring tests: the API ones (the real app, an admin and a viewer) for the tests that drive the
HTTP routes, and the loopback health server the checker and transport tests share."""

from collections.abc import Iterator

import pytest

from m3u_strm.demo.fake_provider import FakeProviderServer
from tests.api.conftest import admin, app, client, viewer  # noqa: F401
from tests.monitor.health_server import HealthServerState, serve_health_app


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeProviderServer, HealthServerState]]:
    with serve_health_app() as pair:
        yield pair


@pytest.fixture
def base(served: tuple[FakeProviderServer, HealthServerState]) -> str:
    return served[0].base_url
