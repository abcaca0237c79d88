"""A service stops promptly, even right after a commit has woken its outbox relay."""

from __future__ import annotations

import asyncio

from services.common.settings import Settings
from services.tickets.service import definition
from tests.events.ticket_writes import create_ticket
from tests.support.apps import service_runtime


async def test_runtime_stops_right_after_a_commit_woke_the_relay(settings: Settings) -> None:
    for _ in range(3):
        async with asyncio.timeout(10):
            async with service_runtime(definition, settings) as runtime:
                await asyncio.wait_for(runtime.bus.jetstream(), 10)
                await create_ticket(runtime.unit_of_work)
                # Leaving now cancels the relay in the same turn as its wake-up.
