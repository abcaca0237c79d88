"""Admins by role, not by e-mail claim: the role lives in auth's database, granted and
revoked by `ticketing admin grant|revoke <email>`; tokens carry it; the ban route wants
the claim and the row alike; every ban is logged with who did it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from services.auth import operations
from services.common.identity.tokens import Role
from services.common.runtime import ServiceRuntime
from services.common.settings import Settings
from tests.auth.support import (
    ADMIN_EMAIL,
    bearer_header,
    claims_of,
    forge_token,
    session_cookie,
    signin,
    signup,
)

ROOT = Path(__file__).resolve().parents[2]


async def signed_up(auth: httpx.AsyncClient, email: str) -> tuple[str, dict[str, str]]:
    response = await signup(auth, email)
    assert response.status_code == 201, response.text
    auth.cookies.clear()
    return response.json()["id"], bearer_header(session_cookie(response)["value"])


async def ban(auth: httpx.AsyncClient, user_id: str, headers: dict[str, str]) -> httpx.Response:
    return await auth.post(f"/api/users/{user_id}/ban", headers=headers)


async def test_an_address_alone_grants_nothing(
    auth: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What made an admin before: the first to sign up with a listed address.
    monkeypatch.setenv("ADMIN_EMAILS", ADMIN_EMAIL)
    victim, _ = await signed_up(auth, "victim@test.dev")
    _, claimant = await signed_up(auth, ADMIN_EMAIL)

    response = await ban(auth, victim, claimant)

    assert response.status_code == 403
    assert response.json() == {"errors": [{"message": "Only administrators can ban users"}]}


async def test_an_admins_token_carries_the_role_and_every_ban_is_logged(
    auth: httpx.AsyncClient, admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    victim, _ = await signed_up(auth, "villain@test.dev")
    me = await auth.get("/api/users/currentuser", headers=admin)
    admin_id = me.json()["currentUser"]["id"]
    assert claims_of(admin["Authorization"].removeprefix("Bearer "))["role"] == "admin"

    with caplog.at_level(logging.INFO, logger="services.auth.admin_api"):
        response = await ban(auth, victim, admin)

    assert response.status_code == 200
    assert any(
        victim in record.getMessage()
        and admin_id in record.getMessage()
        and ADMIN_EMAIL in record.getMessage()
        for record in caplog.records
    ), caplog.text


async def test_a_forged_or_stale_admin_claim_opens_nothing(
    auth: httpx.AsyncClient,
    auth_settings: Settings,
    auth_runtime: ServiceRuntime,
    admin: dict[str, str],
) -> None:
    victim, _ = await signed_up(auth, "target@test.dev")
    mallory, mallory_token = await signed_up(auth, "mallory@test.dev")
    mallory_claims = claims_of(mallory_token["Authorization"].removeprefix("Bearer "))

    # A token saying "admin" for a user who is none, signed with the real key (the worst
    # case: a key leak, or a token minted by a bug): the row says no.
    forged = forge_token(auth_settings, **(mallory_claims | {"role": "admin"}))
    # An unknown role, or the role claim on a token with a broken signature: no token at all.
    unknown = forge_token(auth_settings, **(mallory_claims | {"role": "root"}))
    header, payload, _signature = forged.split(".")
    unsigned = f"{header}.{payload}.AAAA"

    assert (await ban(auth, victim, bearer_header(forged))).status_code == 403
    assert (await ban(auth, victim, bearer_header(unknown))).status_code == 401
    assert (await ban(auth, victim, bearer_header(unsigned))).status_code == 401

    # Revoked, an admin's earlier tokens stop opening the route at once.
    async with auth_runtime.unit_of_work() as uow:
        await operations.set_role(uow, ADMIN_EMAIL, Role.USER)
        await uow.commit()
    assert (await ban(auth, victim, admin)).status_code == 403
    assert (await ban(auth, mallory, admin)).status_code == 403
    still = await signin(auth, "target@test.dev")
    assert still.status_code == 200


def ticketing(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_admin_command_grants_and_revokes_the_role(
    auth: httpx.AsyncClient, auth_settings: Settings, database_url: str
) -> None:
    victim, _ = await signed_up(auth, "suspect@test.dev")
    await signed_up(auth, "ops@test.dev")
    env = {"AUTH_DATABASE_URL": database_url, "DATA_DIR": str(auth_settings.data_dir)}

    granted = ticketing("admin", "grant", "Ops@Test.dev", **env)
    assert granted.returncode == 0, granted.stderr
    response = await signin(auth, "ops@test.dev")
    auth.cookies.clear()
    ops = bearer_header(session_cookie(response)["value"])
    assert claims_of(ops["Authorization"].removeprefix("Bearer "))["role"] == "admin"
    revoked = ticketing("admin", "revoke", "ops@test.dev", **env)
    assert revoked.returncode == 0, revoked.stderr
    assert (await ban(auth, victim, ops)).status_code == 403

    nobody = ticketing("admin", "grant", "nobody@test.dev", **env)
    assert nobody.returncode == 1
    assert "No user has the address nobody@test.dev" in nobody.stderr
