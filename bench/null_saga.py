"""The null saga: the real purchase workflow with activities that do nothing.

Same workflow code (workflows/purchase.py), same activity names and inputs, same task
queue names, same messages (Update-with-Start ``wait_reserved``, Update ``pay``), same
payment timer, started and paid through the services' own client code
(services/orders/purchase_client.py, services/payments/purchase_client.py). It runs in
a Temporal namespace of its own on the stack's Temporal server, so its task queues are
its own and the stack's workers never see its tasks; its workers are built like
worker/main.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from google.protobuf.duration_pb2 import Duration
from temporalio import activity
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from services.common.settings import Settings
from services.common.temporal import connect_temporal, register_search_attributes
from services.orders import purchase_client as orders_purchase_client
from services.orders.models import Order
from services.payments import purchase_client as payments_purchase_client
from tests.support.polling import eventually
from worker.main import SHUTDOWN_GRACE
from workflows.contracts import SEARCH_ATTRIBUTES, TaskQueue
from workflows.models import (
    ChargeInput,
    ChargeResult,
    PaymentRequest,
    PurchaseInput,
    RefundInput,
)
from workflows.purchase import PurchaseWorkflow
from workflows.steps import (
    Activity,
    AwaitingPaymentInput,
    CancelOrderInput,
    LockedTicket,
    OrderInput,
    TicketHold,
)

NAMESPACE = "bench-null-saga"
NAMESPACE_READY_SECONDS = 60.0
# As the services' own deadline would be, generously: the bench measures, not refuses.
CALL_DEADLINE = timedelta(seconds=30)


@activity.defn(name=Activity.RESERVE_TICKET)
async def reserve_ticket(hold: TicketHold) -> LockedTicket:
    return LockedTicket(price_cents=2550)


@activity.defn(name=Activity.RELEASE_TICKET)
async def release_ticket(hold: TicketHold) -> None:
    return None


@activity.defn(name=Activity.MARK_TICKET_SOLD)
async def mark_ticket_sold(hold: TicketHold) -> None:
    return None


@activity.defn(name=Activity.MARK_AWAITING_PAYMENT)
async def mark_order_awaiting_payment(step: AwaitingPaymentInput) -> None:
    return None


# When each order's complete_order ran: the moment the real path's order reads "complete".
_completed: dict[UUID, asyncio.Future[float]] = {}


@activity.defn(name=Activity.COMPLETE_ORDER)
async def complete_order(step: OrderInput) -> None:
    waiting = _completed.get(step.order_id)
    if waiting is not None and not waiting.done():
        waiting.set_result(time.perf_counter())


@activity.defn(name=Activity.CANCEL_ORDER)
async def cancel_order(step: CancelOrderInput) -> None:
    return None


@activity.defn(name=Activity.CHARGE)
async def charge(charge: ChargeInput) -> ChargeResult:
    return ChargeResult(payment_id=uuid4(), stripe_id=f"pi_null_{charge.order_id.hex}")


@activity.defn(name=Activity.REFUND)
async def refund(refund: RefundInput) -> None:
    return None


# Queue by queue, what worker/main.py registers there (the workflow runs on "orders").
ACTIVITIES: dict[TaskQueue, list[Callable[..., Any]]] = {
    TaskQueue.TICKETS: [reserve_ticket, release_ticket, mark_ticket_sold],
    TaskQueue.ORDERS: [mark_order_awaiting_payment, complete_order, cancel_order],
    TaskQueue.PAYMENTS: [charge, refund],
}


async def register_namespace(temporal_address: str, namespace: str) -> None:
    """A namespace of the bench's own on the stack's server, with the saga's search
    attributes, once it answers."""
    client = await connect_temporal(Settings(temporal_address=temporal_address))
    try:
        await client.workflow_service.register_namespace(
            RegisterNamespaceRequest(
                namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
            )
        )
    except RPCError as error:
        if error.status is not RPCStatusCode.ALREADY_EXISTS:
            raise

    async def registered() -> None:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace)
        )
        await register_search_attributes(client, SEARCH_ATTRIBUTES, namespace=namespace)

    await eventually(
        registered,
        lambda _: True,
        within=NAMESPACE_READY_SECONDS,
        pause=0.5,
        ignoring=(RPCError,),
        what="the namespace and its search attributes",
    )


@contextlib.asynccontextmanager
async def running(
    temporal_address: str, workflow_runner: WorkflowRunner | None = None
) -> AsyncIterator[Client]:
    """A client of the null-saga namespace, with its workers polling until the block ends
    (the saga in ``workflow_runner``, or the SDK's default sandbox)."""
    await register_namespace(temporal_address, NAMESPACE)
    client = await connect_temporal(
        Settings(temporal_address=temporal_address, temporal_namespace=NAMESPACE)
    )
    async with contextlib.AsyncExitStack() as stack:
        for queue, activities in ACTIVITIES.items():
            worker = Worker(
                client,
                task_queue=queue,
                workflows=[PurchaseWorkflow] if queue is TaskQueue.ORDERS else [],
                activities=activities,
                graceful_shutdown_timeout=SHUTDOWN_GRACE,
                workflow_runner=workflow_runner or SandboxedWorkflowRunner(),
            )
            await stack.enter_async_context(worker)
        yield client


async def one_saga(client: Client, window_seconds: int) -> tuple[float, float, float]:
    """One purchase through the null saga, as the services drive it: seconds to the
    ticket locked, to the payment answered, and to the order completed (its
    complete_order activity ran, as the real order reads "complete" once that activity
    has committed; like the buyer, it does not wait for the workflow to end)."""
    order = Order(id=uuid4(), user_id=uuid4(), ticket_id=uuid4(), price_cents=2550, version=1)
    completed = _completed[order.id] = asyncio.get_running_loop().create_future()
    try:
        started = time.perf_counter()
        await orders_purchase_client.start_purchase(
            client,
            PurchaseInput(
                order_id=order.id,
                ticket_id=order.ticket_id,
                buyer_id=order.user_id,
                price_cents=order.price_cents,
                payment_window_seconds=window_seconds,
            ),
            deadline=CALL_DEADLINE,
        )
        reserved = time.perf_counter()
        await payments_purchase_client.pay(
            client,
            PaymentRequest(order_id=order.id, buyer_id=order.user_id, token="pm_card_visa"),
            idempotency_key=None,
            deadline=CALL_DEADLINE,
            answer_deadline=CALL_DEADLINE,
        )
        paid = time.perf_counter()
        done = await asyncio.wait_for(completed, timeout=60)
    finally:
        del _completed[order.id]
    return reserved - started, paid - reserved, done - started


async def wait_until_serving(client: Client, window_seconds: int) -> None:
    """A fresh namespace can take a moment to reach every part of the server."""
    await eventually(
        lambda: asyncio.wait_for(one_saga(client, window_seconds), timeout=15),
        lambda _: True,
        within=NAMESPACE_READY_SECONDS,
        pause=0.5,
        ignoring=(RPCError, TimeoutError),
        what="a null saga to run",
    )
