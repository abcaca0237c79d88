"""The floor: what one workflow of one remote no-op activity costs on the same Temporal
server, with the workers set up as worker/main.py sets them up. No purchase can beat a
workflow that does nothing but one step, so purchases/s ÷ floor runs/s says how much of
the server's best the purchase path gets."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

from temporalio.client import Client
from temporalio.worker import Worker

from bench.floor_workflow import ACTIVITY_QUEUE, FloorWorkflow, nothing
from bench.load import closed_loop, deal
from bench.null_saga import register_namespace
from bench.stats import latency, rate
from services.common.settings import Settings
from services.common.temporal import connect_temporal
from worker.main import SHUTDOWN_GRACE

NAMESPACE = "bench-floor"
WORKFLOW_QUEUE = "floor"


@contextlib.asynccontextmanager
async def running(temporal_address: str) -> AsyncIterator[Client]:
    await register_namespace(temporal_address, NAMESPACE)
    client = await connect_temporal(
        Settings(temporal_address=temporal_address, temporal_namespace=NAMESPACE)
    )
    async with (
        Worker(
            client,
            task_queue=WORKFLOW_QUEUE,
            workflows=[FloorWorkflow],
            graceful_shutdown_timeout=SHUTDOWN_GRACE,
        ),
        Worker(
            client,
            task_queue=ACTIVITY_QUEUE,
            activities=[nothing],
            graceful_shutdown_timeout=SHUTDOWN_GRACE,
        ),
    ):
        yield client


async def one_run(client: Client) -> float:
    started = time.perf_counter()
    await client.execute_workflow(
        FloorWorkflow.run, id=f"floor-{uuid4()}", task_queue=WORKFLOW_QUEUE
    )
    return time.perf_counter() - started


async def measure(temporal_address: str, levels: dict[int, int]) -> dict[str, Any]:
    """Runs/s and latency at each level (concurrency: how many runs)."""
    results: dict[str, Any] = {}
    async with running(temporal_address) as client:
        for _ in range(5):
            await one_run(client)
        for level, count in levels.items():
            run = await closed_loop(deal(range(count), level), lambda _i, _job: one_run(client))
            results[str(level)] = {
                "concurrency": level,
                "runs_per_second": rate(len(run.results), run.wall_seconds),
                "run": latency(run.results),
                "failures": len(run.failures),
            }
    return results
