"""The end-to-end fixtures: each module runs its own stack (its ``running`` fixture),
and these sign users up on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import uuid4

import httpx
import pytest

from tests.support.stack import RunningStack


@pytest.fixture
async def user_factory(
    running: RunningStack,
) -> AsyncIterator[Callable[[], Awaitable[httpx.AsyncClient]]]:
    clients: list[httpx.AsyncClient] = []

    async def signed_up() -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=running.url("API_PORT"), timeout=30)
        clients.append(client)
        email = f"{uuid4().hex[:10]}@example.com"
        response = await client.post(
            "/api/users/signup", json={"email": email, "password": "secret-password"}
        )
        assert response.status_code == 201, response.text
        return client

    yield signed_up
    for client in clients:
        await client.aclose()
