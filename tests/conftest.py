"""The fixtures every test directory shares.

Real servers, each started once per test session on free ports (under pytest-xdist every
worker runs its own session, so its own servers); a test's own event stream and
settings on them; and the tickets app on those settings, the service the events, common
and tickets tests drive. A directory's conftest adds or overrides; none re-exports.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from temporalio.testing import WorkflowEnvironment

from devstack.localstripe import LocalStripe
from devstack.nats import NatsServer
from services.common.settings import Settings
from services.common.temporal import register_search_attributes
from services.tickets.service import definition as tickets
from tests.support.apps import app_client, make_settings
from tests.support.jetstream import jetstream, new_stream_name, own_stream
from tests.support.ports import free_port
from tests.support.postgres import PostgresCluster
from tests.support.redis import RedisServer
from tests.support.temporal import start_dev_env, start_time_skipping_env
from tests.tickets.support import TicketsApi
from workflows.contracts import SEARCH_ATTRIBUTES

# The bus connects in well under a second; this covers a retry after a failed first try.
BUS_READY_WITHIN = 10.0


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


# The database set-ups the services run on: SQLite with each of its drivers, and PostgreSQL.
DATABASE_MATRIX = ("sqlite", "sqlite-aiosqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "database_matrix: run on every database set-up (DATABASE_MATRIX); for what the "
        "database decides (the data layer, operations, migrations, events). Without it a "
        "test that takes a database runs once, on SQLite.",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" not in metafunc.fixturenames:
        return
    chosen = any(
        "database_url" in str(marker.args[0])
        for marker in metafunc.definition.iter_markers("parametrize")
    )
    if not chosen and metafunc.definition.get_closest_marker("database_matrix"):
        metafunc.parametrize("database_url", DATABASE_MATRIX, indirect=True)


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A fresh empty database: on SQLite, or on each set-up of DATABASE_MATRIX for a test
    marked ``database_matrix`` (the settings the test builds next read SQLITE_DRIVER)."""
    setup: str = getattr(request, "param", "sqlite")
    if setup.startswith("sqlite"):
        if setup == "sqlite-aiosqlite":
            monkeypatch.setenv("SQLITE_DRIVER", "aiosqlite")
        return f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.new_database_url()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The session's redis-server, the limits' shared store as deployed."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


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
    await register_search_attributes(env.client, SEARCH_ATTRIBUTES)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def temporal_dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real dev server with the saga's search attributes; no time skipping."""
    env = await start_dev_env()
    yield env
    await env.shutdown()


@pytest.fixture
async def events_stream(nats_server: NatsServer, nats_url: str) -> AsyncIterator[str]:
    """A stream name no other test uses, alone on the catalogue's subjects while the test
    runs; the code under test creates the stream."""
    name = new_stream_name()
    async with own_stream(nats_url, name):
        try:
            yield name
        finally:
            # The test may have failed with the server stopped.
            nats_server.start()


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    """A raw JetStream client, to look into the stream as an outsider."""
    async with jetstream(nats_url) as context:
        yield context


@pytest.fixture
def settings(tmp_path: Path, nats_url: str, database_url: str, events_stream: str) -> Settings:
    return make_settings(
        data_dir=tmp_path, nats_url=nats_url, database_url=database_url, events_stream=events_stream
    )


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[TicketsApi]:
    """The tickets app running against the test's database and stream, handed over once
    its bus has connected and made the stream.

    The bus connects in the background (a service answers while NATS is down), so without
    this wait a test that publishes to the stream as another service would race the
    connection, and loses whenever the first attempt is slow: the stream does not exist
    yet and JetStream answers "no response from stream"."""
    async with app_client(tickets, settings) as (client, app):
        api = TicketsApi(client, app, settings)
        await asyncio.wait_for(api.runtime.bus.jetstream(), BUS_READY_WITHIN)
        yield api
