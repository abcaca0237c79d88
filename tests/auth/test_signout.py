"""Sign-out that signs out: tokens name their session, sign-out revokes it (auth at once,
every other service within the event lag), sign-out everywhere revokes them all, and a
session ends at its absolute lifetime however active it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import update

from services.auth.models import UserSession
from services.auth.service import definition
from services.common.messaging.events import UserSessionsRevoked
from services.common.runtime import ServiceRuntime
from services.common.settings import Settings
from tests.auth.support import (
    bearer_header,
    claims_for,
    claims_of,
    current_user,
    forge_token,
    session_cookie,
    signin,
    signup,
)
from tests.support.apps import app_client
from tests.support.jetstream import first_event
from tests.support.polling import eventually


async def signed_in(auth: httpx.AsyncClient, response: httpx.Response) -> dict[str, str]:
    """A Bearer header for the session the response started; the client keeps no cookie."""
    assert response.status_code in (200, 201), response.text
    auth.cookies.clear()
    return bearer_header(session_cookie(response)["value"])


async def test_signout_revokes_the_session_not_only_the_cookie(
    auth: httpx.AsyncClient, auth_settings: Settings
) -> None:
    response = await signup(auth, "olga@test.dev")
    token = session_cookie(response)["value"]
    session_id = claims_of(token)["sid"]
    user = response.json()
    assert await current_user(auth) is not None  # the cookie works

    signed_out = await auth.post("/api/users/signout")

    assert signed_out.status_code == 200
    auth.cookies.clear()
    # The token a thief copied before the sign-out opens nothing now.
    assert await current_user(auth, bearer_header(token)) is None
    auth.cookies.set("session", token)
    assert await current_user(auth) is None
    auth.cookies.clear()
    # Nor does a token of that session past half its life get refreshed into a new one.
    old = claims_for(user, issued=timedelta(minutes=40), session_id=session_id)
    refresh = await auth.get(
        "/api/users/currentuser", headers=bearer_header(forge_token(auth_settings, **old))
    )
    assert refresh.json() == {"currentUser": None}
    assert "set-cookie" not in refresh.headers
    event = await first_event(
        auth_settings.nats_url,
        auth_settings.events_stream,
        UserSessionsRevoked,
        lambda event: str(event.user_id) == user["id"],
    )
    assert event.session_ids == [UUID(session_id)]
    assert event.revoked_until >= datetime.now(UTC) + timedelta(
        seconds=auth_settings.jwt_expires_seconds
    )
    # Signing in again starts a new session, which works.
    again = await signed_in(auth, await signin(auth, "olga@test.dev"))
    assert await current_user(auth, again) is not None


async def test_signing_out_twice_or_with_a_dead_token_is_harmless(
    auth: httpx.AsyncClient,
) -> None:
    headers = await signed_in(auth, await signup(auth, "pia@test.dev"))
    assert (await auth.post("/api/users/signout", headers=headers)).status_code == 200
    again = await auth.post("/api/users/signout", headers=headers)
    garbage = await auth.post("/api/users/signout", headers=bearer_header("not.a.token"))
    assert (again.status_code, again.json()) == (200, {})
    assert (garbage.status_code, garbage.json()) == (200, {})


@pytest.mark.database_matrix
async def test_signout_everywhere_ends_every_session_of_the_user_only(
    auth: httpx.AsyncClient,
) -> None:
    laptop = await signed_in(auth, await signup(auth, "quinn@test.dev"))
    phone = await signed_in(auth, await signin(auth, "quinn@test.dev"))
    someone_else = await signed_in(auth, await signup(auth, "rosa@test.dev"))

    response = await auth.post("/api/users/signout/everywhere", headers=phone)

    assert (response.status_code, response.json()) == (200, {})
    assert await current_user(auth, laptop) is None
    assert await current_user(auth, phone) is None
    assert await current_user(auth, someone_else) is not None
    anonymous = await auth.post("/api/users/signout/everywhere")
    assert anonymous.status_code == 401


async def test_the_tickets_service_refuses_a_signed_out_session_once_it_learns_of_it(
    auth: httpx.AsyncClient, tickets_client: httpx.AsyncClient
) -> None:
    seller = await signed_in(auth, await signup(auth, "sami@test.dev"))
    other_session = await signed_in(auth, await signin(auth, "sami@test.dev"))
    listed = await tickets_client.post(
        "/api/tickets", json={"title": "Concert", "price": 20}, headers=seller
    )
    assert listed.status_code == 201, listed.text

    assert (await auth.post("/api/users/signout", headers=seller)).status_code == 200

    async def edit_missing_ticket() -> httpx.Response:
        # 404 while the token is accepted, 401 once tickets has applied the revocation.
        return await tickets_client.put(
            f"/api/tickets/{uuid4()}", json={"title": "x", "price": 1}, headers=seller
        )

    response = await eventually(
        edit_missing_ticket,
        lambda r: r.status_code != 404,
        within=10,
        what="tickets to hear of the sign-out",
    )
    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": "Not authorized"}]}
    # The user's other session is untouched.
    other = await tickets_client.post(
        "/api/tickets", json={"title": "Play", "price": 5}, headers=other_session
    )
    assert other.status_code == 201


async def test_a_session_ends_at_its_absolute_lifetime_however_active(
    auth_settings: Settings,
) -> None:
    # A 7-day session by default; here 30 minutes against hour-long tokens.
    settings = auth_settings.model_copy(update={"session_max_seconds": 30 * 60})
    async with app_client(definition, settings) as (auth, app):
        runtime: ServiceRuntime = app.state.runtime
        response = await signup(auth, "tara@test.dev")
        cookie = session_cookie(response)
        claims = claims_of(cookie["value"])
        # The first token already stops at the session's end, and so does its cookie.
        assert claims["exp"] - claims["iat"] <= 30 * 60
        assert int(cookie["max-age"]) <= 30 * 60
        auth.cookies.clear()

        # Past half its life a token of the session is refreshed, never past the end.
        old = claims_for(
            response.json(),
            issued=timedelta(minutes=20),
            lifetime=timedelta(minutes=30),
            session_id=claims["sid"],
        )
        refreshed = await auth.get(
            "/api/users/currentuser", headers=bearer_header(forge_token(settings, **old))
        )
        current = refreshed.json()["currentUser"]
        assert current is not None
        assert current["exp"] <= claims["iat"] + 30 * 60

        # Once the session has ended, no token of it is refreshed, however recently used.
        async with runtime.unit_of_work() as uow:
            await uow.session.execute(
                update(UserSession)
                .where(UserSession.id == UUID(claims["sid"]))
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
            await uow.commit()
        ended = await auth.get(
            "/api/users/currentuser", headers=bearer_header(forge_token(settings, **old))
        )
        assert ended.json() == {"currentUser": None}
        assert "set-cookie" not in ended.headers
