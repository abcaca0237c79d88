"""PaymentMethods (and card tokens) made on localstripe from Stripe's test cards, as
Stripe.js would.

The one place the tests, the reliability harness and the bench make a card.
"""

from __future__ import annotations

import httpx

from services.payments.stripe_gateway import StripeGateway

VISA = "4242424242424242"
DECLINED = "4000000000000341"
NEEDS_3DS = "4000002500003155"
# Any test-mode key: localstripe accepts every one.
TEST_KEY = "sk_test_localstripe"


def localstripe(base_url: str, *, timeout: float = 60) -> httpx.AsyncClient:
    """A client of localstripe's API, signed in with the test key."""
    return httpx.AsyncClient(base_url=base_url, auth=(TEST_KEY, ""), timeout=timeout)


def card_form(number: str = VISA) -> dict[str, str]:
    return {
        "type": "card",
        "card[number]": number,
        "card[exp_month]": "12",
        "card[exp_year]": "2034",
        "card[cvc]": "123",
    }


async def payment_method(
    stripe: httpx.AsyncClient | StripeGateway | str, number: str = VISA
) -> str:
    """A PaymentMethod id; ``stripe`` is a client, the gateway under test (its localstripe)
    or localstripe's base URL."""
    if isinstance(stripe, StripeGateway):
        assert stripe.config.api_base is not None, "test cards are made on localstripe"
        stripe = stripe.config.api_base
    if isinstance(stripe, str):
        async with localstripe(stripe) as client:
            return await payment_method(client, number)
    created = await stripe.post("/v1/payment_methods", data=card_form(number), auth=(TEST_KEY, ""))
    assert created.status_code == 200, created.text
    method_id: str = created.json()["id"]
    return method_id


async def card_token(stripe: httpx.AsyncClient | StripeGateway | str, number: str = VISA) -> str:
    """A card token (``tok_...``), as Stripe Checkout's older client makes one."""
    if isinstance(stripe, StripeGateway):
        assert stripe.config.api_base is not None, "test cards are made on localstripe"
        stripe = stripe.config.api_base
    if isinstance(stripe, str):
        async with localstripe(stripe) as client:
            return await card_token(client, number)
    form = {key: value for key, value in card_form(number).items() if key != "type"}
    created = await stripe.post("/v1/tokens", data=form, auth=(TEST_KEY, ""))
    assert created.status_code == 200, created.text
    token_id: str = created.json()["id"]
    return token_id
