"""Each test fixture's server really works."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import nats
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.testing import WorkflowEnvironment

from devstack.localstripe import LocalStripe
from devstack.nats import NatsServer
from tests.support.cards import localstripe, payment_method
from tests.support.ports import free_port
from tests.support.postgres import PostgresCluster
from workflows.contracts import SEARCH_ATTRIBUTES


async def _publish_and_read(url: str, stream: str) -> None:
    connection = await nats.connect(url)
    try:
        js = connection.jetstream()
        await js.add_stream(name=stream, subjects=[f"{stream}.>"], duplicate_window=60)
        event_id = str(uuid.uuid4())
        first = await js.publish(f"{stream}.x", b"hi", headers={"Nats-Msg-Id": event_id})
        again = await js.publish(f"{stream}.x", b"hi", headers={"Nats-Msg-Id": event_id})
        assert not first.duplicate
        assert again.duplicate
        subscription = await js.pull_subscribe(f"{stream}.>", durable="reader")
        [message] = await subscription.fetch(1, timeout=5)
        assert message.data == b"hi"
        await message.ack()
    finally:
        await connection.close()


async def test_nats_jetstream_publishes_and_delivers(nats_url: str) -> None:
    await _publish_and_read(nats_url, f"S{uuid.uuid4().hex}")


async def test_nats_restart_keeps_port_and_store(nats_server: NatsServer) -> None:
    stream = f"S{uuid.uuid4().hex}"
    await _publish_and_read(nats_server.url, stream)
    nats_server.stop()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(nats_server.host, nats_server.port)
    nats_server.start()
    connection = await nats.connect(nats_server.url)
    try:
        info = await connection.jetstream().stream_info(stream)
        assert info.state.messages == 1
    finally:
        await connection.close()


async def test_postgres_databases_are_fresh_and_separate(postgres: PostgresCluster) -> None:
    first, second = postgres.new_database_url(), postgres.new_database_url()
    assert first != second
    connection = await asyncpg.connect(first.replace("postgresql+asyncpg", "postgresql"))
    try:
        assert await connection.fetchval("select 1") == 1
        tables = "select count(*) from pg_tables where schemaname = 'public'"
        assert await connection.fetchval(tables) == 0
    finally:
        await connection.close()


async def test_database_url_serves_sqlalchemy(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("select 1"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_localstripe_creates_customers(localstripe_url: str) -> None:
    async with localstripe(localstripe_url) as client:
        created = await client.post("/v1/customers", data={"email": "a@example.com"})
        assert created.status_code == 200, created.text
        listed = await client.get("/v1/customers")
        assert created.json()["id"] in {customer["id"] for customer in listed.json()["data"]}


async def test_temporal_time_skipping_env_serves_the_namespace(
    temporal_env: WorkflowEnvironment,
) -> None:
    assert temporal_env.supports_time_skipping
    client = temporal_env.client
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=client.namespace)
    )
    assert described.namespace_info.name == "default"


async def test_temporal_dev_env_has_the_search_attributes(
    temporal_dev_env: WorkflowEnvironment,
) -> None:
    client = temporal_dev_env.client
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    assert {key.name for key in SEARCH_ATTRIBUTES} <= set(listed.custom_attributes)


async def test_localstripe_keeps_its_data_across_a_restart(tmp_path: Path) -> None:
    """Saves are coalesced, not skipped: what was made just before a stop is there after
    the restart, and the store file holds it."""
    store = tmp_path / "store.pickle"
    stripe = LocalStripe(port=free_port(), store_path=store)
    stripe.start()
    try:
        made = await payment_method(stripe.url)
    finally:
        stripe.stop()
    assert store.exists()
    stripe.start()
    try:
        async with localstripe(stripe.url) as client:
            found = await client.get(f"/v1/payment_methods/{made}")
        assert found.status_code == 200, found.text
        assert found.json()["id"] == made
    finally:
        stripe.stop()
