"""POST /api/payments/webhook: Stripe tells us that a PaymentIntent moved.

The signature is checked against the endpoint's secret before anything is read, and each
event is handled once (Stripe delivers again until it hears 2xx). What the event says
is only passed on to the order's saga as a reason to look: the saga asks Stripe for the
PaymentIntent itself, so no event, however delivered, decides a payment on its own.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from uuid import UUID

import stripe
from fastapi import APIRouter, Request

from services.common.http.dependencies import SettingsDep, TemporalDep, UnitOfWorkDep
from services.common.http.errors import BadRequest, ErrorResponse, NotFound
from services.payments import operations, purchase_client
from services.payments.schemas import WebhookOut
from workflows.models import PaymentEvent

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/payments", tags=["payments"])

# The events the saga waits for; any other is acknowledged and left alone.
PAYMENT_EVENTS = frozenset({"payment_intent.succeeded", "payment_intent.payment_failed"})


def verified_event(payload: bytes, signature: str | None, secret: str) -> stripe.Event:
    if not signature:
        raise BadRequest("Missing Stripe-Signature header")
    try:
        event: stripe.Event = stripe.Webhook.construct_event(payload, signature, secret)
    except stripe.SignatureVerificationError:
        raise BadRequest("Invalid Stripe signature") from None
    except ValueError:
        raise BadRequest("The event is not valid JSON") from None
    return event


def order_of(event: stripe.Event) -> UUID | None:
    """The order a PaymentIntent was made for (the metadata the charge sends)."""
    metadata = getattr(event.data.object, "metadata", None) or {}
    try:
        return UUID(str(metadata["order_id"]))
    except (KeyError, ValueError):
        return None


@router.post(
    "/webhook",
    response_model=WebhookOut,
    responses={
        400: {"model": ErrorResponse, "description": "Bad or missing signature"},
        404: {"model": ErrorResponse, "description": "No webhook secret is configured"},
    },
)
async def stripe_webhook(
    request: Request, settings: SettingsDep, uow: UnitOfWorkDep, temporal: TemporalDep
) -> WebhookOut:
    """Stripe's webhook endpoint (signed with STRIPE_WEBHOOK_SECRET)."""
    if not settings.stripe_webhook_secret:
        raise NotFound("Stripe webhooks are not configured")
    event = verified_event(
        await request.body(),
        request.headers.get("stripe-signature"),
        settings.stripe_webhook_secret,
    )
    if not await operations.first_delivery(uow, event.id, event.type):
        return WebhookOut(first_delivery=False)
    order_id = order_of(event)
    if event.type in PAYMENT_EVENTS and order_id is not None:
        intent_id = str(event.data.object["id"])
        # The common case (a card charged without authentication): the charge's own
        # activity recorded this success and its result told the saga. Telling it again
        # would only cost a signal and a workflow task for nothing to look at.
        known = event.type == "payment_intent.succeeded" and await operations.success_recorded(
            uow, order_id, intent_id
        )
        # Told before the event is recorded: if telling fails, Stripe's next delivery
        # tells again (the saga looks at most once more).
        if not known and not await purchase_client.tell_payment_event(
            await temporal.get(),
            order_id,
            PaymentEvent(payment_intent_id=intent_id, event_type=event.type),
            deadline=timedelta(seconds=settings.temporal_call_timeout_seconds),
        ):
            log.info("%s for order %s, whose saga has ended", event.type, order_id)
    await uow.commit()
    return WebhookOut(first_delivery=True)
