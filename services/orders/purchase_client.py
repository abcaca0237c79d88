"""The orders service's side of the purchase saga: start it, cancel through it, and give
up on one whose start went unanswered. Every call has a deadline (TemporalUnavailable
past it); the saga's refusals come back as the orders service's errors."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from services.common.temporal import answered_within, business_failure, saga_has_finished
from services.orders.errors import OrderAlreadyPaid, PriceChanged, TicketReserved
from workflows.contracts import (
    FailureType,
    OrderStatus,
    TaskQueue,
    initial_search_attributes,
    workflow_id,
)
from workflows.models import PurchaseInput, PurchaseState
from workflows.purchase import PurchaseWorkflow


async def start_purchase(
    client: Client, purchase: PurchaseInput, *, deadline: timedelta
) -> PurchaseState:
    """Starts the saga and answers once the ticket is locked for the order, in one call
    (Update-with-Start). TicketReserved if another order holds the ticket, PriceChanged
    if the lock finds another price than the buyer saw (then nothing stays held)."""
    start = WithStartWorkflowOperation(
        PurchaseWorkflow.run,
        purchase,
        id=workflow_id(purchase.order_id),
        task_queue=TaskQueue.ORDERS,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=initial_search_attributes(
            status=OrderStatus.CREATED,
            ticket_id=str(purchase.ticket_id),
            buyer_id=str(purchase.buyer_id),
        ),
    )
    try:
        return await answered_within(
            deadline.total_seconds(),
            client.execute_update_with_start_workflow(
                PurchaseWorkflow.wait_reserved, start_workflow_operation=start
            ),
            "starting a purchase",
        )
    except WorkflowUpdateFailedError as failed:
        failure = business_failure(failed, FailureType)
        if failure is not None and failure.type == FailureType.TICKET_UNAVAILABLE:
            # The tickets service's words: taken, or its event has started.
            raise TicketReserved(failure.message or None) from None
        if failure is not None and failure.type == FailureType.PRICE_CHANGED:
            raise PriceChanged() from None
        raise


async def cancel_purchase(client: Client, order_id: UUID, *, deadline: timedelta) -> bool:
    """Asks the saga to cancel and undo the order; answers once it has. False when the
    saga has already finished (the caller reads the order's final status instead);
    OrderAlreadyPaid when it is paid."""
    handle = client.get_workflow_handle_for(PurchaseWorkflow.run, workflow_id(order_id))
    try:
        await answered_within(
            deadline.total_seconds(),
            handle.execute_update(PurchaseWorkflow.cancel),
            "cancelling a purchase",
        )
    except WorkflowUpdateFailedError as failed:
        failure = business_failure(failed, FailureType)
        if failure is not None and failure.type == FailureType.ALREADY_PAID:
            raise OrderAlreadyPaid() from None
        raise
    except RPCError as error:
        # Temporal being unreachable is not "already finished": the cancel must fail.
        if saga_has_finished(error):
            return False
        raise
    return True


async def abandon_purchase(client: Client, order_id: UUID, *, deadline: timedelta) -> None:
    """The purchase's start went unanswered: if the saga exists, it is asked to stop
    through a workflow cancel, which Temporal records even while no worker runs (a saga
    cancelled before it began does nothing; one under way undoes what it did)."""
    handle = client.get_workflow_handle_for(PurchaseWorkflow.run, workflow_id(order_id))
    try:
        await answered_within(deadline.total_seconds(), handle.cancel(), "abandoning a purchase")
    except RPCError as error:
        if not saga_has_finished(error):
            raise


async def saga_exists(client: Client, order_id: UUID, *, deadline: timedelta) -> bool:
    """Whether the order's saga was ever started (running or ended)."""
    handle = client.get_workflow_handle(workflow_id(order_id))
    try:
        await answered_within(deadline.total_seconds(), handle.describe(), "looking up a purchase")
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True
