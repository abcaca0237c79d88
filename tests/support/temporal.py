"""The Temporal servers the tests start: the time-skipping test server and a dev server."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from devstack.binaries import find_binary
from devstack.temporal import DISPATCH_ARGS
from services.common.temporal import connect_temporal
from tests.support.apps import make_settings
from workflows.contracts import SEARCH_ATTRIBUTES


async def start_time_skipping_env() -> WorkflowEnvironment:
    """The Java test server: timers fire as soon as every workflow is blocked on one."""
    return await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_binary("temporal-test-server"),
    )


async def start_dev_env(db_path: Path | None = None) -> WorkflowEnvironment:
    """A real dev server, for what the test server lacks (search attributes, visibility)."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"),
        dev_server_database_filename=str(db_path) if db_path else None,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_extra_args=list(DISPATCH_ARGS),
    )


async def services_client(env: WorkflowEnvironment, data_dir: Path, nats_url: str) -> Client:
    """A client to the test's server connected as the services connect theirs (their
    converter, runtime and interceptors)."""
    settings = make_settings(
        data_dir=data_dir,
        nats_url=nats_url,
        temporal_address=env.client.service_client.config.target_host,
    )
    return await connect_temporal(settings)
