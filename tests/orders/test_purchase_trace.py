"""One purchase, one trace: the order's HTTP request, the workflow and its activities,
the events' outbox rows, their NATS publish and the consumer that applies them, all
under one trace id (the SDK's in-memory exporter in place of OTLP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.testing import WorkflowEnvironment

from services.common.observability import tracing
from services.common.temporal import connect_temporal
from tests.orders.support import purchase_settings, running_market
from tests.support.polling import eventually
from workflows.steps import Activity


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.uninstall()
        provider.shutdown()


def in_trace(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [
        span
        for span in exporter.get_finished_spans()
        if span.context is not None and span.context.trace_id == trace_id
    ]


async def test_one_purchase_is_one_trace_across_http_temporal_and_nats(
    spans: InMemorySpanExporter,
    tmp_path: Path,
    nats_url: str,
    localstripe_url: str,
    temporal_dev_env: WorkflowEnvironment,
) -> None:
    databases = {name: f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}" for name in SERVICES}
    settings = purchase_settings(
        tmp_path,
        nats_url=nats_url,
        databases=databases,
        stripe_api_base=localstripe_url,
        temporal_address=temporal_dev_env.client.service_client.config.target_host,
    )
    client = await connect_temporal(settings)
    async with running_market(settings, client) as market:
        ticket = await market.list_ticket(market.user())
        spans.clear()
        order = await market.order(market.user(), ticket["id"])
        # The orders replica has the reservation: the consumer applied ticket.updated.
        await market.replica_has(ticket["id"], ticket["version"] + 1)

        (request,) = [
            span
            for span in spans.get_finished_spans()
            if span.kind is SpanKind.SERVER and span.name == "POST /api/orders"
        ]
        assert request.context is not None
        trace_id = request.context.trace_id
        expected = {
            "StartUpdateWithStartWorkflow:Purchase",
            "RunWorkflow:Purchase",
            f"StartActivity:{Activity.RESERVE_TICKET}",
            f"RunActivity:{Activity.RESERVE_TICKET}",
            "publish ticket.updated",
            "apply ticket.updated",
        }

        async def all_there() -> set[str] | None:
            names = {span.name for span in in_trace(spans, trace_id)}
            return names if expected <= names else None

        names = await eventually(all_there, within=10, what=f"spans {expected}")
    assert f"RunActivity:{Activity.MARK_AWAITING_PAYMENT}" in names
    # The saga's spans name its workflow: the trace is found by the order's id.
    tagged = {
        span.name
        for span in in_trace(spans, trace_id)
        if (span.attributes or {}).get("temporalWorkflowID") == f"order-{order['id']}"
    }
    assert {"StartUpdateWithStartWorkflow:Purchase", "RunWorkflow:Purchase"} <= tagged
    assert "publish order.created" in names
    # Nothing of the purchase started a trace of its own.
    roots = [span for span in spans.get_finished_spans() if span.parent is None]
    assert [span.name for span in roots if span.context and span.context.trace_id == trace_id] == [
        "POST /api/orders"
    ]


SERVICES = ("tickets", "orders", "payments")
