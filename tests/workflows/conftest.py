from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.workflows.support import Purchases, Shop, running_purchases


@pytest.fixture
async def purchases(temporal_env: WorkflowEnvironment) -> AsyncIterator[Purchases]:
    async with running_purchases(temporal_env.client, Shop()) as running:
        yield running
