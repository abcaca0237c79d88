"""The order's status as the page shows it, rendered from what the API answers."""

from __future__ import annotations

from typing import Any

import pytest

from web.rendering import order_state, render


def status_of(**order: Any) -> str:
    return render("_order_status.html", order=order, state=order_state(order))


@pytest.mark.parametrize("reason", ["expired", "cancelled"])
def test_a_refunded_order_says_its_payment_was_returned(reason: str) -> None:
    shown = status_of(status="cancelled", cancelReason=reason, refunded=True)
    assert "data-refunded" in shown
    assert "refunded to your card" in shown


def test_an_order_never_charged_says_nothing_of_a_refund() -> None:
    shown = status_of(status="cancelled", cancelReason="expired", refunded=False)
    assert "payment window ended" in shown
    assert "refunded" not in shown
