"""`ticketing up` starts every process, keeps its data across restarts, and leaves no orphan."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import psutil
import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from devstack.run import WORKER_COMMANDS
from tests.support.stack import RunningStack
from workflows.search_attributes import SEARCH_ATTRIBUTES


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[RunningStack]:
    running = RunningStack(tmp_path / "var", app="tests.stack.hello_app:app")
    yield running
    running.kill()


def _gone(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


async def _leave_data(stack: RunningStack) -> str:
    connection = await nats.connect(stack.url("NATS_PORT", "nats"))
    await connection.jetstream().add_stream(name="KEPT", subjects=["kept.>"])
    await connection.close()
    client = await Client.connect(f"127.0.0.1:{stack.ports['TEMPORAL_PORT']}")
    await client.start_workflow("Kept", id="kept", task_queue="nobody-polls-this")
    async with httpx.AsyncClient(base_url=stack.url("LOCALSTRIPE_PORT")) as stripe:
        created = await stripe.post("/v1/customers", auth=("sk_test_x", ""))
    customer_id: str = created.json()["id"]
    return customer_id


async def _find_data(stack: RunningStack, customer_id: str) -> None:
    connection = await nats.connect(stack.url("NATS_PORT", "nats"))
    await connection.jetstream().stream_info("KEPT")
    await connection.close()
    client = await Client.connect(f"127.0.0.1:{stack.ports['TEMPORAL_PORT']}")
    await client.get_workflow_handle("kept").describe()
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default")
    )
    assert {key.name for key in SEARCH_ATTRIBUTES} <= set(listed.custom_attributes)
    async with httpx.AsyncClient(base_url=stack.url("LOCALSTRIPE_PORT")) as stripe:
        found = await stripe.get(f"/v1/customers/{customer_id}", auth=("sk_test_x", ""))
    assert found.status_code == 200


async def test_up_serves_keeps_data_and_stops_every_child(stack: RunningStack) -> None:
    stack.start()
    customer_id = await _leave_data(stack)
    code, children = stack.stop()
    assert code == 0
    assert len(children) == 4 + len(WORKER_COMMANDS)  # nats, temporal, localstripe, api
    assert all(_gone(pid) for pid in children)

    stack.start()
    await _find_data(stack, customer_id)
    code, children = stack.stop()
    assert code == 0
    assert all(_gone(pid) for pid in children)
