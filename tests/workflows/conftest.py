from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from services.common.temporal import register_search_attributes
from tests.support.temporal import start_time_skipping_env
from tests.workflows.support import Purchases, Shop, running_purchases
from workflows.contracts import SEARCH_ATTRIBUTES


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """The saga's tests get a time-skipping server of their own.

    The server skips time only while nothing is pending that no worker will take; the
    service tests that share the suite-wide one drive sagas without their workers (a
    saga nobody serves, to see the API's deadline), and after them a 15-minute window
    here would be waited for in real time."""
    env = await start_time_skipping_env()
    await register_search_attributes(env.client, SEARCH_ATTRIBUTES)
    yield env
    await env.shutdown()


@pytest.fixture
async def purchases(temporal_env: WorkflowEnvironment) -> AsyncIterator[Purchases]:
    async with running_purchases(temporal_env.client, Shop()) as running:
        yield running
