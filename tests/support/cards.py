"""PaymentMethods made on localstripe from Stripe's test cards, as Stripe.js would."""

from __future__ import annotations

import httpx

VISA = "4242424242424242"
DECLINED = "4000000000000341"
NEEDS_3DS = "4000002500003155"
# Any test-mode key: localstripe accepts every one.
TEST_KEY = "sk_test_localstripe"


def card_form(number: str = VISA) -> dict[str, str]:
    return {
        "type": "card",
        "card[number]": number,
        "card[exp_month]": "12",
        "card[exp_year]": "2034",
        "card[cvc]": "123",
    }


async def payment_method(stripe: httpx.AsyncClient | str, number: str = VISA) -> str:
    """A PaymentMethod id; ``stripe`` is a client or localstripe's base URL."""
    if isinstance(stripe, str):
        async with httpx.AsyncClient(base_url=stripe, auth=(TEST_KEY, "")) as client:
            return await payment_method(client, number)
    created = await stripe.post("/v1/payment_methods", data=card_form(number), auth=(TEST_KEY, ""))
    assert created.status_code == 200, created.text
    method_id: str = created.json()["id"]
    return method_id
