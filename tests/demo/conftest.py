"""A running fake provider for the demo package's own tests (faults and the live clock reset around each test)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from m3u_strm.demo.catalogue import FakeCatalogue, build_catalogue
from m3u_strm.demo.fake_provider import FakeProviderServer

DEMO_USERNAME = "demo-tester"
DEMO_PASSWORD = "Demo-Pa55-xyz"


@pytest.fixture(scope="session")
def demo_catalogue() -> FakeCatalogue:
    return build_catalogue(live=40, movies=12, series=3, episodes_per_series=4, seed=2)


@pytest.fixture(scope="session")
def demo_server(demo_catalogue: FakeCatalogue) -> Iterator[FakeProviderServer]:
    with FakeProviderServer(demo_catalogue, username=DEMO_USERNAME, password=DEMO_PASSWORD) as server:
        yield server


@pytest.fixture
def demo(demo_server: FakeProviderServer, demo_catalogue: FakeCatalogue) -> Iterator[FakeProviderServer]:
    """The session's server with no faults, its original catalogue and the wall clock."""
    demo_server.faults.reset()
    demo_server.catalogue = demo_catalogue
    demo_server.provider.clock = time.time
    yield demo_server
    demo_server.faults.reset()
    demo_server.catalogue = demo_catalogue
    demo_server.provider.clock = time.time
