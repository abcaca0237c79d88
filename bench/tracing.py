"""What tracing costs: ``POST /api/tickets`` (a write, its outbox row, the relay's
publish to NATS) on the tickets app in this process, with tracing off (as shipped,
``OTEL_EXPORTER_OTLP_ENDPOINT`` unset) and on (a tracer provider whose exporter drops
every span: the cost of making them, without a collector), in alternating rounds so
that both see the same machine; and what the off path adds per call.

``.venv/bin/python -m bench.tracing [--rounds N] [--requests N]`` prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

from bench.stats import rate, ratio
from devstack.nats import NatsServer
from services.common.observability import tracing
from services.tickets.service import definition as tickets
from tests.support.apps import app_client, bearer, make_settings
from tests.support.ports import free_port

STREAM = f"BENCH_{uuid4().hex}"


class DroppingExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


@contextlib.asynccontextmanager
async def tickets_app(root: Path, nats_url: str, name: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        data_dir=root / name,
        nats_url=nats_url,
        database_url=f"sqlite+aiosqlite:///{root / f'{name}.db'}",
        # One stream for both apps: two streams may not share the catalogue's subjects.
        events_stream=STREAM,
        throttling=False,
    )
    async with app_client(tickets, settings) as (client, app):
        await asyncio.wait_for(app.state.runtime.bus.jetstream(), 10)
        client.headers.update(bearer(settings))
        yield client


async def round_of(client: httpx.AsyncClient, requests: int) -> float:
    started = time.perf_counter()
    for number in range(requests):
        response = await client.post("/api/tickets", json={"title": f"T{number}", "price": 20})
        assert response.status_code == 201, response.text
    return rate(requests, time.perf_counter() - started)


def off_path_nanoseconds(calls: int = 100_000) -> dict[str, float]:
    """Per call, with tracing off: what a commit and a publish or an apply add."""
    assert not tracing.enabled()
    started = time.perf_counter_ns()
    for _ in range(calls):
        tracing.current_traceparent()
    traceparent = (time.perf_counter_ns() - started) / calls
    headers = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    started = time.perf_counter_ns()
    for _ in range(calls):
        with tracing.span_from("apply", headers, SpanKind.CONSUMER):
            pass
    span = (time.perf_counter_ns() - started) / calls
    return {"current_traceparent": round(traceparent, 1), "span_from": round(span, 1)}


async def measure(rounds: int, requests: int) -> dict[str, Any]:
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(DroppingExporter()))
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        nats = NatsServer(port=free_port(), monitor_port=free_port(), store_dir=root / "nats")
        nats.start()
        try:
            tracing.uninstall()
            async with tickets_app(root, nats.url, "off") as off:
                tracing.install(provider)
                # Made while tracing is on: its requests get server spans.
                async with tickets_app(root, nats.url, "on") as on:
                    tracing.uninstall()
                    await round_of(off, requests // 4)  # warm both up
                    tracing.install(provider)
                    await round_of(on, requests // 4)
                    figures: dict[str, list[float]] = {"off": [], "on": []}
                    for _ in range(rounds):
                        tracing.uninstall()
                        figures["off"].append(await round_of(off, requests))
                        tracing.install(provider)
                        figures["on"].append(await round_of(on, requests))
                    tracing.uninstall()
        finally:
            tracing.uninstall()
            provider.shutdown()
            nats.stop()
    off_path = off_path_nanoseconds()
    off_rate = statistics.median(figures["off"])
    on_rate = statistics.median(figures["on"])
    return {
        "route": "POST /api/tickets (tickets app in-process, SQLite, relay to NATS)",
        "rounds": rounds,
        "requests_per_round": requests,
        "requests_per_second": {
            "off": round(off_rate, 1),
            "on_spans_dropped": round(on_rate, 1),
            "each_round_off": [round(figure, 1) for figure in figures["off"]],
            "each_round_on": [round(figure, 1) for figure in figures["on"]],
        },
        "on_over_off": ratio(on_rate, off_rate),
        # A request commits once and its event is published once: one call of each.
        "off_path_ns_per_call": off_path,
        "off_path_percent_of_a_request": round(100 * sum(off_path.values()) * 1e-9 * off_rate, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=200)
    arguments = parser.parse_args()
    print(json.dumps(asyncio.run(measure(arguments.rounds, arguments.requests)), indent=2))


if __name__ == "__main__":
    main()
