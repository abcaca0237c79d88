"""POST /api/users/signin and /signout."""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.auth.service import definition
from services.common.settings import Settings
from tests.auth.support import PASSWORD, current_user, session_cookie, signin, signup
from tests.support.apps import app_client

INVALID_CREDENTIALS = {"errors": [{"message": "Invalid credentials"}]}


async def test_signin_answers_the_user_and_signs_them_in(auth: httpx.AsyncClient) -> None:
    created = (await signup(auth, "bob@test.dev")).json()
    auth.cookies.clear()

    response = await signin(auth, "  BOB@test.DEV")

    assert response.status_code == 200
    assert response.json() == created
    assert session_cookie(response)["value"]
    me = await current_user(auth)
    assert me is not None
    assert me["id"] == created["id"]


async def test_signin_never_answers_the_password_or_its_hash(auth: httpx.AsyncClient) -> None:
    await signup(auth, "carol@test.dev", "hunter22")

    response = await signin(auth, "carol@test.dev", "hunter22")

    assert response.status_code == 200
    assert set(response.json()) == {"id", "email"}
    assert "hunter22" not in response.text
    assert "scrypt" not in response.text


async def test_unknown_email_and_wrong_password_answer_alike(auth: httpx.AsyncClient) -> None:
    await signup(auth, "dave@test.dev")
    auth.cookies.clear()

    unknown = await signin(auth, "nobody@test.dev")
    wrong = await signin(auth, "dave@test.dev", "not-the-password")

    for response in (unknown, wrong):
        assert response.status_code == 400
        assert response.json() == INVALID_CREDENTIALS
        assert "set-cookie" not in response.headers
    assert await current_user(auth) is None


@pytest.mark.parametrize(
    ("body", "message", "field"),
    [
        ({"email": "bad", "password": PASSWORD}, "Email must be valid", "email"),
        ({"email": "erin@test.dev", "password": ""}, "You must supply a password", "password"),
        ({"password": PASSWORD}, "email is required", "email"),
        ({"email": "erin@test.dev"}, "password is required", "password"),
    ],
)
async def test_signin_refuses_invalid_input_field_by_field(
    auth: httpx.AsyncClient, body: dict[str, Any], message: str, field: str
) -> None:
    response = await auth.post("/api/users/signin", json=body)

    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": message, "field": field}]}


async def test_signin_refuses_a_body_that_is_not_json(auth: httpx.AsyncClient) -> None:
    response = await auth.post(
        "/api/users/signin", content=b"{", headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Request body is not valid JSON"}]}


async def _median_seconds(auth: httpx.AsyncClient, email: str, tries: int = 5) -> float:
    durations = []
    for _ in range(tries):
        started = time.perf_counter()
        response = await signin(auth, email, "not-the-password")
        durations.append(time.perf_counter() - started)
        assert response.status_code == 400
    return statistics.median(durations)


@pytest.fixture
async def costly_auth(auth_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Hashing as costly as it is for real (relative to the rest of a sign-in): at the
    tests' cheap cost a database round trip weighs as much as the hash."""
    costly = auth_settings.model_copy(update={"password_hash_cost": 14})
    async with app_client(definition, costly) as (client, _app):
        yield client


async def test_signin_timing_does_not_tell_which_emails_exist(
    costly_auth: httpx.AsyncClient,
) -> None:
    auth = costly_auth
    await signup(auth, "frank@test.dev")
    await _median_seconds(auth, "warm-up@test.dev", tries=1)

    wrong_password = await _median_seconds(auth, "frank@test.dev")
    unknown_email = await _median_seconds(auth, "nobody@test.dev")

    # Both pay for one scrypt; without the dummy hash an unknown email answers ~20x faster.
    assert unknown_email >= 0.5 * wrong_password


async def test_signout_clears_the_cookie_and_the_session(auth: httpx.AsyncClient) -> None:
    await signup(auth, "gina@test.dev")
    assert await current_user(auth) is not None

    response = await auth.post("/api/users/signout")

    assert response.status_code == 200
    assert response.json() == {}
    cleared = session_cookie(response)
    assert cleared["value"] == ""
    assert cleared["max-age"] == "0"
    assert cleared["path"] == "/"
    assert await current_user(auth) is None


async def test_signout_without_a_session_still_succeeds(auth: httpx.AsyncClient) -> None:
    response = await auth.post("/api/users/signout")

    assert response.status_code == 200
    assert response.json() == {}
