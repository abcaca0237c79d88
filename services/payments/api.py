"""Routes of /api/payments: pay for an order awaiting payment (the webhook Stripe calls
is in webhook.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.clock import as_utc
from services.common.errors import PaymentDeclined
from services.common.http.current_user import CurrentUserDep
from services.common.http.dependencies import ReadSessionsDep, SettingsDep, TemporalDep
from services.common.http.errors import ErrorResponse
from services.common.http.forwarded import client_address
from services.common.http.throttle import ThrottleDep, per_user
from services.common.polling import poll_until
from services.payments import purchase_client
from services.payments.card_testing import (
    count_decline,
    refuse_card_testing,
    refuse_decline_bursts,
)
from services.payments.errors import (
    NotOrderOwner,
    OrderAlreadyPaid,
    OrderCancelled,
    OrderNotAwaitingPayment,
    OrderNotFound,
    PaymentWindowEnded,
    SagaEnded,
)
from services.payments.models import Order
from services.payments.schemas import PaymentActionOut, PaymentIn, PaymentOut
from workflows.contracts import OrderStatus
from workflows.models import ChargeOutcome, PaymentRequest

router = APIRouter(prefix="/api/payments", tags=["payments"])

# An order placed a moment ago may not have reached the replica yet (event lag). The
# lag is usually a few milliseconds, so the first looks come quickly, then ease off.
REPLICA_GRACE_SECONDS = 1.0
FIRST_LOOK_AGAIN_SECONDS = 0.005
LATEST_LOOK_AGAIN_SECONDS = 0.05


async def find_order(
    read_sessions: async_sessionmaker[AsyncSession], order_id: UUID
) -> Order | None:
    async def look() -> Order | None:
        async with read_sessions() as session:
            return await session.get(Order, order_id)

    return await poll_until(
        look,
        lambda order: order is not None,
        within=REPLICA_GRACE_SECONDS,
        first_pause=FIRST_LOOK_AGAIN_SECONDS,
        longest_pause=LATEST_LOOK_AGAIN_SECONDS,
    )


IDEMPOTENCY_KEY_DESCRIPTION = (
    "A key of your choosing (e.g. a UUID) per payment attempt, as Stripe's: the same "
    "request sent again with the same key gets the first one's answer (the same payment, "
    "decline or authentication) and charges nothing more. Without it, a repeated request "
    "is refused while the first one's charge runs or once the order is paid."
)


def _finished(order: Order) -> OrderNotAwaitingPayment:
    """The saga has ended, so it cannot say why: the order's replica does."""
    if order.status == OrderStatus.CANCELLED:
        return OrderCancelled()
    if order.status == OrderStatus.COMPLETE:
        return OrderAlreadyPaid()
    if order.expires_at is not None and as_utc(order.expires_at) <= datetime.now(UTC):
        return PaymentWindowEnded()
    return OrderNotAwaitingPayment()


@router.post(
    "",
    status_code=201,
    response_model=PaymentOut,
    responses={
        202: {
            "model": PaymentActionOut,
            "description": "The card needs the buyer's authentication (3-D Secure): "
            "complete it with Stripe.js and the client secret, then follow the order.",
        },
        402: {"model": ErrorResponse, "description": "Card declined"},
        409: {
            "model": ErrorResponse,
            "description": "The order is not awaiting payment (paid, cancelled, its window "
            "ended), or another payment for it is under way",
        },
    },
    dependencies=[
        per_user(
            lambda settings: settings.payment_attempts_per_buyer,
            "payments-buyer",
            "Too many payment attempts in a short time: try again later",
        )
    ],
)
async def pay(
    request: Request,
    body: PaymentIn,
    user: CurrentUserDep,
    read_sessions: ReadSessionsDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    throttle: ThrottleDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description=IDEMPOTENCY_KEY_DESCRIPTION,
        ),
    ] = None,
) -> PaymentOut | JSONResponse:
    """Charge the card for an order awaiting payment, through its purchase saga: 201
    once charged, or 202 when the card needs authentication first. Whether the order may
    be paid now is the saga's to say."""
    order = await find_order(read_sessions, body.order_id)
    if order is None:
        raise OrderNotFound()
    if order.user_id != user.id:
        raise NotOrderOwner()
    address = client_address(request)
    if throttle.enabled:
        async with read_sessions() as session:
            await refuse_card_testing(session, order, settings, datetime.now(UTC))
        await refuse_decline_bursts(throttle, settings, address)
    try:
        answer = await purchase_client.pay(
            await temporal.get(),
            PaymentRequest(order_id=order.id, buyer_id=user.id, token=body.token),
            idempotency_key=idempotency_key,
            deadline=timedelta(seconds=settings.temporal_call_timeout_seconds),
            answer_deadline=timedelta(seconds=settings.payment_answer_timeout_seconds),
        )
    except SagaEnded:
        raise _finished(order) from None
    except PaymentDeclined:
        await count_decline(throttle, settings, address)
        raise
    if answer.status is ChargeOutcome.REQUIRES_ACTION:
        await count_decline(throttle, settings, address)
        assert answer.client_secret is not None
        action = PaymentActionOut(
            client_secret=answer.client_secret, payment_intent_id=answer.stripe_id
        )
        return JSONResponse(action.model_dump(mode="json", by_alias=True), status_code=202)
    return PaymentOut(id=answer.payment_id)
