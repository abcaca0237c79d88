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


Stripe = httpx.AsyncClient | StripeGateway | str


async def _made_on_localstripe(stripe: Stripe, path: str, form: dict[str, str]) -> str:
    """The id of what ``form`` makes at ``path``; ``stripe`` is a client, the gateway
    under test (its localstripe) or localstripe's base URL."""
    if isinstance(stripe, StripeGateway):
        assert stripe.config.api_base is not None, "test cards are made on localstripe"
        stripe = stripe.config.api_base
    if isinstance(stripe, str):
        async with localstripe(stripe) as client:
            return await _made_on_localstripe(client, path, form)
    created = await stripe.post(path, data=form, auth=(TEST_KEY, ""))
    assert created.status_code == 200, created.text
    made: str = created.json()["id"]
    return made


async def payment_method(stripe: Stripe, number: str = VISA) -> str:
    """A PaymentMethod id, as Stripe.js makes one."""
    return await _made_on_localstripe(stripe, "/v1/payment_methods", card_form(number))


async def card_token(stripe: Stripe, number: str = VISA) -> str:
    """A card token (``tok_...``), as Stripe Checkout's older client makes one."""
    form = {key: value for key, value in card_form(number).items() if key != "type"}
    return await _made_on_localstripe(stripe, "/v1/tokens", form)


async def authenticate(
    stripe: Stripe, intent_id: str, client_secret: str, *, success: bool = True
) -> None:
    """The buyer completes (or fails) a card's 3-D Secure authentication, as Stripe.js
    does in the browser with the client secret (localstripe's own route for it)."""
    if isinstance(stripe, StripeGateway):
        assert stripe.config.api_base is not None, "authenticated on localstripe"
        stripe = stripe.config.api_base
    if isinstance(stripe, str):
        async with localstripe(stripe) as client:
            await authenticate(client, intent_id, client_secret, success=success)
        return
    answered = await stripe.post(
        f"/v1/payment_intents/{intent_id}/_authenticate",
        data={"client_secret": client_secret, "success": str(success).lower()},
    )
    assert answered.status_code == 200, answered.text
