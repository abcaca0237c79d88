from __future__ import annotations

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from services.common.settings import Settings
from tests.workflows.support import pydantic_client


@pytest.fixture
def settings(settings: Settings, localstripe_url: str) -> Settings:
    """The shared settings (the test's database and own stream), with localstripe."""
    return settings.model_copy(update={"stripe_api_base": localstripe_url})


@pytest.fixture
def temporal(temporal_env: WorkflowEnvironment) -> Client:
    """The session's test server, speaking the saga's pydantic messages."""
    return pydantic_client(temporal_env.client)
