"""The saga's timeouts agree with the Stripe gateway: each payments activity attempt has
time for the Stripe calls it may make at their worst (the gateway's request timeout,
times its tries, plus the SDK's backoff between them), a heartbeat timeout longer than
one such call, and the worker's shutdown grace covers the longest attempt."""

from __future__ import annotations

import stripe

from services.payments import stripe_gateway
from worker.main import SHUTDOWN_GRACE
from workflows import purchase


def worst_stripe_call_seconds() -> float:
    tries = stripe_gateway.NETWORK_RETRIES + 1
    backoff = sum(
        min(float(stripe.HTTPClient.INITIAL_DELAY) * 2**retry, float(stripe.HTTPClient.MAX_DELAY))
        for retry in range(stripe_gateway.NETWORK_RETRIES)
    )
    return float(stripe_gateway.REQUEST_TIMEOUT_SECONDS * tries + backoff)


def test_one_stripe_call_fits_what_the_saga_allows_one() -> None:
    assert worst_stripe_call_seconds() <= purchase.STRIPE_CALL.total_seconds()
    # A heartbeat comes before each call: the next one within a call's worst case.
    assert purchase.STRIPE_HEARTBEAT > purchase.STRIPE_CALL


def test_each_payments_attempt_has_time_for_its_calls() -> None:
    worst = worst_stripe_call_seconds()
    for timeout, calls in [
        (purchase.CHARGE_TIMEOUT, purchase.CHARGE_CALLS),
        (purchase.SETTLE_TIMEOUT, purchase.SETTLE_CALLS),
        (purchase.REFUND_TIMEOUT, purchase.REFUND_CALLS),
    ]:
        assert timeout.total_seconds() >= worst * calls
    # A payment's answer is bounded, and leaves room for a whole attempt.
    assert purchase.CHARGE_BOUND > purchase.CHARGE_TIMEOUT


def test_a_worker_stopping_lets_the_longest_attempt_finish() -> None:
    assert SHUTDOWN_GRACE > purchase.LONGEST_ACTIVITY >= purchase.REFUND_TIMEOUT
