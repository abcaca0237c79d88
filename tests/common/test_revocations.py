"""A revoked session is refused (401) by a service, from its own list fed by
user.sessions_revoked; an entry is forgotten once its tokens have all expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
import pytest
from nats.js import JetStreamContext
from sqlalchemy import func, select

from services.common.identity.revocations import record_revocation
from services.common.identity.tokens import TokenSigner, private_key_pem
from services.common.messaging.events import UserSessionsRevoked
from services.tickets.models import tables
from tests.support.jetstream import publish_event
from tests.support.polling import eventually
from tests.tickets.support import TicketsApi, error

# What the database decides: on every set-up.
pytestmark = pytest.mark.database_matrix


def token_of(api: TicketsApi, user_id: UUID, session_id: UUID) -> dict[str, str]:
    signer = TokenSigner(private_key_pem(api.settings), timedelta(hours=1))
    return {"Authorization": f"Bearer {signer.sign(user_id, 'u@test.dev', session_id=session_id)}"}


async def create(api: TicketsApi, headers: dict[str, str]) -> httpx.Response:
    return await api.client.post("/api/tickets", json={"title": "T", "price": 1}, headers=headers)


async def revoke(api: TicketsApi, until: datetime, *session_ids: UUID) -> None:
    async with api.runtime.unit_of_work() as uow:
        await record_revocation(tables, uow, session_ids, until)
        await uow.commit()


async def entries(api: TicketsApi) -> int:
    revoked = tables.revoked_sessions
    async with api.runtime.database.read_sessions() as session:
        count = await session.scalar(select(func.count()).select_from(revoked))
    return int(count or 0)


async def test_a_revoked_session_is_401_and_the_users_other_sessions_are_not(
    api: TicketsApi,
) -> None:
    user, revoked, kept = uuid4(), uuid4(), uuid4()
    await revoke(api, datetime.now(UTC) + timedelta(hours=1), revoked)

    refused = await create(api, token_of(api, user, revoked))

    assert refused.status_code == 401
    assert refused.json() == error("Not authorized")
    assert (await create(api, token_of(api, user, kept))).status_code == 201


async def test_revoking_twice_keeps_one_entry_and_run_out_entries_are_forgotten(
    api: TicketsApi,
) -> None:
    now = datetime.now(UTC)
    old, fresh = uuid4(), uuid4()
    await revoke(api, now - timedelta(seconds=1), old)
    # A run-out entry refuses nothing.
    assert (await create(api, token_of(api, uuid4(), old))).status_code == 201

    await revoke(api, now + timedelta(hours=1), fresh)
    await revoke(api, now + timedelta(minutes=5), fresh)

    assert await entries(api) == 1  # the run-out one is gone, the fresh one kept once
    assert (await create(api, token_of(api, uuid4(), fresh))).status_code == 401


async def test_the_event_reaches_the_list(api: TicketsApi, js: JetStreamContext) -> None:
    user, first, second = uuid4(), uuid4(), uuid4()
    assert (await create(api, token_of(api, user, first))).status_code == 201
    event = UserSessionsRevoked(
        version=1,
        user_id=user,
        session_ids=[first, second],
        revoked_until=datetime.now(UTC) + timedelta(hours=1),
    )
    await publish_event(js, api.settings.events_stream, event)

    refused = await eventually(
        lambda: create(api, token_of(api, user, first)),
        lambda r: r.status_code == 401,
        what="the revocation to apply",
    )
    assert refused.json() == error("Not authorized")
    assert (await create(api, token_of(api, user, second))).status_code == 401
