"""PUT /api/users/currentuser/password: with the current password, a new one; the user's
other sessions are revoked, this one stays, and ``user.updated`` is published."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.common.messaging.events import Subject, UserUpdated
from services.common.runtime import ServiceRuntime
from services.common.settings import Settings
from tests.auth.support import (
    PASSWORD,
    bearer_header,
    current_user,
    session_cookie,
    signin,
    signup,
)
from tests.auth.test_ban import outbox_rows
from tests.support.jetstream import first_event

NEW_PASSWORD = "a much longer passphrase"


async def session_of(auth: httpx.AsyncClient, response: httpx.Response) -> dict[str, str]:
    assert response.status_code in (200, 201), response.text
    auth.cookies.clear()
    return bearer_header(session_cookie(response)["value"])


async def change(
    auth: httpx.AsyncClient, headers: dict[str, str] | None, body: dict[str, Any]
) -> httpx.Response:
    return await auth.put("/api/users/currentuser/password", json=body, headers=headers)


@pytest.mark.database_matrix
async def test_a_password_change_signs_out_every_other_session(
    auth: httpx.AsyncClient, auth_settings: Settings
) -> None:
    signed_up = await signup(auth, "uma@test.dev")
    here = await session_of(auth, signed_up)
    thief = await session_of(auth, await signin(auth, "uma@test.dev"))
    bystander = await session_of(auth, await signup(auth, "vera@test.dev"))

    response = await change(auth, here, {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD})

    assert response.status_code == 200, response.text
    assert response.json() == {"id": signed_up.json()["id"], "email": "uma@test.dev"}
    assert await current_user(auth, here) is not None
    assert await current_user(auth, thief) is None
    assert await current_user(auth, bystander) is not None
    assert (await signin(auth, "uma@test.dev")).status_code == 400
    assert (await signin(auth, "uma@test.dev", NEW_PASSWORD)).status_code == 200
    event = await first_event(
        auth_settings.nats_url,
        auth_settings.events_stream,
        UserUpdated,
        lambda event: str(event.user_id) == signed_up.json()["id"],
    )
    assert (event.email, event.version) == ("uma@test.dev", 2)


async def test_the_current_password_must_be_right(
    auth: httpx.AsyncClient, auth_runtime: ServiceRuntime
) -> None:
    here = await session_of(auth, await signup(auth, "wes@test.dev"))
    other = await session_of(auth, await signin(auth, "wes@test.dev"))

    wrong = await change(
        auth, here, {"currentPassword": "not-the-password", "newPassword": NEW_PASSWORD}
    )

    assert wrong.status_code == 400
    assert wrong.json() == {
        "errors": [{"message": "Current password is incorrect", "field": "currentPassword"}]
    }
    assert (await signin(auth, "wes@test.dev")).status_code == 200
    assert await current_user(auth, other) is not None
    assert await outbox_rows(auth_runtime, Subject.USER_UPDATED) == 0


async def test_the_new_password_follows_the_rules_and_a_session_is_needed(
    auth: httpx.AsyncClient,
) -> None:
    here = await session_of(auth, await signup(auth, "xia@test.dev"))

    short = await change(auth, here, {"currentPassword": PASSWORD, "newPassword": "short"})
    missing = await change(auth, here, {"newPassword": NEW_PASSWORD})
    anonymous = await change(auth, None, {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD})

    assert short.status_code == 400
    assert short.json() == {
        "errors": [
            {"message": "Password must be between 8 and 128 characters", "field": "newPassword"}
        ]
    }
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["field"] == "currentPassword"
    assert anonymous.status_code == 401
    assert (await signin(auth, "xia@test.dev")).status_code == 200


async def test_tries_at_the_current_password_are_bounded(
    auth: httpx.AsyncClient, auth_runtime: ServiceRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stolen session cannot guess its owner's password at hashing speed."""
    monkeypatch.setattr(auth_runtime.settings, "password_changes_per_user", "3/15 minutes")
    here = await session_of(auth, await signup(auth, "yves@test.dev"))
    guesses = [
        await change(auth, here, {"currentPassword": f"guess {n}", "newPassword": NEW_PASSWORD})
        for n in range(3)
    ]
    assert [guess.status_code for guess in guesses] == [400, 400, 400]
    refused = await change(auth, here, {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD})
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["message"].startswith("Too many password changes")
    assert int(refused.headers["retry-after"]) > 0
    # Another user's are their own.
    other = await session_of(auth, await signup(auth, "zoe@test.dev"))
    answer = await change(auth, other, {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD})
    assert answer.status_code == 200
