"""The fake Xtream/M3U provider on 127.0.0.1 for ingest tests (one server per session, faults reset per test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from m3u_strm.demo.catalogue import build_catalogue
from m3u_strm.demo.fake_provider import FakeProviderServer

#: Credentials the leak tests look for: no error message, repr or log line may contain them.
PROVIDER_USERNAME = "leakcheck-user"
PROVIDER_PASSWORD = "Leak-Pa55word-7q"


@pytest.fixture(scope="session")
def provider_server() -> Iterator[FakeProviderServer]:
    """A small catalogue (60 live, 20 movies, 4 series) behind the fake provider, for the whole session."""
    catalogue = build_catalogue(live=60, movies=20, series=4, episodes_per_series=5, seed=5)
    with FakeProviderServer(catalogue, username=PROVIDER_USERNAME, password=PROVIDER_PASSWORD) as server:
        yield server


@pytest.fixture
def fake_provider(provider_server: FakeProviderServer) -> Iterator[FakeProviderServer]:
    """The session's fake provider with every fault off (and off again after the test)."""
    provider_server.faults.reset()
    yield provider_server
    provider_server.faults.reset()
