"""The purchase saga: lock the ticket, wait for payment within the window, then complete
the order, or cancel it and undo what was done.

Workflow code only: no I/O, no clock but ``workflow.now()``; activities called through
their signature-only stubs (workflows/activity_stubs.py).
A change to what this code does for a running purchase must keep replaying its history
(tests/replay): branch on ``workflow.patched("<change id>")`` rather than editing steps.

The saga's rules (docs/saga.md, "The saga's rules"):

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
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from workflows import activity_stubs as stubs
    from workflows.contracts import (
        CANCELLING,
        ORDER_STATUS,
        CancelReason,
        FailureType,
        OrderStatus,
        PaymentRefusal,
        TaskQueue,
    )
    from workflows.models import (
        AuthenticationInput,
        Canceller,
        ChargeInput,
        ChargeOutcome,
        PaymentAnswer,
        PaymentEvent,
        PaymentRequest,
        PaymentStep,
        Phase,
        PurchaseInput,
        PurchaseState,
        RefundInput,
    )
    from workflows.steps import (
        AwaitingPaymentInput,
        CancelOrderInput,
        LockedTicket,
        OrderInput,
        TicketHold,
        TicketSale,
    )


STEP_TIMEOUT = timedelta(seconds=10)
# A step before payment gives up within this (the buyer waits for it).
RESERVING_BOUND = timedelta(minutes=1)
# One Stripe call at worst: the payments gateway's request timeout times its tries, plus
# its backoff (tests/payments/test_timeouts.py holds the two together). The payments
# activities heartbeat before each call; each attempt may make this many calls.
STRIPE_CALL = timedelta(seconds=75)
STRIPE_HEARTBEAT = STRIPE_CALL + timedelta(seconds=15)
CHARGE_CALLS, SETTLE_CALLS, REFUND_CALLS = 4, 2, 5
CHARGE_TIMEOUT = STRIPE_CALL * CHARGE_CALLS + STEP_TIMEOUT
SETTLE_TIMEOUT = STRIPE_CALL * SETTLE_CALLS + STEP_TIMEOUT
REFUND_TIMEOUT = STRIPE_CALL * REFUND_CALLS + STEP_TIMEOUT
# What a buyer's payment may take in all, retries included: the pay Update answers by then.
CHARGE_BOUND = CHARGE_TIMEOUT + timedelta(minutes=1)
# The longest any one activity attempt of the saga may run: a worker's shutdown grace
# covers it.
LONGEST_ACTIVITY = max(CHARGE_TIMEOUT, SETTLE_TIMEOUT, REFUND_TIMEOUT, STEP_TIMEOUT)
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
BUSINESS_REFUSALS = frozenset({FailureType.TICKET_NOT_HELD, FailureType.ORDER_NOT_PAYABLE})

RESERVATION_FAILED = "ReservationFailed"


class Reservation(StrEnum):
    RESERVED = "reserved"
    UNAVAILABLE = "unavailable"
    PRICE_CHANGED = "price_changed"
    FAILED = "failed"


# How a failed step reaches the saga: as ActivityError, or (a local activity's, once the
# workflow has been asked to cancel) as the activity's own ApplicationError.
StepFailed = (ActivityError, ApplicationError)


def failure_type(error: BaseException) -> str | None:
    cause = error.cause if isinstance(error, ActivityError) else error
    return cause.type if isinstance(cause, ApplicationError) else None


def failure_message(error: BaseException) -> str:
    cause = error.cause if isinstance(error, ActivityError) else error
    return cause.message if isinstance(cause, ApplicationError) else str(error)


def refused(message: str, error: FailureType) -> ApplicationError:
    return ApplicationError(message, type=error, non_retryable=True)


def not_payable(message: str, why: PaymentRefusal) -> ApplicationError:
    return ApplicationError(
        message, why.value, type=FailureType.NOT_AWAITING_PAYMENT, non_retryable=True
    )


Compensation = Callable[[], Awaitable[None]]
A = TypeVar("A")
# An activity of the saga's (activity_stubs) taking an ``A``, whose answer the step ignores.
Step = Callable[[A], Awaitable[object]]


# What each step does, as the Web UI shows it beside the activity.
SUMMARIES = {
    "mark_order_awaiting_payment": "the order awaits payment",
    "mark_ticket_sold": "paid: sell the ticket (retried until done)",
    "complete_order": "paid: complete the order (retried until done)",
    "release_ticket": "undo: release the ticket",
    "cancel_order": "undo: cancel the order",
}


def _name(activity: Callable[..., object]) -> str:
    return getattr(activity, "__name__", str(activity))


def _bound(retry: RetryPolicy) -> timedelta | None:
    """A step that may give up does so within what a buyer waits; one retried without
    limit (past payment, or undoing) has no bound."""
    return RESERVING_BOUND if retry.maximum_attempts else None


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

    # --- the saga ---------------------------------------------------------------------

    @workflow.run
    async def run(self, purchase: PurchaseInput) -> PurchaseState:
        # The saga runs in a task that cancelling the workflow does not reach: a cancel
        # becomes a request it honours where it can. A cancel that came with the start
        # (the caller gave up waiting for it) is heard first: the saga then does nothing.
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            self._cancelled_by_operator()
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
        if state.cancel_requested is None:
            state.cancel_requested = Canceller.OPERATOR
        self._enter(state.phase)

    async def _purchase_ticket(self) -> None:
        self._compensations.append(self._cancel_order)
        self._compensations.append(self._release_ticket)
        if self._state.cancel_requested is not None:
            self._reservation = Reservation.FAILED
            await self._undo(CancelReason.CANCELLED)
            return
        try:
            if await self._reserve_at_locked_price() is None:
                return
            self._state.deadline = workflow.now() + timedelta(
                seconds=self._purchase.payment_window_seconds
            )
            await self._step(
                stubs.mark_order_awaiting_payment,
                AwaitingPaymentInput(
                    order_id=self._purchase.order_id,
                    expires_at=self._state.deadline,
                    price_cents=self._state.price_cents,
                ),
                TaskQueue.ORDERS,
            )
        except StepFailed as error:
            unavailable = failure_type(error) == FailureType.TICKET_UNAVAILABLE
            if unavailable:
                self._state.refusal = failure_message(error)
            self._reservation = Reservation.UNAVAILABLE if unavailable else Reservation.FAILED
            if not unavailable:
                workflow.logger.warning("reserving failed; undoing", exc_info=True)
            await self._undo(
                CancelReason.TICKET_UNAVAILABLE if unavailable else CancelReason.CANCELLED
            )
            return
        self._enter(Phase.AWAITING_PAYMENT)
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
        locked = await workflow.execute_activity(
            stubs.reserve_ticket,
            self._hold,
            task_queue=TaskQueue.TICKETS,
            summary="lock the ticket for this order",
            start_to_close_timeout=STEP_TIMEOUT,
            schedule_to_close_timeout=RESERVING_BOUND,
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
        self._enter(Phase.CLOSING)
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
                    timeout_summary="payment window"
                    if state.phase is Phase.AWAITING_PAYMENT
                    else "card authentication grace",
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
        async with self._payment_lock:
            if self._state.authentication_attempt is not None and self._state.receipt is None:
                await self._settle(give_up=give_up)

    async def _settle(self, *, give_up: bool) -> None:
        attempt = self._state.authentication_attempt
        assert attempt is not None
        self._state.paying = PaymentStep.SETTLE
        try:
            settled = await workflow.execute_activity(
                stubs.settle_authentication,
                AuthenticationInput(
                    order_id=self._purchase.order_id, attempt=attempt, give_up=give_up
                ),
                task_queue=TaskQueue.PAYMENTS,
                summary="settle the card authentication (give up: cancel it)"
                if give_up
                else "settle the card authentication",
                start_to_close_timeout=SETTLE_TIMEOUT,
                heartbeat_timeout=STRIPE_HEARTBEAT,
                # Giving up must reach an answer; a settle triggered by a webhook may
                # fail, as the one at the window's end follows it.
                retry_policy=UNLIMITED_RETRY if give_up else CHARGE_RETRY,
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        except ActivityError:
            workflow.logger.warning("settling a card authentication failed", exc_info=True)
            return
        finally:
            self._state.paying = None
        if settled.outcome is ChargeOutcome.SUCCEEDED:
            self._state.receipt = PaymentAnswer(
                payment_id=settled.payment_id, stripe_id=settled.stripe_id
            )
            self._state.authentication_attempt = None
        elif settled.outcome is ChargeOutcome.DECLINED:
            self._state.authentication_attempt = None

    async def _complete(self) -> None:
        """Paid: forward only. Each step retries until it succeeds; only a refusal by the
        service that owns it (the ticket is no longer held by this order, the order no
        longer awaits payment) undoes the purchase, and the order says why."""
        self._enter(Phase.COMPLETING)
        try:
            await self._forward(stubs.mark_ticket_sold, self._sale(), TaskQueue.TICKETS)
            await self._forward(
                stubs.complete_order,
                OrderInput(order_id=self._purchase.order_id),
                TaskQueue.ORDERS,
            )
        except StepFailed as refusal:
            self._state.refusal = failure_message(refusal)
            workflow.logger.warning(
                "completing a paid order was refused (%s); refunding", failure_type(refusal)
            )
            await self._undo(CancelReason.COMPLETION_REFUSED)
            return
        self._compensations.clear()
        self._enter(Phase.COMPLETE)
        self._set_status(OrderStatus.COMPLETE)

    async def _forward(self, activity: Step[A], arg: A, queue: TaskQueue) -> None:
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
            except StepFailed as error:
                if failure_type(error) in BUSINESS_REFUSALS:
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
            await workflow.sleep(
                UNEXPECTED_FAILURE_PAUSE, summary=f"pause before {_name(activity)} again"
            )

    # --- compensation -------------------------------------------------------------------

    async def _undo(self, reason: CancelReason) -> None:
        """Run the compensations last-first, each to its end (the saga's task is out of
        reach of a workflow cancel)."""
        self._state.cancel_reason = reason
        self._enter(Phase.COMPENSATING)
        # Visible in the Web UI: OrderStatus="cancelling" while it lasts.
        self._set_status(CANCELLING)
        while self._compensations:
            await self._compensations.pop()()
        self._enter(Phase.CANCELLED)
        self._set_status(OrderStatus.CANCELLED)

    async def _cancel_order(self) -> None:
        await self._compensate(
            stubs.cancel_order,
            CancelOrderInput(
                order_id=self._purchase.order_id,
                reason=self._state.cancel_reason or CancelReason.CANCELLED,
                refunded=self._state.refunded,
            ),
            TaskQueue.ORDERS,
        )

    async def _release_ticket(self) -> None:
        await self._compensate(stubs.release_ticket, self._hold, TaskQueue.TICKETS)
        self._state.ticket_reserved = False

    async def _refund(self) -> None:
        """Refunds what was taken, if anything: an authentication still under way is
        settled first (it may have succeeded after all)."""
        refund = await workflow.execute_activity(
            stubs.refund,
            RefundInput(order_id=self._purchase.order_id),
            task_queue=TaskQueue.PAYMENTS,
            summary="undo: refund what was charged",
            start_to_close_timeout=REFUND_TIMEOUT,
            heartbeat_timeout=STRIPE_HEARTBEAT,
            retry_policy=UNLIMITED_RETRY,
        )
        self._state.authentication_attempt = None
        self._state.refunded = refund.refunded

    async def _compensate(self, activity: Step[A], arg: A, queue: TaskQueue) -> None:
        await self._remote_step(activity, arg, queue, UNLIMITED_RETRY)

    # --- messages -------------------------------------------------------------------------

    @workflow.update
    async def wait_reserved(self) -> PurchaseState:
        """Answers once the ticket is locked for this order (or could not be)."""
        await workflow.wait_condition(lambda: self._reservation is not None)
        if self._reservation is Reservation.UNAVAILABLE:
            # In the tickets service's words: taken, or its event has started.
            message = self._state.refusal or "Ticket is already reserved"
            raise refused(message, FailureType.TICKET_UNAVAILABLE)
        if self._reservation is Reservation.PRICE_CHANGED:
            raise refused("Ticket price changed", FailureType.PRICE_CHANGED)
        if self._reservation is Reservation.FAILED:
            raise ApplicationError("The ticket could not be reserved", type=RESERVATION_FAILED)
        return self._state

    @workflow.update
    async def pay(self, request: PaymentRequest) -> PaymentAnswer:
        # Again: what the validator saw may have moved before the handler ran.
        self._refuse_unless_payable(request)
        async with self._payment_lock:
            self._check_payable(request, lock_free=False)
            self._state.paying = PaymentStep.CHARGE
            try:
                return await self._charge(request)
            finally:
                self._state.paying = None

    async def _charge(self, request: PaymentRequest) -> PaymentAnswer:
        state = self._state
        state.payment_attempts += 1
        if state.payment_attempts == 1:
            self._compensations.append(self._refund)
        # What Stripe said so far is settled by this charge (it settles an earlier
        # attempt's authentication first).
        state.stripe_moved = False
        try:
            assert state.price_cents is not None
            charged = await workflow.execute_activity(
                stubs.charge,
                ChargeInput(
                    order_id=self._purchase.order_id,
                    buyer_id=request.buyer_id,
                    amount_cents=state.price_cents,
                    token=request.token,
                    attempt=state.payment_attempts,
                    accepts_authentication=True,
                ),
                task_queue=TaskQueue.PAYMENTS,
                summary=f"charge the card (attempt {state.payment_attempts})",
                start_to_close_timeout=CHARGE_TIMEOUT,
                schedule_to_close_timeout=CHARGE_BOUND,
                heartbeat_timeout=STRIPE_HEARTBEAT,
                retry_policy=CHARGE_RETRY,
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        except ActivityError as error:
            if failure_type(error) == FailureType.CARD_DECLINED:
                state.authentication_attempt = None
                cause = error.cause
                message = cause.message if isinstance(cause, ApplicationError) else str(error)
                # The buyer may try again, with another card, until the window ends.
                raise refused(message, FailureType.CARD_DECLINED) from None
            raise
        # The charge settled any authentication an earlier attempt left unfinished.
        state.authentication_attempt = None
        if charged.outcome is ChargeOutcome.REQUIRES_ACTION:
            state.authentication_attempt = state.payment_attempts
            return PaymentAnswer(
                payment_id=charged.payment_id,
                stripe_id=charged.stripe_id,
                status=ChargeOutcome.REQUIRES_ACTION,
                client_secret=charged.client_secret,
            )
        state.receipt = PaymentAnswer(payment_id=charged.payment_id, stripe_id=charged.stripe_id)
        return state.receipt

    @pay.validator
    def _refuse_unless_payable(self, request: PaymentRequest) -> None:
        self._check_payable(request, lock_free=True)

    def _check_payable(self, request: PaymentRequest, *, lock_free: bool) -> None:
        """The one home of "may this order be paid now". Its messages are for operators;
        the payments service answers the buyer from the refusal's detail."""
        state = self._state
        if state.receipt is not None or state.phase in (Phase.COMPLETING, Phase.COMPLETE):
            raise not_payable("Order has already been paid", PaymentRefusal.PAID)
        if request.order_id != self._purchase.order_id:
            raise not_payable("Payment is for another order", PaymentRefusal.NOT_AWAITING)
        if state.cancel_requested is not None or state.phase in (
            Phase.COMPENSATING,
            Phase.CANCELLED,
        ):
            raise not_payable("Cannot pay for a cancelled order", PaymentRefusal.CANCELLED)
        ended = state.deadline is not None and workflow.now() >= state.deadline
        if state.phase is Phase.CLOSING or ended:
            raise not_payable("The payment window has ended", PaymentRefusal.WINDOW_ENDED)
        if state.phase is not Phase.AWAITING_PAYMENT:
            raise not_payable("Order is not awaiting payment", PaymentRefusal.NOT_AWAITING)
        if lock_free and self._payment_lock.locked():
            raise not_payable("A payment is already in progress", PaymentRefusal.IN_PROGRESS)

    @workflow.signal
    def payment_event(self, event: PaymentEvent) -> None:
        """Stripe says a PaymentIntent moved: only a reason to look (the saga asks
        Stripe), so a duplicate or a stale one costs one settle and decides nothing."""
        workflow.logger.info("Stripe: %s for %s", event.event_type, event.payment_intent_id)
        self._state.stripe_moved = True

    @workflow.update
    async def cancel(self) -> PurchaseState:
        """The buyer cancels; answers once the order is cancelled and the ticket released."""
        # A payment under way decides first.
        async with self._payment_lock:
            if self._state.receipt is not None:
                raise refused("Cannot cancel a paid order", FailureType.ALREADY_PAID)
            if self._state.cancel_requested is None:
                self._state.cancel_requested = Canceller.BUYER
        await workflow.wait_condition(lambda: self._state.phase is Phase.CANCELLED)
        return self._state

    @cancel.validator
    def _refuse_if_paid(self) -> None:
        if self._state.receipt is not None or self._state.phase is Phase.COMPLETE:
            raise refused("Cannot cancel a paid order", FailureType.ALREADY_PAID)

    @workflow.query
    def state(self) -> PurchaseState:
        return self._state

    # --- helpers ----------------------------------------------------------------------------

    @property
    def _hold(self) -> TicketHold:
        return TicketHold(ticket_id=self._purchase.ticket_id, order_id=self._purchase.order_id)

    def _sale(self) -> TicketSale:
        """The ticket sold to this order, naming its buyer: the tickets service makes them
        the holder of a new entry code in the same change, voiding the seller's."""
        return TicketSale(**self._hold.model_dump(), buyer_id=self._purchase.buyer_id)

    def _enter(self, phase: Phase) -> None:
        """The saga's phase, also shown in the Web UI as the workflow's current details."""
        self._state.phase = phase
        details = f"{phase.value}"
        if phase is Phase.AWAITING_PAYMENT and self._state.deadline is not None:
            details += f" until {self._state.deadline.isoformat(timespec='seconds')}"
        if phase is Phase.COMPENSATING and self._state.cancel_reason is not None:
            details += f" ({self._state.cancel_reason.value})"
        if self._state.cancel_requested is Canceller.OPERATOR and self._state.receipt is not None:
            details += "; cancel requested after payment: the order completes (forward only)"
        workflow.set_current_details(details)

    def _set_status(self, status: str) -> None:
        self._state.status = status
        workflow.upsert_search_attributes([ORDER_STATUS.value_set(status)])

    async def _step(
        self, activity: Step[A], arg: A, queue: TaskQueue, retry: RetryPolicy = FORWARD_RETRY
    ) -> None:
        if queue is TaskQueue.ORDERS:
            await workflow.execute_local_activity(
                activity,
                arg,
                summary=SUMMARIES.get(_name(activity)),
                start_to_close_timeout=STEP_TIMEOUT,
                schedule_to_close_timeout=_bound(retry),
                retry_policy=retry,
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
            return
        await self._remote_step(activity, arg, queue, retry)

    async def _remote_step(
        self, activity: Step[A], arg: A, queue: TaskQueue, retry: RetryPolicy
    ) -> None:
        await workflow.execute_activity(
            activity,
            arg,
            task_queue=queue,
            summary=SUMMARIES.get(_name(activity)),
            start_to_close_timeout=STEP_TIMEOUT,
            schedule_to_close_timeout=_bound(retry),
            retry_policy=retry,
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
