"""The orders routes' side of the purchase saga: start it, and cancel through it."""

from __future__ import annotations

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from services.common.temporal import business_failure, saga_has_finished
from services.orders.errors import OrderAlreadyPaid, PriceChanged, TicketReserved
from services.orders.models import Order
from workflows.contracts import (
    OrderStatus,
    PurchaseError,
    TaskQueue,
    initial_search_attributes,
    workflow_id,
)
from workflows.models import PurchaseInput, PurchaseState
from workflows.purchase import PurchaseWorkflow


async def start_purchase(
    client: Client,
    order: Order,
    window_seconds: int,
    expected_price_cents: int | None = None,
    *,
    authentication_grace_seconds: int = 0,
) -> PurchaseState:
    """Starts the saga and answers once the ticket is locked for the order, in one call
    (Update-with-Start); TicketReserved if another order holds the ticket, PriceChanged
    if the lock finds another price than ``expected_price_cents`` (then nothing stays
    held)."""
    purchase = PurchaseInput(
        order_id=order.id,
        ticket_id=order.ticket_id,
        buyer_id=order.user_id,
        price_cents=order.price_cents,
        payment_window_seconds=window_seconds,
        expected_price_cents=expected_price_cents,
        authentication_grace_seconds=authentication_grace_seconds,
    )
    start = WithStartWorkflowOperation(
        PurchaseWorkflow.run,
        purchase,
        id=workflow_id(order.id),
        task_queue=TaskQueue.ORDERS,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=initial_search_attributes(
            status=OrderStatus.CREATED, ticket_id=str(order.ticket_id), buyer_id=str(order.user_id)
        ),
    )
    try:
        return await client.execute_update_with_start_workflow(
            PurchaseWorkflow.wait_reserved, start_workflow_operation=start
        )
    except WorkflowUpdateFailedError as failed:
        failure = business_failure(failed, PurchaseError)
        if failure is not None and failure.type == PurchaseError.TICKET_UNAVAILABLE:
            raise TicketReserved() from None
        if failure is not None and failure.type == PurchaseError.PRICE_CHANGED:
            raise PriceChanged() from None
        raise


async def cancel_purchase(client: Client, order: Order) -> bool:
    """Asks the saga to cancel and undo the order; answers once it has. False when the
    saga has already finished (the caller reads the order's final status instead)."""
    handle = client.get_workflow_handle_for(PurchaseWorkflow.run, workflow_id(order.id))
    try:
        await handle.execute_update(PurchaseWorkflow.cancel)
    except WorkflowUpdateFailedError as failed:
        failure = business_failure(failed, PurchaseError)
        if failure is not None and failure.type == PurchaseError.ALREADY_PAID:
            raise OrderAlreadyPaid() from None
        raise
    except RPCError as error:
        # Temporal being unreachable is not "already finished": the cancel must fail.
        if saga_has_finished(error):
            return False
        raise
    return True
