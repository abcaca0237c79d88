"""The gate role is granted like admin (`ticketing admin grant --role gate <email>`), and
a token minted after it carries it."""

from __future__ import annotations

import httpx
import pytest

from services.common.settings import Settings
from tests.auth.support import bearer_header, claims_of, session_cookie, signin
from tests.auth.test_admins import signed_up, ticketing


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_gate_role_is_granted_by_command(
    auth: httpx.AsyncClient, auth_settings: Settings, database_url: str
) -> None:
    await signed_up(auth, "door@test.dev")
    env = {"AUTH_DATABASE_URL": database_url, "DATA_DIR": str(auth_settings.data_dir)}

    granted = ticketing("admin", "grant", "--role", "gate", "door@test.dev", **env)
    assert granted.returncode == 0, granted.stderr
    response = await signin(auth, "door@test.dev")
    token = bearer_header(session_cookie(response)["value"])["Authorization"]
    assert claims_of(token.removeprefix("Bearer "))["role"] == "gate"

    refused = ticketing("admin", "grant", "--role", "owner", "door@test.dev", **env)
    assert refused.returncode == 2
    assert "admin or gate" in refused.stderr
