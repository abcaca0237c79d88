"""The Stripe calls payments makes, through the SDK's async methods (httpx), so that a
charge never blocks the event loop.

Real Stripe when a secret key is configured; otherwise localstripe at
``stripe_api_base`` with a dummy key. localstripe ignores idempotency keys: our own
payment record is what prevents a double charge, the keys protect real Stripe too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import stripe
from stripe.params import PaymentIntentCreateParams

from services.common.settings import Settings

log = logging.getLogger(__name__)

LOCALSTRIPE_KEY = "sk_test_localstripe"
CURRENCY = "usd"
REQUEST_TIMEOUT_SECONDS = 20.0
# The SDK retries connection errors and 409/429/5xx itself, with the same idempotency key.
NETWORK_RETRIES = 2


class CardDeclined(Exception):
    """Stripe refused the payment method; ``message`` is Stripe's, fit for the buyer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingStripeKey(RuntimeError):
    pass


@dataclass(frozen=True)
class Intent:
    """A PaymentIntent as far as we act on it."""

    id: str
    # Stripe's: succeeded, requires_action (the buyer authenticates), processing, ...
    status: str
    # What the browser authenticates the card with (Stripe.js).
    client_secret: str | None = None
    # Why the last try failed (a declined card, a failed authentication).
    failure_message: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def requires_action(self) -> bool:
        return self.status == "requires_action"


@dataclass(frozen=True)
class StripeConfig:
    api_key: str
    # None means Stripe's own API.
    api_base: str | None = None

    @property
    def is_localstripe(self) -> bool:
        return self.api_base is not None

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeConfig:
        """Real Stripe with a key; localstripe in development only. A production payments
        worker without a key refuses to start: it charges real cards or nothing. (Only
        payments needs the key, so only payments holds it.)"""
        if settings.stripe_secret_key:
            return cls(api_key=settings.stripe_secret_key)
        if settings.is_production:
            raise MissingStripeKey("STRIPE_SECRET_KEY must be set in production")
        return cls(api_key=LOCALSTRIPE_KEY, api_base=settings.stripe_api_base)


def charge_idempotency_key(order_id: object, attempt: int) -> str:
    return f"order-{order_id}-attempt-{attempt}"


def refund_idempotency_key(order_id: object) -> str:
    return f"refund-order-{order_id}"


class StripeGateway:
    def __init__(self, config: StripeConfig) -> None:
        self.config = config
        self._http = stripe.HTTPXClient(timeout=REQUEST_TIMEOUT_SECONDS)
        self.client = stripe.StripeClient(
            config.api_key,
            base_addresses={"api": config.api_base} if config.api_base else None,
            http_client=self._http,
            max_network_retries=NETWORK_RETRIES,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeGateway:
        return cls(StripeConfig.from_settings(settings))

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]

    async def charge(
        self, *, amount_cents: int, token: str, idempotency_key: str, metadata: dict[str, str]
    ) -> Intent:
        """Create and confirm a PaymentIntent: succeeded, or waiting for the buyer to
        authenticate the card (3-D Secure, ``requires_action``).

        Raises CardDeclined when Stripe declines the card or refuses the payment method.
        Other Stripe errors (network, rate limit, outage) propagate: retryable.
        """
        params: PaymentIntentCreateParams = {
            "amount": amount_cents,
            "currency": CURRENCY,
            "confirm": True,
            "metadata": metadata,
        }
        if not self.config.is_localstripe:
            # Cards only, so that no redirect-based method (and return_url) is involved.
            # The SDK's API version refuses the older `payment_method_types` parameter,
            # and localstripe knows neither (it takes cards only anyway).
            params["allowed_payment_method_types"] = ["card"]
            # A card that needs authentication answers a next action for Stripe.js
            # (handleNextAction) rather than a redirect.
            params["use_stripe_sdk"] = True
        try:
            await self._pay_with(params, token)
            intent = await self.client.v1.payment_intents.create_async(
                params, {"idempotency_key": idempotency_key}
            )
        except stripe.CardError as error:
            raise CardDeclined(_message(error, "Your card was declined.")) from error
        except stripe.InvalidRequestError as error:
            # An unknown or unusable payment method: the buyer's to fix, not ours to retry.
            log.warning("Stripe refused a charge request: %s", error)
            raise CardDeclined(_message(error, "The payment method was refused.")) from error
        if intent.status not in ("succeeded", "requires_action"):
            raise CardDeclined(f"Payment did not succeed (status {intent.status})")
        return _intent(intent)

    async def intent(self, intent_id: str) -> Intent:
        return _intent(await self.client.v1.payment_intents.retrieve_async(intent_id))

    async def cancel(self, intent_id: str) -> Intent:
        """Cancel an unfinished PaymentIntent so that it can never take money; what it
        is once cancelled, or what it became instead (succeeded meanwhile)."""
        try:
            return _intent(await self.client.v1.payment_intents.cancel_async(intent_id))
        except stripe.InvalidRequestError:
            # Stripe refuses to cancel one that has succeeded (or is cancelled already).
            current = await self.intent(intent_id)
            if current.status in ("succeeded", "canceled"):
                return current
            raise

    async def _pay_with(self, params: PaymentIntentCreateParams, token: str) -> None:
        """A PaymentMethod (``pm_...``, or a card id) is the intent's payment method; a
        card token (``tok_...``, what Stripe Checkout's older client posts) is made into
        one first. localstripe makes no PaymentMethod from a token, so there the token's
        own card is charged, as Stripe would charge it."""
        if not token.startswith("tok_"):
            params["payment_method"] = token
        elif self.config.is_localstripe:
            card_token = await self.client.v1.tokens.retrieve_async(token)
            assert card_token.card is not None
            params["payment_method"] = card_token.card.id
        else:
            method = await self.client.v1.payment_methods.create_async(
                {"type": "card", "card": {"token": token}}
            )
            params["payment_method"] = method.id

    async def refund(self, *, payment_intent_id: str, idempotency_key: str) -> str:
        """Refund a succeeded PaymentIntent in full, once: a refund Stripe already holds
        for it is returned instead of refunding again (localstripe ignores the key)."""
        existing = await self.client.v1.refunds.list_async(
            {"payment_intent": payment_intent_id, "limit": 10}
        )
        for refund in existing.data:
            if refund.status in ("succeeded", "pending"):
                return refund.id
        refund = await self.client.v1.refunds.create_async(
            {"payment_intent": payment_intent_id}, {"idempotency_key": idempotency_key}
        )
        return refund.id


def _message(error: stripe.StripeError, fallback: str) -> str:
    return error.user_message or fallback


def _intent(intent: stripe.PaymentIntent) -> Intent:
    failure = intent.last_payment_error
    return Intent(
        id=intent.id,
        status=intent.status,
        client_secret=intent.client_secret,
        failure_message=failure.message if failure is not None else None,
    )
