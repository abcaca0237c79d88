"""A banned user is refused (401) by a service, from its own ban list fed by user.banned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
import pytest
from nats.js import JetStreamContext

from services.common.identity.bans import record_ban
from services.common.messaging.events import UserBanned
from services.tickets.models import tables
from tests.support.jetstream import publish_event
from tests.support.polling import eventually
from tests.tickets.support import TicketsApi, error

# What the database decides: on every set-up.
pytestmark = pytest.mark.database_matrix


async def create_as(api: TicketsApi, user_id: UUID) -> httpx.Response:
    return await api.client.post(
        "/api/tickets", json={"title": "T", "price": 1}, headers=api.auth(user_id)
    )


async def ban(api: TicketsApi, user_id: UUID, until: datetime) -> None:
    async with api.runtime.unit_of_work() as uow:
        await record_ban(tables, uow, user_id, until)
        await uow.commit()


async def test_a_user_on_the_ban_list_is_401(api: TicketsApi) -> None:
    banned, other = uuid4(), uuid4()
    await ban(api, banned, datetime.now(UTC) + timedelta(hours=1))
    response = await create_as(api, banned)
    assert response.status_code == 401
    assert response.json() == error("Not authorized")
    assert (await create_as(api, other)).status_code == 201


async def test_a_ban_that_has_run_out_no_longer_refuses(api: TicketsApi) -> None:
    user = uuid4()
    await ban(api, user, datetime.now(UTC) - timedelta(seconds=1))
    assert (await create_as(api, user)).status_code == 201


async def test_user_banned_event_reaches_the_ban_list(
    api: TicketsApi, js: JetStreamContext
) -> None:
    user = uuid4()
    assert (await create_as(api, user)).status_code == 201
    event = UserBanned(version=1, user_id=user, banned_until=datetime.now(UTC) + timedelta(hours=1))
    await publish_event(js, api.settings.events_stream, event)
    refused = await eventually(
        lambda: create_as(api, user), lambda r: r.status_code == 401, what="the ban to apply"
    )
    assert refused.json() == error("Not authorized")
