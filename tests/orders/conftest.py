from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.orders.support import Market, purchase_settings, running_market
from tests.workflows.support import pydantic_client

SERVICES = ("tickets", "orders", "payments")


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """A fresh database per service, on each engine the services run on."""
    if request.param == "sqlite":
        return {name: f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}" for name in SERVICES}
    cluster = request.getfixturevalue("postgres")
    return {name: cluster.new_database_url() for name in SERVICES}


@pytest.fixture
async def market(
    tmp_path: Path,
    nats_url: str,
    localstripe_url: str,
    databases: dict[str, str],
    temporal_dev_env: WorkflowEnvironment,
) -> AsyncIterator[Market]:
    settings = purchase_settings(
        tmp_path, nats_url=nats_url, databases=databases, stripe_api_base=localstripe_url
    )
    async with running_market(settings, pydantic_client(temporal_dev_env.client)) as running:
        yield running
