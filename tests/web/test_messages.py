"""What the shop says: sentences, the price field's rule, and when to try again."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from web.messages import parse_price, refused_for_now, sentence


@pytest.mark.parametrize(
    ("typed", "taken", "problem"),
    [
        ("25", "25", None),
        (" $25.50 ", "25.50", None),
        ("25,50", "25,50", "Write the cents after a point, not a comma, e.g. 25 or 25.50."),
        ("25.505", "25.505", "Use at most two digits for the cents, e.g. 25 or 25.50."),
        ("0", "0", "The price must be more than $0, e.g. 25 or 25.50."),
        ("1e3", "1e3", "Enter the price as a number of dollars, e.g. 25 or 25.50."),
        ("NaN", "NaN", "Enter the price as a number of dollars, e.g. 25 or 25.50."),
        ("", "", "Enter a price, e.g. 25 or 25.50."),
        ("1000000.01", "1000000.01", "The price can be at most $1,000,000, e.g. 25 or 25.50."),
    ],
)
def test_the_price_field_says_what_would_do(typed: str, taken: str, problem: str | None) -> None:
    assert parse_price(typed) == (taken, problem)


def test_a_reply_that_is_not_a_sentence_becomes_one() -> None:
    assert sentence("Bad request", "The card was not accepted.") == "The card was not accepted."
    assert sentence("ticket is already reserved") == "Ticket is already reserved."
    assert sentence("Your card was declined.") == "Your card was declined."


def refusal(retry_after: str | None) -> httpx.Response:
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    return httpx.Response(429, headers=headers)


def test_a_refusal_for_now_says_when_to_try_again_from_retry_after() -> None:
    said = refused_for_now(refusal("90"), "Too many sign-ups from your address: try again later")
    assert said.startswith("Too many sign-ups from your address. Try again in 2 minutes (at ")
    assert "later" not in said

    later = format_datetime(datetime.now(UTC) + timedelta(hours=3, seconds=30), usegmt=True)
    assert "Try again in about 3 hours " in refused_for_now(refusal(later), "Too many attempts")
    assert "Try again in 61 minutes " in refused_for_now(refusal("3660"), "Too many attempts")
    assert re.fullmatch(
        r"Too many attempts for now\. Try again in 5 seconds \(at \d\d:\d\d UTC\)\.",
        refused_for_now(refusal("5"), "Busy"),
    )
    assert refused_for_now(refusal(None), "Too many attempts: try again later") == (
        "Too many attempts. Try again in a few minutes."
    )
