"""PaymentMethods on localstripe made from Stripe's test card numbers."""

from __future__ import annotations

from services.payments.stripe_gateway import StripeGateway
from tests.support.cards import DECLINED, NEEDS_3DS, VISA

__all__ = ["DECLINED", "NEEDS_3DS", "VISA", "intents_of_order", "payment_method"]


async def payment_method(gateway: StripeGateway, number: str) -> str:
    method = await gateway.client.v1.payment_methods.create_async(
        {
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    return method.id


async def intents_of_order(gateway: StripeGateway, order_id: object) -> list[str]:
    """The PaymentIntents Stripe holds for an order (by the metadata we send)."""
    intents = await gateway.client.v1.payment_intents.list_async({"limit": 100})
    return [
        intent.id
        for intent in intents.data
        if intent.metadata and intent.metadata.to_dict().get("order_id") == str(order_id)
    ]
