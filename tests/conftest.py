"""Real servers for the tests, each started once per test session on free ports.

Under pytest-xdist every worker runs its own session, so its own servers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from devstack.localstripe import LocalStripe
from devstack.nats import NatsServer
from services.common.temporal import register_search_attributes
from tests.stack.ports import free_port
from tests.support.postgres import PostgresCluster
from tests.support.temporal import start_dev_env, start_time_skipping_env


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """The session's nats-server; ``.stop()`` and ``.start()`` keep its port and store."""
    root = tmp_path_factory.mktemp("nats")
    server = NatsServer(
        port=free_port(),
        monitor_port=free_port(),
        store_dir=root / "store",
        log_path=root / "nats.log",
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def nats_url(nats_server: NatsServer) -> str:
    # Restarted here, so a test that stopped it and then failed does not break the next.
    nats_server.start()
    return nats_server.url


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A throwaway cluster; ``.new_database_url()`` gives a fresh empty database."""
    cluster = PostgresCluster(port=free_port())
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database on each engine the services run on."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.new_database_url()


@pytest.fixture(scope="session")
def localstripe_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("localstripe")
    server = LocalStripe(
        port=free_port(), store_path=root / "store.pickle", log_path=root / "localstripe.log"
    )
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (a 15-minute timer fires in milliseconds), with the
    saga's search attributes, which the test server does not start with."""
    env = await start_time_skipping_env()
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def temporal_dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real dev server with the saga's search attributes; no time skipping."""
    env = await start_dev_env()
    yield env
    await env.shutdown()
