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
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from typing import Any

import uvloop
from temporalio.client import Client
from temporalio.worker import Worker

from devstack.gateway.app import load_definition
from services.common.runtime import ServiceRuntime
from services.common.settings import ServiceName, Settings, get_settings
from services.common.temporal import connect_temporal
from workflows.models import TaskQueue

log = logging.getLogger(__name__)

WORKER_SERVICES: tuple[ServiceName, ...] = ("tickets", "orders", "payments")
SHUTDOWN_GRACE = timedelta(seconds=20)


async def _activities(
    service: ServiceName, runtime: ServiceRuntime, stack: contextlib.AsyncExitStack
) -> list[Callable[..., Any]]:
    if service == "tickets":
        from activities.tickets import TicketsActivities

        tickets = TicketsActivities(runtime)
        return [tickets.reserve_ticket, tickets.release_ticket, tickets.mark_ticket_sold]
    if service == "orders":
        from activities.orders import OrdersActivities

        orders = OrdersActivities(runtime)
        return [orders.mark_order_awaiting_payment, orders.complete_order, orders.cancel_order]
    # Imported only here: the payments worker alone needs Stripe.
    from activities.payments import PaymentsActivities

    payments = PaymentsActivities(runtime)
    stack.push_async_callback(payments.aclose)
    return [payments.charge, payments.refund]


@contextlib.asynccontextmanager
async def running_workers(
    services: Sequence[ServiceName], settings: Settings, client: Client
) -> AsyncIterator[list[Worker]]:
    """The workers of ``services``, polling until the block ends, then shut down
    gracefully (running activities and workflow tasks finish first)."""
    async with contextlib.AsyncExitStack() as stack:
        workers = []
        for service in services:
            runtime = await stack.enter_async_context(
                ServiceRuntime.running(load_definition(service), settings, consume=False)
            )
            workflows: list[type] = []
            if service == "orders":
                from workflows.purchase import PurchaseWorkflow

                workflows.append(PurchaseWorkflow)
            worker = Worker(
                client,
                task_queue=TaskQueue(service),
                workflows=workflows,
                activities=await _activities(service, runtime, stack),
                graceful_shutdown_timeout=SHUTDOWN_GRACE,
            )
            await stack.enter_async_context(worker)
            workers.append(worker)
        yield workers


async def serve(services: Sequence[ServiceName], settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    client = await connect_temporal(settings)
    async with running_workers(services, settings, client):
        log.info("workers running: %s", ", ".join(services))
        await stop.wait()
        log.info("stopping workers")


def run(service: str) -> None:
    """The CLI's entry: one service's worker, or ``all`` of them in one process."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Three lines per charge from the HTTP and Stripe clients: noise on the payment path.
    for chatty in ("httpx", "stripe"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    services = WORKER_SERVICES if service == "all" else [_worker_service(service)]
    # uvloop: every task reaches the worker from the SDK core's threads, and uvloop's
    # cross-thread wake-ups cost a fraction of asyncio's.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(services, get_settings()))


def _worker_service(service: str) -> ServiceName:
    for name in WORKER_SERVICES:
        if name == service:
            return name
    raise SystemExit(f"{service!r} has no worker; one of: {', '.join(WORKER_SERVICES)}, all")
