"""Replicas share their counts: two auth processes' apps on one Redis (redis-server, as
compose and the chart run it) refuse the attempt one too many wherever it lands, and
production refuses counts kept in the process when it runs several replicas."""

from __future__ import annotations

import itertools
from contextlib import AsyncExitStack
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from pydantic import ValidationError

from services.auth.service import definition as auth
from services.common.http.app import create_app
from services.common.settings import Settings
from tests.auth.test_production_settings import production


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_two_replicas_count_one_visitors_attempts_together(
    settings: Settings, redis_url: str
) -> None:
    shared = settings.model_copy(
        update={"throttle_storage": redis_url, "signin_attempts_per_address": "3/minute"}
    )
    # A visitor of this test alone: the session's Redis outlives it.
    visitor = f"198.51.100.{uuid4().int % 200 + 1}"
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(2):
            app = create_app(auth, shared)
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app, client=(visitor, 40000))
            clients.append(
                await stack.enter_async_context(
                    httpx.AsyncClient(transport=transport, base_url="http://test")
                )
            )
        replicas = itertools.cycle(clients)
        statuses = [
            (
                await next(replicas).post(
                    "/api/users/signin", json={"email": "x@test.dev", "password": "wrong one"}
                )
            ).status_code
            for _ in range(5)
        ]
    # Each replica alone saw at most 3: in memory, neither would have refused.
    assert statuses == [400, 400, 400, 429, 429]


def test_production_refuses_in_process_counts_for_several_replicas(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="THROTTLE_STORAGE=memory:// is refused"):
        production(tmp_path, replicas=6)
    assert production(tmp_path, replicas=1).throttle_storage == "memory://"
    shared = production(tmp_path, replicas=6, throttle_storage="redis://redis:6379/0")
    assert shared.replicas == 6
