"""`ticketing worker <tickets|orders|payments|all>`: a service's Temporal worker.

Each service's worker polls its own task queue and runs inside the service's runtime
(database, outbox relay), so an activity writes its change and its events like a route
does. The orders worker also runs the purchase saga. SIGTERM or Ctrl-C stops polling,
lets running tasks finish (up to a grace period) and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import uvloop
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from services.common.observability.logging import configure_logging
from services.common.observability.tracing import configure_tracing
from services.common.runtime import ServiceRuntime
from services.common.settings import ServiceName, Settings, get_settings
from services.common.temporal import connect_temporal, exit_without_finalizing
from services.definitions import load_definition, service_name
from worker.health import WorkerHealth, serving_health
from worker.sides import WORKER_SIDES, worker_services
from workflows.contracts import order_of_workflow
from workflows.purchase import LONGEST_ACTIVITY

log = logging.getLogger(__name__)

# Stopping (a deploy), running activities may finish: the longest the saga allows one
# attempt (a refund making several slow Stripe calls), and a little more. The pod's
# terminationGracePeriodSeconds exceeds it (tests/deploy/test_helm_chart.py).
SHUTDOWN_GRACE = LONGEST_ACTIVITY + timedelta(seconds=10)


# The saga's own deterministic modules, imported once per process rather than afresh in
# every workflow's sandbox. The workflow imports them under imports_passed_through(),
# but the sandbox still executed workflows/activity_stubs.py (nine @activity.defn
# signatures) for every new workflow: its `from workflows import activity_stubs` form
# escapes the pass-through. Named here, each module passes through whatever the form of
# its import. The workflow module itself stays sandboxed (imported afresh per workflow,
# under the sandbox's checks). bench/sandbox.py measures it.
SAGA_MODULES = (
    "workflows.activity_stubs",
    "workflows.contracts",
    "workflows.models",
    "workflows.steps",
)
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(*SAGA_MODULES)
)


@contextlib.asynccontextmanager
async def running_workers(
    services: Sequence[ServiceName],
    settings: Settings,
    client: Client,
    health: WorkerHealth | None = None,
) -> AsyncIterator[list[Worker]]:
    """The workers of ``services``, each as ``worker.sides`` declares it, polling until the
    block ends, then shut down gracefully (running activities and workflow tasks finish
    first); each recorded in ``health`` as it starts."""
    async with contextlib.AsyncExitStack() as stack:
        workers = []
        for service in services:
            side = WORKER_SIDES[service]
            runtime = await stack.enter_async_context(
                ServiceRuntime.running(load_definition(service), settings, consume=False)
            )
            activities = side.activities(runtime)
            stack.push_async_callback(activities.aclose)
            worker = Worker(
                client,
                task_queue=side.task_queue,
                workflows=list(side.workflows),
                activities=list(activities.functions()),
                graceful_shutdown_timeout=SHUTDOWN_GRACE,
                workflow_runner=WORKFLOW_RUNNER,
            )
            await stack.enter_async_context(worker)
            workers.append(worker)
            if health is not None:
                health.add(service, runtime, worker)
        yield workers


async def serve(services: Sequence[ServiceName], settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    health = WorkerHealth(services)
    host, port = settings.worker_health_host, settings.worker_health_port
    # Up first: alive (and not ready) while Temporal and the runtimes connect.
    async with serving_health(health, host, port):
        client = await connect_temporal(settings)
        async with running_workers(services, settings, client, health):
            log.info("workers running: %s", ", ".join(services))
            await stop.wait()
            log.info("stopping workers")


def run(service: str) -> None:
    """The CLI's entry: one service's worker, or ``all`` of them in one process."""
    settings = get_settings()
    configure_logging(settings, order_of_workflow=order_of_workflow)
    with_worker = worker_services()
    try:
        services = with_worker if service == "all" else [service_name(service, with_worker)]
    except ValueError as unknown:
        raise SystemExit(f"{unknown}, all") from None
    configure_tracing(settings, f"worker-{service}")
    # uvloop: every task reaches the worker from the SDK core's threads, and uvloop's
    # cross-thread wake-ups cost a fraction of asyncio's.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(services, settings))
    exit_without_finalizing()
