"""Request and response bodies of /api/payments."""

from __future__ import annotations

import re
from typing import Annotated
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
    id: UUID
