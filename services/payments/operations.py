"""Every change to a payment: our record of what was sent to Stripe for an order, and
what came of it. Each works in the caller's unit of work, which the caller commits.

Every Stripe call is claimed here first (an attempt row, committed before the call) and
settled after, so that whatever crashes in between, the next try knows an attempt is
unresolved and replays it with the same idempotency key instead of charging afresh.
Only one attempt per order is with Stripe at a time: another waits, unless the first has
been silent longer than the lease (its worker died), in which case it is taken over and
replayed.

A card that needs the buyer's authentication (3-D Secure) leaves its attempt waiting
(``requires_action``, with its PaymentIntent) until it is settled from what Stripe says:
by the saga when Stripe's webhook arrives or the window ends, or first thing by the next
attempt or a refund, so that an order never has two PaymentIntents able to take money.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import select

from services.common.clock import as_utc
from services.common.data.unit_of_work import UnitOfWork
from services.common.observability.metrics import PAYMENT_ATTEMPTS
from services.payments.errors import AlreadyDeclined, AlreadyRefunded, AttemptInFlight
from services.payments.events import charge_created
from services.payments.models import (
    AttemptStatus,
    Payment,
    PaymentAttempt,
    PaymentStatus,
    StripeEvent,
)
from workflows.models import ChargeInput

# Longer than a Stripe call can take with the gateway's timeout and network retries.
IN_FLIGHT_LEASE = timedelta(minutes=2)
AUTHENTICATION_FAILED = "The card's authentication did not succeed."


@dataclass(frozen=True)
class Paid:
    payment_id: UUID
    stripe_id: str


@dataclass(frozen=True)
class Attempt:
    """A charge to send to Stripe (or to replay, with the same idempotency key)."""

    payment_id: UUID
    order_id: UUID
    attempt: int
    token: str
    amount_cents: int


@dataclass(frozen=True)
class Authenticating:
    """An attempt whose PaymentIntent waits for the buyer to authenticate the card."""

    attempt: Attempt
    intent_id: str
    # What the browser authenticates with; known once Stripe has been asked (our
    # records do not keep it).
    client_secret: str | None = None


@dataclass(frozen=True)
class Declined:
    message: str


@dataclass(frozen=True)
class Refundable:
    payment_id: UUID
    stripe_id: str


async def payment_for(uow: UnitOfWork, order_id: UUID) -> Payment | None:
    payment: Payment | None = await uow.session.scalar(
        select(Payment).where(Payment.order_id == order_id)
    )
    return payment


async def _attempt_row(uow: UnitOfWork, payment_id: UUID, attempt: int) -> PaymentAttempt | None:
    row: PaymentAttempt | None = await uow.session.scalar(
        select(PaymentAttempt).where(
            PaymentAttempt.payment_id == payment_id, PaymentAttempt.attempt == attempt
        )
    )
    return row


def _replay(payment: Payment, row: PaymentAttempt) -> Attempt:
    return Attempt(payment.id, payment.order_id, row.attempt, row.token, payment.amount_cents)


async def unresolved_attempt(
    uow: UnitOfWork, payment: Payment, now: datetime, *, own_attempt: int | None = None
) -> Attempt | None:
    """The attempt whose outcome is unknown, if it is ours to resolve; raises
    AttemptInFlight if another live attempt holds it."""
    if payment.status != PaymentStatus.PENDING or payment.current_attempt is None:
        return None
    row = await _attempt_row(uow, payment.id, payment.current_attempt)
    if row is None or row.status != AttemptStatus.PENDING:
        return None
    if row.attempt == own_attempt or as_utc(row.started_at) + IN_FLIGHT_LEASE <= now:
        return _replay(payment, row)
    raise AttemptInFlight(f"attempt {row.attempt} for order {payment.order_id} is in flight")


async def authentication(uow: UnitOfWork, payment: Payment) -> Authenticating | None:
    """The attempt of the payment that waits for a card authentication, if one does."""
    if payment.status != PaymentStatus.AUTHENTICATING or payment.current_attempt is None:
        return None
    row = await _attempt_row(uow, payment.id, payment.current_attempt)
    if row is None or row.status != AttemptStatus.REQUIRES_ACTION or row.stripe_id is None:
        return None
    return Authenticating(_replay(payment, row), row.stripe_id)


async def authentication_outcome(
    uow: UnitOfWork, payment: Payment, attempt: int
) -> Paid | Authenticating | Declined:
    """Where the authentication of a payment's attempt stands in our records: still
    waiting (to settle from Stripe), or settled already (paid, or declined)."""
    if payment.status == PaymentStatus.SUCCEEDED:
        assert payment.stripe_id is not None
        return Paid(payment.id, payment.stripe_id)
    if payment.current_attempt == attempt:
        waiting = await authentication(uow, payment)
        if waiting is not None:
            return waiting
    row = await _attempt_row(uow, payment.id, attempt)
    message = row.failure_message if row is not None else None
    return Declined(message or AUTHENTICATION_FAILED)


async def claim(
    uow: UnitOfWork, charge: ChargeInput, now: datetime
) -> Paid | Attempt | Authenticating:
    """What to do for this charge: nothing (already paid), settle an authentication under
    way first (this attempt's own, retried, or an earlier one's), or send an attempt to
    Stripe."""
    payment = await payment_for(uow, charge.order_id)
    if payment is None:
        payment = Payment(
            order_id=charge.order_id,
            user_id=charge.buyer_id,
            amount_cents=charge.amount_cents,
            status=PaymentStatus.PENDING,
        )
        uow.session.add(payment)
        await uow.session.flush()
    elif payment.status == PaymentStatus.SUCCEEDED:
        assert payment.stripe_id is not None
        return Paid(payment.id, payment.stripe_id)
    elif payment.status == PaymentStatus.REFUNDED:
        # The saga compensated this order: it is over, and must not look paid.
        raise AlreadyRefunded(f"order {charge.order_id} was refunded")
    elif (waiting := await authentication(uow, payment)) is not None:
        return waiting
    else:
        unresolved = await unresolved_attempt(uow, payment, now, own_attempt=charge.attempt)
        if unresolved is not None:
            return unresolved
        own = await _attempt_row(uow, payment.id, charge.attempt)
        if own is not None:
            # Settled (declined) already, but the answer never reached the workflow.
            raise AlreadyDeclined(own.failure_message)
    uow.session.add(
        PaymentAttempt(
            payment_id=payment.id,
            attempt=charge.attempt,
            token=charge.token,
            status=AttemptStatus.PENDING,
            started_at=now,
        )
    )
    payment.status = PaymentStatus.PENDING
    payment.current_attempt = charge.attempt
    return Attempt(payment.id, payment.order_id, charge.attempt, charge.token, payment.amount_cents)


async def settle_succeeded(
    uow: UnitOfWork, attempt: Attempt, stripe_id: str, now: datetime
) -> Paid:
    """Record the charge and raise ``charge.created`` with it."""
    payment = await uow.session.get_one(Payment, attempt.payment_id)
    row = await _attempt_row(uow, attempt.payment_id, attempt.attempt)
    assert row is not None
    row.status = AttemptStatus.SUCCEEDED
    row.stripe_id = stripe_id
    row.settled_at = now
    if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
        # A replay settled it first; Stripe answered the same key with the same intent.
        assert payment.stripe_id is not None
        return Paid(payment.id, payment.stripe_id)
    payment.status = PaymentStatus.SUCCEEDED
    payment.stripe_id = stripe_id
    await uow.session.flush()
    uow.publish(charge_created(payment))
    uow.on_commit(PAYMENT_ATTEMPTS.labels("succeeded").inc)
    return Paid(payment.id, stripe_id)


async def settle_requires_action(uow: UnitOfWork, attempt: Attempt, intent_id: str) -> None:
    """The attempt's PaymentIntent waits for the buyer to authenticate the card."""
    payment = await uow.session.get_one(Payment, attempt.payment_id)
    row = await _attempt_row(uow, attempt.payment_id, attempt.attempt)
    assert row is not None
    if row.status != AttemptStatus.PENDING:
        return
    row.status = AttemptStatus.REQUIRES_ACTION
    row.stripe_id = intent_id
    uow.on_commit(PAYMENT_ATTEMPTS.labels("requires_action").inc)
    if payment.status == PaymentStatus.PENDING and payment.current_attempt == attempt.attempt:
        payment.status = PaymentStatus.AUTHENTICATING


async def settle_declined(uow: UnitOfWork, attempt: Attempt, message: str, now: datetime) -> None:
    payment = await uow.session.get_one(Payment, attempt.payment_id)
    row = await _attempt_row(uow, attempt.payment_id, attempt.attempt)
    assert row is not None
    row.status = AttemptStatus.DECLINED
    row.failure_message = message[:1000]
    row.settled_at = now
    uow.on_commit(PAYMENT_ATTEMPTS.labels("declined").inc)
    unsettled = (PaymentStatus.PENDING, PaymentStatus.AUTHENTICATING)
    if payment.status in unsettled and payment.current_attempt == attempt.attempt:
        payment.status = PaymentStatus.DECLINED


async def refundable(
    uow: UnitOfWork, order_id: UUID, now: datetime
) -> Refundable | Attempt | Authenticating | None:
    """What a refund has to undo: a charge, an unresolved attempt or an authentication
    under way to settle first, or nothing (never charged, or refunded already)."""
    payment = await payment_for(uow, order_id)
    if payment is None:
        return None
    if payment.status == PaymentStatus.SUCCEEDED:
        assert payment.stripe_id is not None
        return Refundable(payment.id, payment.stripe_id)
    return await authentication(uow, payment) or await unresolved_attempt(uow, payment, now)


async def settle_refunded(uow: UnitOfWork, payment_id: UUID, refund_id: str) -> None:
    payment = await uow.session.get_one(Payment, payment_id)
    if payment.status == PaymentStatus.SUCCEEDED:
        payment.status = PaymentStatus.REFUNDED
        payment.refund_id = refund_id


async def first_delivery(uow: UnitOfWork, event_id: str, event_type: str) -> bool:
    """Records a Stripe event as handled; False if it was before (Stripe delivered it
    again). Two deliveries at once both see none: the primary key lets one commit."""
    if await uow.session.get(StripeEvent, event_id) is not None:
        return False
    uow.session.add(StripeEvent(id=event_id, type=event_type[:64]))
    return True


async def success_recorded(uow: UnitOfWork, order_id: UUID, intent_id: str) -> bool:
    """Whether the order's payment already records ``intent_id`` as its charge (the
    activity that charged or settled it wrote it, and told the saga with its result)."""
    found = await uow.session.scalar(
        select(Payment.id).where(
            Payment.order_id == order_id,
            Payment.stripe_id == intent_id,
            Payment.status.in_((PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED)),
        )
    )
    return found is not None
