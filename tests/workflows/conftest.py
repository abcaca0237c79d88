from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.workflows.harness import Saga, running_saga
from tests.workflows.shop import Shop


@pytest.fixture
async def saga(temporal_env: WorkflowEnvironment) -> AsyncIterator[Saga]:
    async with running_saga(temporal_env.client, Shop()) as running:
        yield running
