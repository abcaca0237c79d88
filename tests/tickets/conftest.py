from collections.abc import AsyncIterator

import pytest

from services.common.settings import Settings
from services.tickets.service import definition
from tests.events.fixtures import events_stream, js, settings
from tests.support.apps import app_client
from tests.tickets.client import TicketsApi

__all__ = ["events_stream", "js", "settings"]


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[TicketsApi]:
    """The tickets app running against the test's database and stream."""
    async with app_client(definition, settings) as (client, app):
        yield TicketsApi(client, app, settings)
