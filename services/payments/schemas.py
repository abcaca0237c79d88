"""Request and response bodies of /api/payments."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints

from services.common.http.schemas import ApiModel

# Stripe ids: pm_..., card_..., src_..., tok_...
_STRIPE_ID = re.compile(r"^[A-Za-z0-9_]+$")


def _stripe_id(token: str) -> str:
    if not token:
        raise ValueError("Token must not be blank")
    if not _STRIPE_ID.fullmatch(token):
        raise ValueError("Token must be a Stripe payment method id")
    return token


Token = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=255), AfterValidator(_stripe_id)
]


class PaymentIn(ApiModel):
    order_id: UUID = Field(description="The order to pay, awaiting payment.")
    token: Token = Field(
        description="A Stripe PaymentMethod id (pm_..., e.g. pm_card_visa) or a card token "
        "(tok_..., as Stripe Checkout makes one)."
    )


class PaymentOut(ApiModel):
    """201: the card was charged."""

    id: UUID
    status: Literal["succeeded"] = "succeeded"


class PaymentActionOut(ApiModel):
    """202: the card needs the buyer's authentication (3-D Secure). Complete it in the
    browser with Stripe.js (``stripe.handleNextAction({clientSecret})``), then follow
    the order: it completes once Stripe confirms the payment."""

    status: Literal["requires_action"] = "requires_action"
    client_secret: str = Field(description="The PaymentIntent's client secret, for Stripe.js.")
    payment_intent_id: str


class WebhookOut(ApiModel):
    received: bool = True
    # False when Stripe had delivered this event before: it changed nothing this time.
    first_delivery: bool
