"""The events a payment raises, built from its row."""

from __future__ import annotations

from services.common.messaging.events import ChargeCreated
from services.payments.models import Payment


def charge_created(payment: Payment) -> ChargeCreated:
    assert payment.stripe_id is not None, "only a succeeded payment is a charge"
    return ChargeCreated(
        version=payment.version,
        charge_id=payment.id,
        order_id=payment.order_id,
        amount_cents=payment.amount_cents,
        stripe_id=payment.stripe_id,
    )
