"""POST /api/users/signup: creates the user, signs them in, announces user.created."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from services.common.messaging.events import UserCreated
from services.common.settings import Settings
from tests.auth.support import PASSWORD, current_user, session_cookie, signup
from tests.support.jetstream import first_event


async def test_signup_answers_the_user_and_signs_them_in(auth: httpx.AsyncClient) -> None:
    response = await signup(auth, "  Ann.Lee@Example.COM ")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email"}
    assert body["email"] == "ann.lee@example.com"
    assert session_cookie(response)["value"]
    me = await current_user(auth)
    assert me is not None
    assert (me["id"], me["email"]) == (body["id"], "ann.lee@example.com")


async def test_signup_never_answers_the_password_or_its_hash(auth: httpx.AsyncClient) -> None:
    response = await signup(auth, "secret@test.dev", "hunter22")

    text = response.text
    assert "hunter22" not in text
    assert "scrypt" not in text
    assert "password" not in text.lower()


@pytest.mark.parametrize(
    ("body", "message", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "Email must be valid", "email"),
        ({"email": "Ann <ann@test.dev>", "password": PASSWORD}, "Email must be valid", "email"),
        ({"email": "", "password": PASSWORD}, "Email must be valid", "email"),
        (
            {"email": "ann@test.dev", "password": "x" * 7},
            "Password must be between 8 and 128 characters",
            "password",
        ),
        (
            {"email": "ann@test.dev", "password": "x" * 129},
            "Password must be between 8 and 128 characters",
            "password",
        ),
        ({"password": PASSWORD}, "email is required", "email"),
        ({"email": "ann@test.dev"}, "password is required", "password"),
    ],
)
async def test_signup_refuses_invalid_input_field_by_field(
    auth: httpx.AsyncClient, body: dict[str, Any], message: str, field: str
) -> None:
    response = await auth.post("/api/users/signup", json=body)

    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": message, "field": field}]}
    assert "set-cookie" not in response.headers
    assert await current_user(auth) is None


async def test_signup_reports_every_bad_field(auth: httpx.AsyncClient) -> None:
    response = await auth.post("/api/users/signup", json={"email": "nope", "password": "x"})

    assert response.status_code == 400
    assert {entry["field"] for entry in response.json()["errors"]} == {"email", "password"}


async def test_password_length_bounds_are_inclusive(auth: httpx.AsyncClient) -> None:
    # NIST SP 800-63B: at least 8 characters, and long passphrases welcome.
    assert (await signup(auth, "eight@test.dev", "x" * 8)).status_code == 201
    assert (await signup(auth, "long@test.dev", "x" * 128)).status_code == 201
    # Characters, not bytes: 128 of them in four bytes each is still a password.
    assert (await signup(auth, "emoji@test.dev", "\N{TICKET}" * 128)).status_code == 201


@pytest.mark.database_matrix
async def test_taken_email_is_a_conflict_whatever_its_case(auth: httpx.AsyncClient) -> None:
    assert (await signup(auth, "taken@test.dev")).status_code == 201

    response = await signup(auth, "TAKEN@Test.dev", "other-password")

    assert response.status_code == 409
    assert response.json() == {"errors": [{"message": "Email in use", "field": "email"}]}
    assert "set-cookie" not in response.headers


@pytest.mark.database_matrix
async def test_concurrent_signups_with_one_email_create_one_user(
    auth: httpx.AsyncClient,
) -> None:
    responses = await asyncio.gather(*(signup(auth, "race@test.dev") for _ in range(5)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 409, 409, 409, 409]
    for response in responses:
        if response.status_code == 409:
            assert response.json() == {"errors": [{"message": "Email in use", "field": "email"}]}


@pytest.mark.database_matrix
async def test_signup_publishes_user_created(
    auth: httpx.AsyncClient, auth_settings: Settings
) -> None:
    response = await signup(auth, "published@test.dev")
    user_id = response.json()["id"]

    event = await first_event(
        auth_settings.nats_url,
        auth_settings.events_stream,
        UserCreated,
        lambda event: str(event.user_id) == user_id,
    )

    assert event.email == "published@test.dev"
    assert event.version == 1
