"""The API fixtures (the real app, an admin and a viewer) for the monitoring tests that drive the HTTP routes."""

from tests.api.conftest import admin, app, client, viewer  # noqa: F401
