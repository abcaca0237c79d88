"""POST /api/users/{id}/ban: admins ban a user, and every service then refuses them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import func, select

from services.common.messaging.events import Subject, UserBanned
from services.common.runtime import ServiceRuntime
from services.common.settings import Settings
from tests.auth.support import (
    bearer_header,
    current_user,
    session_cookie,
    signin,
    signup,
)
from tests.support.jetstream import first_event
from tests.support.polling import eventually


async def token_of(auth: httpx.AsyncClient, email: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Sign a new user up; their JSON and a Bearer header (the client keeps no cookie)."""
    response = await signup(auth, email)
    assert response.status_code == 201
    auth.cookies.clear()
    return response.json(), bearer_header(session_cookie(response)["value"])


async def ban(
    auth: httpx.AsyncClient, user_id: str, headers: dict[str, str] | None
) -> httpx.Response:
    return await auth.post(f"/api/users/{user_id}/ban", headers=headers)


async def test_only_signed_in_admins_may_ban(auth: httpx.AsyncClient) -> None:
    victim, _ = await token_of(auth, "victim@test.dev")
    _, someone = await token_of(auth, "someone@test.dev")

    anonymous = await ban(auth, victim["id"], None)
    not_admin = await ban(auth, victim["id"], someone)

    assert anonymous.status_code == 401
    assert anonymous.json() == {"errors": [{"message": "Not authorized"}]}
    assert not_admin.status_code == 403
    assert not_admin.json() == {"errors": [{"message": "Only administrators can ban users"}]}
    assert await current_user(auth, someone) is not None


@pytest.mark.parametrize("user_id", ["6f1c2b9e-3c1d-4a7e-9a55-0d8f4b1e2a77", "not-a-uuid"])
async def test_banning_nobody_is_not_found(
    auth: httpx.AsyncClient, user_id: str, admin: dict[str, str]
) -> None:

    response = await ban(auth, user_id, admin)

    assert response.status_code == 404
    assert response.json() == {"errors": [{"message": "User not found"}]}


async def outbox_rows(runtime: ServiceRuntime, subject: Subject) -> int:
    outbox = runtime.definition.tables.outbox
    async with runtime.database.read_sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.subject == subject.value)
        )
    return int(count or 0)


@pytest.mark.database_matrix
async def test_ban_marks_the_user_and_publishes_user_banned_once(
    auth: httpx.AsyncClient,
    auth_settings: Settings,
    auth_runtime: ServiceRuntime,
    admin: dict[str, str],
) -> None:
    victim, victim_token = await token_of(auth, "banned@test.dev")
    before = datetime.now(UTC)

    first = await ban(auth, victim["id"], admin)
    again = await ban(auth, victim["id"], admin)

    expected = {"id": victim["id"], "email": "banned@test.dev", "banned": True}
    assert (first.status_code, first.json()) == (200, expected)
    assert (again.status_code, again.json()) == (200, expected)
    event = await first_event(
        auth_settings.nats_url,
        auth_settings.events_stream,
        UserBanned,
        lambda event: str(event.user_id) == victim["id"],
    )
    # Outlives every token the user could still hold.
    assert event.banned_until >= before + timedelta(seconds=auth_settings.jwt_expires_seconds)
    assert event.version == 2
    assert await outbox_rows(auth_runtime, Subject.USER_BANNED) == 1
    # Auth itself now refuses the user.
    assert await current_user(auth, victim_token) is None


async def test_a_banned_user_cannot_sign_in(auth: httpx.AsyncClient, admin: dict[str, str]) -> None:
    victim, _ = await token_of(auth, "outlaw@test.dev")
    assert (await ban(auth, victim["id"], admin)).status_code == 200

    response = await signin(auth, "outlaw@test.dev")
    wrong_password = await signin(auth, "outlaw@test.dev", "not-the-password")

    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": "Account is banned"}]}
    assert "set-cookie" not in response.headers
    # Without the password, a ban is not revealed.
    assert wrong_password.status_code == 400
    assert wrong_password.json() == {"errors": [{"message": "Invalid credentials"}]}


async def test_the_tickets_service_refuses_a_banned_user_once_it_learns_of_the_ban(
    auth: httpx.AsyncClient, tickets_client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    victim, victim_token = await token_of(auth, "seller@test.dev")
    listed = await tickets_client.post(
        "/api/tickets", json={"title": "Concert", "price": 20}, headers=victim_token
    )
    assert listed.status_code == 201, listed.text

    assert (await ban(auth, victim["id"], admin)).status_code == 200

    async def edit_missing_ticket() -> httpx.Response:
        # 404 while the token is accepted, 401 once tickets has applied the ban.
        return await tickets_client.put(
            f"/api/tickets/{uuid4()}", json={"title": "x", "price": 1}, headers=victim_token
        )

    response = await eventually(
        edit_missing_ticket,
        lambda r: r.status_code != 404,
        within=10,
        what="tickets to hear of the ban",
    )
    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": "Not authorized"}]}
    edit = await tickets_client.put(
        f"/api/tickets/{listed.json()['id']}",
        json={"title": "Cheaper", "price": 10},
        headers=victim_token,
    )
    assert edit.status_code == 401
    # Others are unaffected.
    other = await tickets_client.post(
        "/api/tickets", json={"title": "Play", "price": 5}, headers=admin
    )
    assert other.status_code == 201
