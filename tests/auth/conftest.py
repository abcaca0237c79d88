"""The auth app against a fresh database on each engine, with the session's nats-server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.auth import operations
from services.auth.service import definition
from services.common.identity.tokens import Role
from services.common.runtime import ServiceRuntime
from services.common.settings import Settings
from services.tickets.service import definition as tickets
from tests.auth.support import (
    ADMIN_EMAIL,
    TEST_HASH_COST,
    bearer_header,
    session_cookie,
    signin,
    signup,
)
from tests.support.apps import app_client, make_settings


@pytest.fixture
def auth_settings(tmp_path: Path, nats_url: str, database_url: str) -> Settings:
    return make_settings(
        data_dir=tmp_path,
        nats_url=nats_url,
        auth_database_url=database_url,
        password_hash_cost=TEST_HASH_COST,
    )


@pytest.fixture
async def auth_app(auth_settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    async with app_client(definition, auth_settings) as client_and_app:
        yield client_and_app


@pytest.fixture
def auth(auth_app: tuple[httpx.AsyncClient, FastAPI]) -> httpx.AsyncClient:
    return auth_app[0]


@pytest.fixture
def tickets_database_url(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> str:
    """A database for the tickets service on the same engine as auth's."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'tickets.db'}"
    url: str = request.getfixturevalue("postgres").new_database_url()
    return url


@pytest.fixture
async def tickets_client(
    auth_settings: Settings, tickets_database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The tickets service beside auth: it learns of bans and sign-outs from the events."""
    # Same data_dir as auth, so the same development signing key.
    settings = auth_settings.model_copy(update={"tickets_database_url": tickets_database_url})
    async with app_client(tickets, settings) as (client, _app):
        yield client


@pytest.fixture
def auth_runtime(auth_app: tuple[httpx.AsyncClient, FastAPI]) -> ServiceRuntime:
    runtime: ServiceRuntime = auth_app[1].state.runtime
    return runtime


@pytest.fixture
async def admin(auth: httpx.AsyncClient, auth_runtime: ServiceRuntime) -> dict[str, str]:
    """A Bearer header of an admin: signed up, granted the role (as `ticketing admin
    grant` does), then signed in again for a token that carries it."""
    assert (await signup(auth, ADMIN_EMAIL)).status_code == 201
    async with auth_runtime.unit_of_work() as uow:
        await operations.set_role(uow, ADMIN_EMAIL, Role.ADMIN)
        await uow.commit()
    response = await signin(auth, ADMIN_EMAIL)
    assert response.status_code == 200, response.text
    auth.cookies.clear()
    return bearer_header(session_cookie(response)["value"])
