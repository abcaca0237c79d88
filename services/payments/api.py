"""Routes of /api/payments: pay for an order awaiting payment (the webhook Stripe calls
is in webhook.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.clock import as_utc
from services.common.errors import PaymentDeclined
from services.common.http.current_user import CurrentUserDep
from services.common.http.dependencies import ReadSessionsDep, SettingsDep, TemporalDep
from services.common.http.errors import Conflict, ErrorResponse
from services.common.http.forwarded import client_address
from services.common.http.throttle import ThrottleDep, per_user
from services.common.polling import poll_until
from services.payments import purchase_client
from services.payments.card_testing import (
    count_decline,
    refuse_card_testing,
    refuse_decline_bursts,
)
from services.payments.errors import NotOrderOwner, OrderNotAwaitingPayment, OrderNotFound
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


def refuse_unless_payable(order: Order) -> None:
    if order.status == OrderStatus.CANCELLED:
        raise Conflict("Cannot pay for a cancelled order")
    if order.status == OrderStatus.COMPLETE:
        raise Conflict("Order has already been paid")
    if order.status != OrderStatus.AWAITING_PAYMENT:
        raise OrderNotAwaitingPayment()
    if as_utc(order.expires_at) <= datetime.now(UTC):
        raise Conflict("The payment window has ended")


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
) -> PaymentOut | JSONResponse:
    """Charge the card for an order awaiting payment, through its purchase saga: 201
    once charged, or 202 when the card needs authentication first."""
    order = await find_order(read_sessions, body.order_id)
    if order is None:
        raise OrderNotFound()
    if order.user_id != user.id:
        raise NotOrderOwner()
    refuse_unless_payable(order)
    address = client_address(request)
    if throttle.enabled:
        async with read_sessions() as session:
            await refuse_card_testing(session, order, settings, datetime.now(UTC))
        await refuse_decline_bursts(throttle, settings, address)
    try:
        receipt = await purchase_client.pay(
            await temporal.get(),
            PaymentRequest(order_id=order.id, buyer_id=user.id, token=body.token),
        )
    except PaymentDeclined:
        await count_decline(throttle, settings, address)
        raise
    if receipt.status is ChargeOutcome.REQUIRES_ACTION:
        await count_decline(throttle, settings, address)
        assert receipt.client_secret is not None
        action = PaymentActionOut(
            client_secret=receipt.client_secret, payment_intent_id=receipt.stripe_id
        )
        return JSONResponse(action.model_dump(mode="json", by_alias=True), status_code=202)
    return PaymentOut(id=receipt.payment_id)
