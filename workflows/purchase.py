"""The purchase saga: lock the ticket, wait for payment within the window, then complete
the order, or cancel it and undo what was done.

Workflow code only: no I/O, no clock but ``workflow.now()``, activities called by name.
A change to what this code does for a running purchase must keep replaying its history
(tests/replay): branch on ``workflow.patched("<change id>")`` rather than editing steps.

The saga's rules (README, "The purchase saga"):

- Before money is taken, any failure undoes. Once paid, the saga only goes forward: the
  completing steps retry without limit, and only a business refusal undoes (refunds).
- One payment interaction (a charge or a settle) at a time: ``_payment_lock``, which the
  ``pay`` Update, the settle on Stripe's webhook and the window's end all take.
- Compensations are ordinary activities, retried without limit.
- Cancelling the workflow (an operator) is a cancel request like the buyer's: the step
  under way finishes, a payment under way decides, and a paid purchase completes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import (
        CANCELLING,
        ORDER_STATUS,
        CancelReason,
        OrderStatus,
        PurchaseError,
        TaskQueue,
    )
    from workflows.models import (
        AuthenticationInput,
        Canceller,
        ChargeInput,
        ChargeOutcome,
        ChargeResult,
        PaymentEvent,
        PaymentReceipt,
        PaymentRequest,
        PaymentStep,
        Phase,
        PurchaseInput,
        PurchaseState,
        RefundInput,
        RefundOutcome,
    )
    from workflows.steps import (
        Activity,
        AwaitingPaymentInput,
        CancelOrderInput,
        LockedTicket,
        OrderInput,
        TicketHold,
        TicketSale,
    )


STEP_TIMEOUT = timedelta(seconds=10)
CHARGE_TIMEOUT = timedelta(seconds=30)
# Stripe may take up to a minute a call (the gateway's timeout and retries), and a refund
# makes a few calls: each attempt may take this long.
REFUND_TIMEOUT = timedelta(minutes=6)
# Before payment a step gives up after a while (and the purchase is undone); the buyer
# waits for it.
FORWARD_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=8,
)
# Once money is taken, the saga only goes forward: completing steps never give up, nor
# does a compensation (the ticket must be released and the money returned).
UNLIMITED_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=30)
)
# "Payment in progress" from the payments activity is retryable; the buyer is waiting.
CHARGE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=6,
)
# A completing step that fails without a business reason, and says it is not worth
# retrying (a bug), is run again after this pause, until a fix is deployed.
UNEXPECTED_FAILURE_PAUSE = timedelta(minutes=5)
# What may stop a paid purchase from completing: a refusal by the service that owns the
# step, the only failures after payment that undo the purchase (and refund).
BUSINESS_REFUSALS = frozenset({PurchaseError.TICKET_NOT_HELD, PurchaseError.ORDER_NOT_PAYABLE})

RESERVATION_FAILED = "ReservationFailed"

# The orders worker runs this workflow, so the orders service's own steps run in it as
# local activities: no trip through a task queue.
LOCAL_ORDER_STEPS = "local-order-steps"
# The lock fixes the price: reserving answers the ticket's price at that moment, which is
# what the order costs and the charge takes (the replica's may lag a seller's edit).
LOCKED_PRICE = "locked-price"
# A card may need the buyer's authentication (3-D Secure): the charge answers that it
# waits for it, Stripe's webhook (the payment_event signal) or the saga's own look at the
# end of the window settles it.
THREE_D_SECURE = "three-d-secure"
# The saga's rules (module docstring): after payment only a business refusal undoes the
# purchase; compensations run as ordinary activities, with OrderStatus "cancelling"
# meanwhile; a settle waits for a charge under way; Stripe's word heard before a charge
# does not make the saga look again after it.
SAGA_RULES = "saga-rules"
# Sold means re-issued: marking the ticket sold names the buyer, who becomes its holder
# (a new entry code) in the same change, voiding the seller's code.
REISSUE_ON_SALE = "reissue-on-sale"


class Reservation(StrEnum):
    RESERVED = "reserved"
    UNAVAILABLE = "unavailable"
    PRICE_CHANGED = "price_changed"
    FAILED = "failed"


def failure_type(error: ActivityError) -> str | None:
    cause = error.cause
    return cause.type if isinstance(cause, ApplicationError) else None


def refused(message: str, error: PurchaseError) -> ApplicationError:
    return ApplicationError(message, type=error, non_retryable=True)


Compensation = Callable[[], Awaitable[None]]


@workflow.defn(name="Purchase")
class PurchaseWorkflow:
    @workflow.init
    def __init__(self, purchase: PurchaseInput) -> None:
        self._purchase = purchase
        self._state = PurchaseState(price_cents=purchase.price_cents)
        self._reservation: Reservation | None = None
        # Held by the one payment interaction under way (``_state.paying`` says which).
        self._payment_lock = asyncio.Lock()
        # Registered before the step each undoes; run last-first.
        self._compensations: list[Compensation] = []
        # Whether this run's compensations are ordinary activities (SAGA_RULES).
        self._undo_remotely = False

    # --- the saga ---------------------------------------------------------------------

    @workflow.run
    async def run(self, purchase: PurchaseInput) -> PurchaseState:
        # The saga runs in a task that cancelling the workflow does not reach: a cancel
        # becomes a request it honours where it can.
        saga = asyncio.create_task(self._purchase_ticket())
        while not saga.done():
            try:
                await asyncio.shield(saga)
            except asyncio.CancelledError:
                self._cancelled_by_operator()
        saga.result()
        await workflow.wait_condition(workflow.all_handlers_finished)
        state = self._state
        if state.cancel_requested is Canceller.OPERATOR:
            if state.cancel_reason is CancelReason.CANCELLED:
                # Undone because of it: the workflow ends cancelled.
                raise asyncio.CancelledError("cancelled by an operator; compensated")
            workflow.logger.warning("cancel requested after payment: the order %s", state.status)
        return state

    def _cancelled_by_operator(self) -> None:
        state = self._state
        if state.phase in (Phase.COMPENSATING, Phase.CANCELLED):
            return  # being undone already: the compensations finish
        if state.receipt is not None:
            workflow.set_current_details(
                "Cancel requested after payment: the order completes (forward only)."
            )
        if state.cancel_requested is None:
            state.cancel_requested = Canceller.OPERATOR

    async def _purchase_ticket(self) -> None:
        self._compensations.append(self._cancel_order)
        self._compensations.append(self._release_ticket)
        try:
            if workflow.patched(LOCKED_PRICE):
                locked = await self._reserve_at_locked_price()
                if locked is None:
                    return
            else:
                await self._step(Activity.RESERVE_TICKET, self._hold, TaskQueue.TICKETS)
                self._state.ticket_reserved = True
            self._state.deadline = workflow.now() + timedelta(
                seconds=self._purchase.payment_window_seconds
            )
            await self._step(
                Activity.MARK_AWAITING_PAYMENT,
                AwaitingPaymentInput(
                    order_id=self._purchase.order_id,
                    expires_at=self._state.deadline,
                    price_cents=self._state.price_cents,
                ),
                TaskQueue.ORDERS,
            )
        except ActivityError as error:
            unavailable = failure_type(error) == PurchaseError.TICKET_UNAVAILABLE
            self._reservation = Reservation.UNAVAILABLE if unavailable else Reservation.FAILED
            if not unavailable:
                workflow.logger.warning("reserving failed; undoing", exc_info=True)
            await self._undo(
                CancelReason.TICKET_UNAVAILABLE if unavailable else CancelReason.CANCELLED
            )
            return
        self._state.phase = Phase.AWAITING_PAYMENT
        self._set_status(OrderStatus.AWAITING_PAYMENT)
        self._reservation = Reservation.RESERVED

        await self._wait_for_payment_or_cancel()
        if self._state.receipt is None:
            cancelled = self._state.cancel_requested is not None
            await self._undo(CancelReason.CANCELLED if cancelled else CancelReason.EXPIRED)
            return
        await self._complete()

    async def _reserve_at_locked_price(self) -> LockedTicket | None:
        """Lock the ticket; it costs what it cost at that moment. None when that is not
        the price the buyer saw: then the ticket is released before the buyer hears."""
        locked: LockedTicket = await workflow.execute_activity(
            Activity.RESERVE_TICKET,
            self._hold,
            task_queue=TaskQueue.TICKETS,
            result_type=LockedTicket,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=FORWARD_RETRY,
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        self._state.ticket_reserved = True
        expected = self._purchase.expected_price_cents
        if expected is not None and locked.price_cents != expected:
            await self._undo(CancelReason.PRICE_CHANGED)
            self._reservation = Reservation.PRICE_CHANGED
            return None
        self._state.price_cents = locked.price_cents
        return locked

    async def _wait_for_payment_or_cancel(self) -> None:
        assert self._state.deadline is not None
        await self._wait_for_payment_until(self._state.deadline)
        self._state.phase = Phase.CLOSING
        # A payment interaction begun inside the window decides the outcome, even if it
        # ends after it: the window's end waits for it.
        async with self._payment_lock:
            pass
        if self._awaiting_authentication():
            # So may an authentication begun inside it, within the grace; then the saga
            # asks Stripe itself (its webhook may never come) and gives up on what is
            # still unfinished.
            grace = timedelta(seconds=self._purchase.authentication_grace_seconds)
            await self._wait_for_payment_until(workflow.now() + grace)
            if self._awaiting_authentication():
                await self._settle_authentication(give_up=True)

    async def _wait_for_payment_until(self, until: datetime) -> None:
        """Until paid, cancelled or ``until``; settling the card authentication each time
        Stripe says it moved."""
        state = self._state
        while (remaining := until - workflow.now()) > timedelta(0):
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: (
                        state.receipt is not None
                        or state.cancel_requested is not None
                        or (state.authentication_attempt is not None and state.stripe_moved)
                    ),
                    timeout=remaining,
                )
            if not (state.stripe_moved and self._awaiting_authentication()):
                return
            state.stripe_moved = False
            await self._settle_authentication(give_up=False)

    def _awaiting_authentication(self) -> bool:
        return (
            self._state.authentication_attempt is not None
            and self._state.receipt is None
            and self._state.cancel_requested is None
        )

    async def _settle_authentication(self, *, give_up: bool) -> None:
        """What Stripe says of the authentication decides: paid, declined (the buyer may
        try another card), or still with the buyer. Giving up, an unfinished one is
        cancelled on Stripe's side so that it can no longer take money. Waits for a
        charge under way, which may have settled it already."""
        if self._payment_lock.locked() and not workflow.patched(SAGA_RULES):
            # A purchase begun before the rules settled beside a charge: as its history did.
            await self._settle(give_up=give_up)
            return
        async with self._payment_lock:
            if self._state.authentication_attempt is not None and self._state.receipt is None:
                await self._settle(give_up=give_up)

    async def _settle(self, *, give_up: bool) -> None:
        attempt = self._state.authentication_attempt
        assert attempt is not None
        self._state.paying = PaymentStep.SETTLE
        try:
            settled: ChargeResult = await workflow.execute_activity(
                Activity.SETTLE_AUTHENTICATION,
                AuthenticationInput(
                    order_id=self._purchase.order_id, attempt=attempt, give_up=give_up
                ),
                task_queue=TaskQueue.PAYMENTS,
                result_type=ChargeResult,
                start_to_close_timeout=CHARGE_TIMEOUT,
                # Giving up must come to an answer; a look on a webhook may fail, the
                # look at the window's end follows.
                retry_policy=UNLIMITED_RETRY if give_up else CHARGE_RETRY,
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        except ActivityError:
            workflow.logger.warning("settling a card authentication failed", exc_info=True)
            return
        finally:
            self._state.paying = None
        if settled.outcome is ChargeOutcome.SUCCEEDED:
            self._state.receipt = PaymentReceipt(
                payment_id=settled.payment_id, stripe_id=settled.stripe_id
            )
            self._state.authentication_attempt = None
        elif settled.outcome is ChargeOutcome.DECLINED:
            self._state.authentication_attempt = None

    async def _complete(self) -> None:
        """Paid: forward only. Each step retries until it succeeds; only a refusal by the
        service that owns it (the ticket is no longer held by this order, the order no
        longer awaits payment) undoes the purchase, and the order says why."""
        self._state.phase = Phase.COMPLETING
        try:
            sale = self._sale if workflow.patched(REISSUE_ON_SALE) else self._hold
            await self._forward(Activity.MARK_TICKET_SOLD, sale, TaskQueue.TICKETS)
            await self._forward(
                Activity.COMPLETE_ORDER,
                OrderInput(order_id=self._purchase.order_id),
                TaskQueue.ORDERS,
            )
        except ActivityError as refusal:
            workflow.logger.warning(
                "completing a paid order was refused (%s); refunding", failure_type(refusal)
            )
            await self._undo(CancelReason.COMPLETION_REFUSED)
            return
        self._compensations.clear()
        self._state.phase = Phase.COMPLETE
        self._set_status(OrderStatus.COMPLETE)

    async def _forward(self, activity: Activity, arg: Any, queue: TaskQueue) -> None:
        """A completing step: retried without limit; raises only a business refusal.

        An orders step runs in the saga's worker first (a local activity) for a bounded
        time; failing that, as an ordinary activity, whose retries show in the Web UI
        and cost the history nothing however long they last."""
        local = queue is TaskQueue.ORDERS
        while True:
            try:
                if local:
                    await self._step(activity, arg, queue)
                else:
                    await self._remote_step(activity, arg, queue, UNLIMITED_RETRY)
                return
            except ActivityError as error:
                if failure_type(error) in BUSINESS_REFUSALS or not workflow.patched(SAGA_RULES):
                    # (Purchases begun before the rules undid on any failure.)
                    raise
                if local:
                    workflow.logger.warning("%s failed; retrying it on its queue", activity)
                    local = False
                    continue
                workflow.logger.error(
                    "%s failed without a business reason; trying again in %s",
                    activity,
                    UNEXPECTED_FAILURE_PAUSE,
                    exc_info=True,
                )
            await workflow.sleep(UNEXPECTED_FAILURE_PAUSE)

    # --- compensation -------------------------------------------------------------------

    async def _undo(self, reason: CancelReason) -> None:
        """Run the compensations last-first, each to its end (the saga's task is out of
        reach of a workflow cancel)."""
        self._state.cancel_reason = reason
        self._state.phase = Phase.COMPENSATING
        self._undo_remotely = workflow.patched(SAGA_RULES)
        if self._undo_remotely:
            # Visible in the Web UI: OrderStatus="cancelling" while it lasts.
            self._set_status(CANCELLING)
        while self._compensations:
            await self._compensations.pop()()
        self._state.phase = Phase.CANCELLED
        self._set_status(OrderStatus.CANCELLED)

    async def _cancel_order(self) -> None:
        await self._compensate(
            Activity.CANCEL_ORDER,
            CancelOrderInput(
                order_id=self._purchase.order_id,
                reason=self._state.cancel_reason or CancelReason.CANCELLED,
                refunded=self._state.refunded,
            ),
            TaskQueue.ORDERS,
        )

    async def _release_ticket(self) -> None:
        await self._compensate(Activity.RELEASE_TICKET, self._hold, TaskQueue.TICKETS)
        self._state.ticket_reserved = False

    async def _refund(self) -> None:
        """Refunds what was taken, if anything: an authentication still under way is
        settled first (it may have succeeded after all)."""
        refund: RefundOutcome | None = await workflow.execute_activity(
            Activity.REFUND,
            RefundInput(order_id=self._purchase.order_id),
            task_queue=TaskQueue.PAYMENTS,
            result_type=RefundOutcome,
            start_to_close_timeout=REFUND_TIMEOUT if self._undo_remotely else STEP_TIMEOUT,
            retry_policy=UNLIMITED_RETRY,
        )
        self._state.authentication_attempt = None
        # (A payments worker older than RefundOutcome answered nothing.)
        self._state.refunded = (
            refund.refunded if refund is not None else self._state.receipt is not None
        )

    async def _compensate(self, activity: Activity, arg: Any, queue: TaskQueue) -> None:
        if self._undo_remotely:
            await self._remote_step(activity, arg, queue, UNLIMITED_RETRY)
        else:
            await self._step(activity, arg, queue, UNLIMITED_RETRY)

    # --- messages -------------------------------------------------------------------------

    @workflow.update
    async def wait_reserved(self) -> PurchaseState:
        """Answers once the ticket is locked for this order (or could not be)."""
        await workflow.wait_condition(lambda: self._reservation is not None)
        if self._reservation is Reservation.UNAVAILABLE:
            raise refused("Ticket is already reserved", PurchaseError.TICKET_UNAVAILABLE)
        if self._reservation is Reservation.PRICE_CHANGED:
            raise refused("Ticket price changed", PurchaseError.PRICE_CHANGED)
        if self._reservation is Reservation.FAILED:
            raise ApplicationError("The ticket could not be reserved", type=RESERVATION_FAILED)
        return self._state

    @workflow.update
    async def pay(self, request: PaymentRequest) -> PaymentReceipt:
        # Again: what the validator saw may have moved before the handler ran.
        self._refuse_unless_payable(request)
        async with self._payment_lock:
            self._check_payable(request, lock_free=False)
            self._state.paying = PaymentStep.CHARGE
            try:
                return await self._charge(request)
            finally:
                self._state.paying = None

    async def _charge(self, request: PaymentRequest) -> PaymentReceipt:
        state = self._state
        state.payment_attempts += 1
        if state.payment_attempts == 1:
            self._compensations.append(self._refund)
        if state.stripe_moved and workflow.patched(SAGA_RULES):
            # What Stripe said so far is settled by this charge (it settles an earlier
            # attempt's authentication first).
            state.stripe_moved = False
        try:
            assert state.price_cents is not None
            charged: ChargeResult = await workflow.execute_activity(
                Activity.CHARGE,
                ChargeInput(
                    order_id=self._purchase.order_id,
                    buyer_id=request.buyer_id,
                    amount_cents=state.price_cents,
                    token=request.token,
                    attempt=state.payment_attempts,
                    accepts_authentication=workflow.patched(THREE_D_SECURE),
                ),
                task_queue=TaskQueue.PAYMENTS,
                result_type=ChargeResult,
                start_to_close_timeout=CHARGE_TIMEOUT,
                retry_policy=CHARGE_RETRY,
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        except ActivityError as error:
            if failure_type(error) == PurchaseError.CARD_DECLINED:
                state.authentication_attempt = None
                cause = error.cause
                message = cause.message if isinstance(cause, ApplicationError) else str(error)
                # The buyer may try again, with another card, until the window ends.
                raise refused(message, PurchaseError.CARD_DECLINED) from None
            raise
        # The charge settled any authentication an earlier attempt left unfinished.
        state.authentication_attempt = None
        if charged.outcome is ChargeOutcome.REQUIRES_ACTION:
            state.authentication_attempt = state.payment_attempts
            return PaymentReceipt(
                payment_id=charged.payment_id,
                stripe_id=charged.stripe_id,
                status=ChargeOutcome.REQUIRES_ACTION,
                client_secret=charged.client_secret,
            )
        state.receipt = PaymentReceipt(payment_id=charged.payment_id, stripe_id=charged.stripe_id)
        return state.receipt

    @pay.validator
    def _refuse_unless_payable(self, request: PaymentRequest) -> None:
        self._check_payable(request, lock_free=True)

    def _check_payable(self, request: PaymentRequest, *, lock_free: bool) -> None:
        """The one home of "may this order be paid now" (the payments route maps its
        refusals to 409 with these messages)."""
        state = self._state
        if state.receipt is not None or state.phase in (Phase.COMPLETING, Phase.COMPLETE):
            raise refused("Order has already been paid", PurchaseError.NOT_AWAITING_PAYMENT)
        if request.order_id != self._purchase.order_id:
            raise refused("Payment is for another order", PurchaseError.NOT_AWAITING_PAYMENT)
        if state.cancel_requested is not None or state.phase in (
            Phase.COMPENSATING,
            Phase.CANCELLED,
        ):
            raise refused("Cannot pay for a cancelled order", PurchaseError.NOT_AWAITING_PAYMENT)
        ended = state.deadline is not None and workflow.now() >= state.deadline
        if state.phase is Phase.CLOSING or ended:
            raise refused("The payment window has ended", PurchaseError.NOT_AWAITING_PAYMENT)
        if state.phase is not Phase.AWAITING_PAYMENT:
            raise refused("Order is not awaiting payment", PurchaseError.NOT_AWAITING_PAYMENT)
        if lock_free and self._payment_lock.locked():
            raise refused("A payment is already in progress", PurchaseError.NOT_AWAITING_PAYMENT)

    @workflow.signal
    def payment_event(self, event: PaymentEvent) -> None:
        """Stripe says a PaymentIntent moved: only a reason to look (the saga asks
        Stripe), so a duplicate or a stale one costs a look and changes nothing."""
        workflow.logger.info("Stripe: %s for %s", event.event_type, event.payment_intent_id)
        self._state.stripe_moved = True

    @workflow.update
    async def cancel(self) -> PurchaseState:
        """The buyer cancels; answers once the order is cancelled and the ticket released."""
        # A payment under way decides first.
        async with self._payment_lock:
            if self._state.receipt is not None:
                raise refused("Cannot cancel a paid order", PurchaseError.ALREADY_PAID)
            if self._state.cancel_requested is None:
                self._state.cancel_requested = Canceller.BUYER
        await workflow.wait_condition(lambda: self._state.phase is Phase.CANCELLED)
        return self._state

    @cancel.validator
    def _refuse_if_paid(self) -> None:
        if self._state.receipt is not None or self._state.phase is Phase.COMPLETE:
            raise refused("Cannot cancel a paid order", PurchaseError.ALREADY_PAID)

    @workflow.query
    def state(self) -> PurchaseState:
        return self._state

    # --- helpers ----------------------------------------------------------------------------

    @property
    def _hold(self) -> TicketHold:
        return TicketHold(ticket_id=self._purchase.ticket_id, order_id=self._purchase.order_id)

    @property
    def _sale(self) -> TicketSale:
        purchase = self._purchase
        return TicketSale(
            ticket_id=purchase.ticket_id, order_id=purchase.order_id, buyer_id=purchase.buyer_id
        )

    def _set_status(self, status: str) -> None:
        self._state.status = status
        workflow.upsert_search_attributes([ORDER_STATUS.value_set(status)])

    async def _step(
        self, activity: Activity, arg: Any, queue: TaskQueue, retry: RetryPolicy = FORWARD_RETRY
    ) -> None:
        if queue is TaskQueue.ORDERS and workflow.patched(LOCAL_ORDER_STEPS):
            await workflow.execute_local_activity(
                activity,
                arg,
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=retry,
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
            return
        await self._remote_step(activity, arg, queue, retry)

    async def _remote_step(
        self, activity: Activity, arg: Any, queue: TaskQueue, retry: RetryPolicy
    ) -> None:
        await workflow.execute_activity(
            activity,
            arg,
            task_queue=queue,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=retry,
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
