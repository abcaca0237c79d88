"""The figures an operator watches for a stuck purchase, read from /metrics as Prometheus
scrapes them: the outbox's backlog and its relay's failures, each durable consumer's
pending and redelivered messages, and the Temporal SDK's own metrics on a worker's
health port."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from devstack.nats import NatsServer
from services.common.messaging.events import TicketCreated, TicketStatus, TicketUpdated
from services.common.settings import Settings
from services.orders.service import definition as orders
from tests.support.apps import service_runtime
from tests.support.jetstream import publish_event
from tests.support.metrics import figure, scraped
from tests.support.polling import eventually
from tests.support.temporal import services_client
from tests.tickets.support import TicketsApi
from worker.health import WorkerHealth, health_app

# A publish that JetStream never acknowledges fails after the bus's 5-second timeout.
RELAY_FAILURE_WITHIN = 15.0


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_the_outbox_backlog_and_relay_failures_show_while_nats_is_down(
    api: TicketsApi, nats_server: NatsServer
) -> None:
    before = await scraped()
    assert figure(before, "ticketing_outbox_waiting_events", service="tickets") == 0
    nats_server.stop()
    await api.create()
    await api.create()

    async def relay_failed() -> str | None:
        text = await scraped()
        moved = figure(text, "ticketing_outbox_publish_failures_total", service="tickets")
        failed_before = figure(before, "ticketing_outbox_publish_failures_total", service="tickets")
        return text if moved > failed_before else None

    during = await eventually(relay_failed, within=RELAY_FAILURE_WITHIN)
    assert figure(during, "ticketing_outbox_waiting_events", service="tickets") == 2
    assert figure(during, "ticketing_outbox_oldest_age_seconds", service="tickets") > 0

    nats_server.start()

    async def drained() -> str | None:
        text = await scraped()
        return (
            text
            if figure(text, "ticketing_outbox_waiting_events", service="tickets") == 0
            else None
        )

    after = await eventually(drained, within=RELAY_FAILURE_WITHIN)
    assert figure(after, "ticketing_outbox_oldest_age_seconds", service="tickets") == 0
    published = "ticketing_outbox_published_total"
    assert figure(after, published, service="tickets") >= (
        figure(before, published, service="tickets") + 2
    )


def ticket_created(version: int = 1) -> TicketCreated:
    return TicketCreated(
        ticket_id=uuid4(), version=version, title="Concert", price_cents=2000, user_id=uuid4()
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_consumer_s_pending_and_redelivered_messages(
    settings: Settings, js: JetStreamContext
) -> None:
    durable = "orders-tickets"
    async with service_runtime(orders, settings) as runtime:
        await asyncio.wait_for(runtime.bus.jetstream(), 10)
        await eventually(
            lambda: js.consumer_info(settings.events_stream, durable),
            within=10,
            ignoring=(NotFoundError,),
        )
    # Its consumers stopped, the stream fills ahead of them.
    for _ in range(3):
        await publish_event(js, settings.events_stream, ticket_created())
    # An update before its creation waits for it: redelivered, again and again.
    waiting = ticket_created()
    await publish_event(
        js,
        settings.events_stream,
        TicketUpdated(
            ticket_id=waiting.ticket_id,
            version=2,
            title="Concert",
            price_cents=2000,
            user_id=waiting.user_id,
            status=TicketStatus.AVAILABLE,
            order_id=None,
        ),
    )
    labels = {"service": "orders", "consumer": durable}
    # A process that does not consume (a worker) reports them too.
    async with service_runtime(orders, settings, consume=False) as runtime:
        await asyncio.wait_for(runtime.bus.jetstream(), 10)
        text = await scraped()
    assert figure(text, "ticketing_consumer_pending_messages", **labels) == 4
    assert figure(text, "ticketing_consumer_ack_pending_messages", **labels) == 0

    async with service_runtime(orders, settings) as runtime:

        async def redelivered() -> str | None:
            text = await scraped()
            again = figure(text, "ticketing_consumer_redelivered_messages", **labels)
            return text if again >= 1 else None

        text = await eventually(redelivered, within=10)
    assert figure(text, "ticketing_consumer_pending_messages", **labels) == 0
    assert figure(text, "ticketing_consumer_ack_pending_messages", **labels) == 1


@workflow.defn(sandboxed=False)
class Hello:
    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.sleep(timedelta(milliseconds=1))
        return f"hello {name}"


async def test_a_worker_serves_the_temporal_sdk_s_metrics_on_its_health_port(
    temporal_dev_env: WorkflowEnvironment, tmp_path: Path, nats_url: str
) -> None:
    client = await services_client(temporal_dev_env, tmp_path, nats_url)
    task_queue = f"hello-{uuid4().hex}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[Hello],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        result = await client.execute_workflow(
            Hello.run, "there", id=f"hello-{uuid4().hex}", task_queue=task_queue
        )
        assert result == "hello there"
    transport = httpx.ASGITransport(app=health_app(WorkerHealth([])))
    async with httpx.AsyncClient(transport=transport, base_url="http://worker") as http:
        text = (await http.get("/metrics")).text
    ours = {"task_queue": task_queue}
    assert figure(text, "temporal_workflow_completed_total", workflow_type="Hello", **ours) == 1
    assert figure(text, "temporal_request_total", operation="StartWorkflowExecution") >= 1
    assert figure(text, "temporal_workflow_task_execution_latency_count", **ours) >= 1
    assert figure(text, "temporal_num_pollers", poller_type="workflow_task", **ours) >= 0
