"""The purchase workflow on the time-skipping test server, against test doubles of its
activities.

One ``Shop`` holds one ticket, its orders and the payments taken, in memory, with the
same rules as the real activities (a conditional lock, idempotent steps), registered
under the real activity names, and records every call in ``calls`` so a test sees which
steps ran and in what order. ``Purchases`` starts purchases on a worker of their own
against one shop. The real activities are tested against real databases in tests/orders
and tests/payments.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from temporalio import activity
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.converter import PayloadCodec
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from services.common.temporal import data_converter
from services.orders import purchase_client as orders_purchase_client
from services.payments import purchase_client as payments_purchase_client
from tests.support.polling import eventually
from workflows.contracts import (
    CancelReason,
    FailureType,
    TaskQueue,
    initial_search_attributes,
    workflow_id,
)
from workflows.models import (
    AuthenticationInput,
    ChargeInput,
    ChargeOutcome,
    ChargeResult,
    PaymentAnswer,
    PaymentRequest,
    PurchaseInput,
    PurchaseState,
    RefundInput,
    RefundOutcome,
)
from workflows.purchase import PurchaseWorkflow
from workflows.steps import (
    Activity,
    AwaitingPaymentInput,
    CancelOrderInput,
    LockedTicket,
    OrderInput,
    TicketHold,
    TicketSale,
)

DECLINED_TOKEN = "pm_card_chargeDeclined"
DECLINE_MESSAGE = "Your card was declined."
# A card that needs the buyer's authentication (3-D Secure): its PaymentIntent waits in
# ``Shop.intents`` until the test says what the buyer did.
THREE_DS_TOKEN = "pm_card_authenticationRequired"
AUTHENTICATION_FAILED = "The provided PaymentMethod has failed authentication."


@dataclass
class Shop:
    ticket_holder: UUID | None = None
    ticket_status: str = "available"
    # The tickets service's price: what the lock answers.
    ticket_price_cents: int = 2550
    orders: dict[UUID, str] = field(default_factory=dict)
    # Events the real activities would publish, in order: ("order.expired", order_id), ...
    events: list[tuple[str, UUID]] = field(default_factory=list)
    charges: dict[UUID, str] = field(default_factory=dict)
    # What each charge took, and the price each order was marked awaiting payment at.
    charged_cents: dict[UUID, int] = field(default_factory=dict)
    order_price_cents: dict[UUID, int | None] = field(default_factory=dict)
    refunds: list[UUID] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    # Selling the ticket is refused: the order no longer holds it (TicketNotHeld).
    refuse_mark_sold: bool = False
    # Whom the sale made the ticket's holder (None: a purchase that did not say).
    sold_to: UUID | None = None
    # An activity's service is down (a retryable failure) this long after the activity
    # was first scheduled, in the test server's time: {"mark_ticket_sold": 5 minutes}.
    down_for: dict[str, timedelta] = field(default_factory=dict)
    # An activity takes this long (real time) once called: a slow Stripe, say.
    slow: dict[str, float] = field(default_factory=dict)
    # An activity waits for its gate, once called: the saga stays mid-step.
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    # Payment activities (charge, settle, refund) running at once, and the most seen.
    paying_now: int = 0
    most_paying_at_once: int = 0
    # Each order's PaymentIntent waiting for authentication, as Stripe would say it:
    # (attempt, status), status one of requires_action, succeeded, requires_payment_method
    # (the authentication failed) or canceled.
    intents: dict[UUID, tuple[int, str]] = field(default_factory=dict)
    # Whether each cancelled order was told it had been refunded, and why it was cancelled.
    cancelled_refunded: dict[UUID, bool] = field(default_factory=dict)
    cancelled_reasons: dict[UUID, CancelReason] = field(default_factory=dict)

    def gate(self, activity_name: str) -> asyncio.Event:
        """Holds ``activity_name`` once called, until the event is set."""
        return self.gates.setdefault(activity_name, asyncio.Event())

    async def _called(self, activity_name: str) -> None:
        self.calls.append(activity_name)
        info = activity.info()
        down = self.down_for.get(activity_name)
        if down is not None and info.current_attempt_scheduled_time - info.scheduled_time < down:
            raise ApplicationError(f"the service behind {activity_name} refused the connection")
        gate = self.gates.get(activity_name)
        if gate is not None:
            await gate.wait()
        if activity_name in self.slow:
            await asyncio.sleep(self.slow[activity_name])

    @contextlib.asynccontextmanager
    async def _paying(self, activity_name: str) -> AsyncIterator[None]:
        self.paying_now += 1
        self.most_paying_at_once = max(self.most_paying_at_once, self.paying_now)
        try:
            await self._called(activity_name)
            yield
        finally:
            self.paying_now -= 1

    def activities(self, queue: TaskQueue) -> list[Callable[..., Any]]:
        """Each queue's own, as each service's worker registers them: a step sent to the
        wrong queue finds nobody to run it."""
        by_queue: dict[TaskQueue, list[Callable[..., Any]]] = {
            TaskQueue.TICKETS: [self.reserve_ticket, self.release_ticket, self.mark_ticket_sold],
            TaskQueue.ORDERS: [
                self.mark_order_awaiting_payment,
                self.complete_order,
                self.cancel_order,
            ],
            TaskQueue.PAYMENTS: [self.charge, self.settle_authentication, self.refund],
        }
        return by_queue[queue]

    @activity.defn(name=Activity.RESERVE_TICKET)
    async def reserve_ticket(self, hold: TicketHold) -> LockedTicket:
        await self._called(Activity.RESERVE_TICKET)
        locked = LockedTicket(price_cents=self.ticket_price_cents)
        if self.ticket_holder == hold.order_id:
            return locked
        if self.ticket_holder is not None or self.ticket_status != "available":
            raise ApplicationError(
                "Ticket is already reserved",
                type=FailureType.TICKET_UNAVAILABLE,
                non_retryable=True,
            )
        self.ticket_holder, self.ticket_status = hold.order_id, "reserved"
        self.events.append(("ticket.updated", hold.order_id))
        return locked

    @activity.defn(name=Activity.RELEASE_TICKET)
    async def release_ticket(self, hold: TicketHold) -> None:
        await self._called(Activity.RELEASE_TICKET)
        if self.ticket_holder == hold.order_id:
            self.ticket_holder, self.ticket_status = None, "available"
            self.events.append(("ticket.updated", hold.order_id))

    @activity.defn(name=Activity.MARK_TICKET_SOLD)
    async def mark_ticket_sold(self, hold: TicketSale) -> None:
        await self._called(Activity.MARK_TICKET_SOLD)
        if self.refuse_mark_sold:
            raise ApplicationError(
                "the ticket is not held by this order",
                type=FailureType.TICKET_NOT_HELD,
                non_retryable=True,
            )
        assert self.ticket_holder == hold.order_id
        if self.ticket_status != "sold":
            self.ticket_status = "sold"
            self.sold_to = hold.buyer_id
            self.events.append(("ticket.updated", hold.order_id))

    @activity.defn(name=Activity.MARK_AWAITING_PAYMENT)
    async def mark_order_awaiting_payment(self, step: AwaitingPaymentInput) -> None:
        await self._called(Activity.MARK_AWAITING_PAYMENT)
        if self.orders.get(step.order_id, "created") == "created":
            self.orders[step.order_id] = "awaiting:payment"
            self.order_price_cents[step.order_id] = step.price_cents
            self.events.append(("order.created", step.order_id))

    @activity.defn(name=Activity.COMPLETE_ORDER)
    async def complete_order(self, step: OrderInput) -> None:
        await self._called(Activity.COMPLETE_ORDER)
        if self.orders.get(step.order_id) == "awaiting:payment":
            self.orders[step.order_id] = "complete"
            self.events.append(("order.completed", step.order_id))

    @activity.defn(name=Activity.CANCEL_ORDER)
    async def cancel_order(self, step: CancelOrderInput) -> None:
        await self._called(Activity.CANCEL_ORDER)
        self.cancelled_refunded[step.order_id] = step.refunded
        self.cancelled_reasons[step.order_id] = step.reason
        status = self.orders.get(step.order_id, "created")
        if status in ("cancelled", "complete"):
            return
        self.orders[step.order_id] = "cancelled"
        if status == "awaiting:payment":
            expired = step.reason is CancelReason.EXPIRED
            self.events.append(("order.expired" if expired else "order.cancelled", step.order_id))

    def authenticated(self, order_id: UUID, status: str = "succeeded") -> None:
        """The buyer authenticates (or fails to): Stripe's PaymentIntent moves."""
        attempt, _ = self.intents[order_id]
        self.intents[order_id] = (attempt, status)

    def _settle(self, order_id: UUID, *, give_up: bool) -> ChargeOutcome:
        attempt, status = self.intents[order_id]
        if status == "requires_action" and give_up:
            status = "canceled"
            self.intents[order_id] = (attempt, status)
        if status == "succeeded":
            del self.intents[order_id]
            if order_id not in self.charges:
                self.charges[order_id] = THREE_DS_TOKEN
                self.events.append(("charge.created", order_id))
            return ChargeOutcome.SUCCEEDED
        if status == "requires_action":
            return ChargeOutcome.REQUIRES_ACTION
        del self.intents[order_id]
        return ChargeOutcome.DECLINED

    @activity.defn(name=Activity.SETTLE_AUTHENTICATION)
    async def settle_authentication(self, step: AuthenticationInput) -> ChargeResult:
        async with self._paying(Activity.SETTLE_AUTHENTICATION):
            waiting = self.intents.get(step.order_id)
            if step.order_id in self.charges:
                outcome = ChargeOutcome.SUCCEEDED
            elif waiting is None or waiting[0] != step.attempt:
                outcome = ChargeOutcome.DECLINED
            else:
                outcome = self._settle(step.order_id, give_up=step.give_up)
            return ChargeResult(
                payment_id=uuid4(),
                stripe_id=f"pi_{step.attempt}",
                outcome=outcome,
                client_secret=f"pi_{step.attempt}_secret" if outcome == "requires_action" else None,
                message=AUTHENTICATION_FAILED if outcome == "declined" else None,
            )

    @activity.defn(name=Activity.CHARGE)
    async def charge(self, charge: ChargeInput) -> ChargeResult:
        async with self._paying(Activity.CHARGE):
            # An earlier attempt's authentication is settled for good first.
            earlier = charge.order_id in self.intents
            if earlier and self._settle(charge.order_id, give_up=True) is ChargeOutcome.SUCCEEDED:
                return ChargeResult(payment_id=uuid4(), stripe_id="pi_earlier")
            if charge.token == THREE_DS_TOKEN and charge.accepts_authentication:
                self.intents[charge.order_id] = (charge.attempt, "requires_action")
                return ChargeResult(
                    payment_id=uuid4(),
                    stripe_id=f"pi_{charge.attempt}",
                    outcome=ChargeOutcome.REQUIRES_ACTION,
                    client_secret=f"pi_{charge.attempt}_secret",
                )
            if charge.token in (DECLINED_TOKEN, THREE_DS_TOKEN):
                raise ApplicationError(
                    DECLINE_MESSAGE, type=FailureType.CARD_DECLINED, non_retryable=True
                )
            assert charge.order_id not in self.charges, "charged twice"
            self.charges[charge.order_id] = charge.token
            self.charged_cents[charge.order_id] = charge.amount_cents
            self.events.append(("charge.created", charge.order_id))
            return ChargeResult(payment_id=uuid4(), stripe_id=f"pi_{charge.attempt}")

    @activity.defn(name=Activity.REFUND)
    async def refund(self, refund: RefundInput) -> RefundOutcome:
        async with self._paying(Activity.REFUND):
            if refund.order_id in self.intents:
                self._settle(refund.order_id, give_up=True)
            if refund.order_id in self.charges and refund.order_id not in self.refunds:
                self.refunds.append(refund.order_id)
            return RefundOutcome(refunded=refund.order_id in self.refunds)


DEFAULT_WINDOW_SECONDS = 15 * 60
# The services' deadline on a call to Temporal, generous here: tests wait, never refuse.
CALL_DEADLINE = timedelta(seconds=30)


def update_error_type(failed: WorkflowUpdateFailedError) -> tuple[str | None, str]:
    """The business failure's type and message behind a refused Update."""
    cause = failed.cause
    assert isinstance(cause, ApplicationError), cause
    return cause.type, cause.message


def pydantic_client(client: Client, codec: PayloadCodec | None = None) -> Client:
    config = client.config()
    config["data_converter"] = data_converter(codec)
    return Client(**config)


@dataclass
class Purchases:
    client: Client
    task_queue: str
    shop: Shop
    started: list[WorkflowHandle[PurchaseWorkflow, PurchaseState]] = field(default_factory=list)

    async def start(
        self,
        *,
        window_seconds: int = DEFAULT_WINDOW_SECONDS,
        order_id: UUID | None = None,
        ticket_id: UUID | None = None,
        with_search_attributes: bool = True,
        price_cents: int = 2550,
        expected_price_cents: int | None = None,
        authentication_grace_seconds: int = 0,
        buyer_id: UUID | None = None,
    ) -> WorkflowHandle[PurchaseWorkflow, PurchaseState]:
        purchase = PurchaseInput(
            order_id=order_id or uuid4(),
            ticket_id=ticket_id or uuid4(),
            buyer_id=buyer_id or uuid4(),
            price_cents=price_cents,
            payment_window_seconds=window_seconds,
            expected_price_cents=expected_price_cents,
            authentication_grace_seconds=authentication_grace_seconds,
        )
        handle = await self.client.start_workflow(
            PurchaseWorkflow.run,
            purchase,
            id=workflow_id(purchase.order_id),
            task_queue=self.task_queue,
            search_attributes=initial_search_attributes(
                status="created", ticket_id=str(purchase.ticket_id), buyer_id=str(purchase.buyer_id)
            )
            if with_search_attributes
            else None,
        )
        self.started.append(handle)
        return handle

    async def order(
        self,
        *,
        window_seconds: int = DEFAULT_WINDOW_SECONDS,
        authentication_grace_seconds: int = 0,
        price_cents: int = 2550,
        expected_price_cents: int | None = None,
    ) -> WorkflowHandle[PurchaseWorkflow, PurchaseState]:
        """Starts a purchase as the orders service does (Update-with-Start, through its
        purchase client), returning once it answered (a refusal raised as the orders
        service's error); the saga's handle either way."""
        purchase = PurchaseInput(
            order_id=uuid4(),
            ticket_id=uuid4(),
            buyer_id=uuid4(),
            price_cents=price_cents,
            payment_window_seconds=window_seconds,
            expected_price_cents=expected_price_cents,
            authentication_grace_seconds=authentication_grace_seconds,
        )
        handle = self.client.get_workflow_handle_for(
            PurchaseWorkflow.run, workflow_id(purchase.order_id)
        )
        self.started.append(handle)
        await orders_purchase_client.start_purchase(self.client, purchase, deadline=CALL_DEADLINE)
        return handle

    async def pay(
        self,
        handle: WorkflowHandle[PurchaseWorkflow, PurchaseState],
        token: str = "pm_card_visa",
        *,
        key: str | None = None,
    ) -> PaymentAnswer:
        """Pays as the payments service does (its purchase client), with ``key`` as the
        request's Idempotency-Key."""
        order_id = UUID(handle.id.removeprefix("order-"))
        request = PaymentRequest(order_id=order_id, buyer_id=uuid4(), token=token)
        return await payments_purchase_client.pay(
            self.client,
            request,
            idempotency_key=key,
            deadline=CALL_DEADLINE,
            answer_deadline=CALL_DEADLINE,
        )

    async def called(self, activity_name: str, times: int = 1) -> None:
        """Once the shop's ``activity_name`` has been called ``times`` times."""

        async def enough() -> bool:
            return self.shop.calls.count(activity_name) >= times

        await eventually(enough, within=20, what=f"{activity_name} to be called")

    async def end_what_is_left(self) -> None:
        """Terminates the purchases a test left running. Their worker goes with the test,
        and a timer of theirs firing later would give the test server a task nobody
        takes, which stops it skipping time for every test after."""
        for handle in self.started:
            described = await handle.describe()
            if described.status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("the test is over")


@contextlib.asynccontextmanager
async def running_purchases(
    client: Client, shop: Shop, *, codec: PayloadCodec | None = None
) -> AsyncIterator[Purchases]:
    """The services' workers, as worker/main.py runs them (the saga on the orders queue,
    its worker running the orders steps too), against the shop's activities, for the
    duration of one test; payloads encrypted by ``codec``."""
    client = pydantic_client(client, codec)
    workers = [
        Worker(
            client,
            task_queue=queue,
            workflows=[PurchaseWorkflow] if queue is TaskQueue.ORDERS else [],
            activities=shop.activities(queue),
        )
        for queue in TaskQueue
    ]
    async with contextlib.AsyncExitStack() as stack:
        for worker in workers:
            await stack.enter_async_context(worker)
        purchases = Purchases(client, TaskQueue.ORDERS, shop)
        yield purchases
        await purchases.end_what_is_left()
