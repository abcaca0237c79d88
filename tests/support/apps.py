"""Running a service app (or a service runtime) in-process against real servers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
from fastapi import FastAPI
from temporalio.client import Client

from services.common.http.app import create_app
from services.common.http.dependencies import get_temporal
from services.common.identity.tokens import TokenSigner, private_key_pem
from services.common.runtime import ServiceRuntime
from services.common.service import ServiceDefinition
from services.common.settings import Environment, Settings
from services.common.temporal import LazyTemporalClient


def make_settings(
    *, data_dir: Path, nats_url: str, database_url: str | None = None, **overrides: Any
) -> Settings:
    """Settings for one test: its own data dir (and so its own signing key)."""
    return Settings(
        _env_file=None,
        # Only development runs on generated keys and localstripe.
        environment=Environment.DEVELOPMENT,
        data_dir=data_dir,
        nats_url=nats_url,
        database_url=database_url,
        **overrides,
    )


def bearer(
    settings: Settings, user_id: UUID | None = None, email: str = "user@test.dev"
) -> dict[str, str]:
    """An Authorization header for a user, signed with the test's development key."""
    signer = TokenSigner(private_key_pem(settings), timedelta(hours=1))
    return {"Authorization": f"Bearer {signer.sign(user_id or uuid4(), email)}"}


@dataclass
class AppUnderTest:
    """A service's app running in the test, its client, and the settings it runs on."""

    client: httpx.AsyncClient
    app: FastAPI
    settings: Settings

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime

    def auth(self, user_id: UUID | None = None) -> dict[str, str]:
        return bearer(self.settings, user_id)


@contextlib.asynccontextmanager
async def app_client(
    definition: ServiceDefinition, settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """The service's app with its lifespan running, and an HTTP client bound to it."""
    app = create_app(definition, settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        yield client, app


def use_temporal(app: FastAPI, client: Client, settings: Settings) -> None:
    """The app's routes reach the saga through the test's own Temporal server."""
    connected = LazyTemporalClient.of(client, settings)

    async def test_temporal() -> LazyTemporalClient:
        return connected

    app.dependency_overrides[get_temporal] = test_temporal


@contextlib.asynccontextmanager
async def service_runtime(
    definition: ServiceDefinition, settings: Settings, *, consume: bool = True
) -> AsyncIterator[ServiceRuntime]:
    async with ServiceRuntime.running(definition, settings, consume=consume) as runtime:
        yield runtime
