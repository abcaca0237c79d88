"""The Stripe gateway against the real localstripe."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import uuid4

import pytest

from services.payments.stripe_gateway import CardDeclined, Intent, StripeConfig, StripeGateway
from tests.support.cards import (
    DECLINED,
    NEEDS_3DS,
    TEST_KEY,
    VISA,
    authenticate,
    card_token,
    payment_method,
)


@pytest.fixture
async def gateway(localstripe_url: str) -> AsyncIterator[StripeGateway]:
    gateway = StripeGateway(StripeConfig(api_key=TEST_KEY, api_base=localstripe_url))
    yield gateway
    await gateway.aclose()


async def charge_intent(gateway: StripeGateway, token: str) -> Intent:
    return await gateway.charge(
        amount_cents=2050, token=token, idempotency_key=str(uuid4()), metadata={}
    )


async def charge(gateway: StripeGateway, token: str) -> str:
    intent = await charge_intent(gateway, token)
    assert intent.succeeded, intent
    return intent.id


async def test_a_good_card_is_charged(gateway: StripeGateway) -> None:
    intent_id = await charge(gateway, await payment_method(gateway, VISA))

    intent = await gateway.client.v1.payment_intents.retrieve_async(intent_id)
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 2050, "usd")


async def test_a_canonical_test_payment_method_is_charged(gateway: StripeGateway) -> None:
    assert (await charge(gateway, "pm_card_visa")).startswith("pi_")


async def test_a_declined_card_raises_with_stripes_message(gateway: StripeGateway) -> None:
    with pytest.raises(CardDeclined) as declined:
        await charge(gateway, await payment_method(gateway, DECLINED))
    assert declined.value.message == "Your card was declined."


@pytest.mark.parametrize("make_card", [payment_method, card_token], ids=["pm", "tok"])
async def test_a_card_needing_3d_secure_waits_for_the_buyer_then_succeeds(
    gateway: StripeGateway, make_card: Callable[[StripeGateway, str], Awaitable[str]]
) -> None:
    waiting = await charge_intent(gateway, await make_card(gateway, NEEDS_3DS))
    assert waiting.requires_action
    assert waiting.client_secret is not None

    await authenticate(gateway, waiting.id, waiting.client_secret)

    paid = await gateway.intent(waiting.id)
    assert paid.succeeded


async def test_a_failed_authentication_says_why(gateway: StripeGateway) -> None:
    waiting = await charge_intent(gateway, await payment_method(gateway, NEEDS_3DS))
    assert waiting.client_secret is not None
    await authenticate(gateway, waiting.id, waiting.client_secret, success=False)

    failed = await gateway.intent(waiting.id)
    assert failed.status == "requires_payment_method"
    assert failed.failure_message == "The provided PaymentMethod has failed authentication."


async def test_cancelling_stops_an_unfinished_authentication_and_spares_a_paid_one(
    gateway: StripeGateway,
) -> None:
    waiting = await charge_intent(gateway, await payment_method(gateway, NEEDS_3DS))
    assert (await gateway.cancel(waiting.id)).status == "canceled"

    paid = await charge_intent(gateway, await payment_method(gateway, NEEDS_3DS))
    assert paid.client_secret is not None
    await authenticate(gateway, paid.id, paid.client_secret)
    # Too late to cancel: what it became is answered instead.
    assert (await gateway.cancel(paid.id)).succeeded


async def test_an_unknown_payment_method_is_refused(gateway: StripeGateway) -> None:
    with pytest.raises(CardDeclined):
        await charge(gateway, "pm_does_not_exist")


async def test_a_refund_is_made_once(gateway: StripeGateway) -> None:
    intent_id = await charge(gateway, await payment_method(gateway, VISA))

    first = await gateway.refund(payment_intent_id=intent_id, idempotency_key=str(uuid4()))
    again = await gateway.refund(payment_intent_id=intent_id, idempotency_key=str(uuid4()))

    assert first == again
    refunds = await gateway.client.v1.refunds.list_async({"payment_intent": intent_id})
    assert [(refund.id, refund.amount) for refund in refunds.data] == [(first, 2050)]


async def test_a_card_token_is_charged_and_a_declined_one_refused(gateway: StripeGateway) -> None:
    intent_id = await charge(gateway, await card_token(gateway, VISA))
    intent = await gateway.client.v1.payment_intents.retrieve_async(intent_id)
    assert (intent.status, intent.amount) == ("succeeded", 2050)
    with pytest.raises(CardDeclined):
        await charge(gateway, await card_token(gateway, DECLINED))
