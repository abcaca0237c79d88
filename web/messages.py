"""What the shop says to people: each problem as a sentence, with an example of what is
accepted where there is one, and when to try again after a refusal for now.

The API stays the authority on every rule; the shop checks the plain mistakes of its own
forms first (with the API's own bounds) so that it can say what would do.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime

import httpx

from services.common.identity.passwords import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from services.common.money import MAX_PRICE

TITLE_MAX_LENGTH = 200
PASSWORD_HINT = f"{PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters"

TITLE_EXAMPLE = "e.g. “Jazz night, 12 May, row F”"
PRICE_EXAMPLE = "e.g. 25 or 25.50"
EMAIL_EXAMPLE = "e.g. ann@example.com"

# Field by field, what the shop says when the API refuses a value.
FIELD_SENTENCES = {
    "title": f"Enter a title of up to {TITLE_MAX_LENGTH} characters, {TITLE_EXAMPLE}.",
    "price": f"Enter the price in dollars, {PRICE_EXAMPLE}.",
    "email": f"Enter an email address, {EMAIL_EXAMPLE}.",
    "password": (
        f"Choose a password of {PASSWORD_HINT}, e.g. three or four words you will remember."
    ),
}

# Digits, with cents after a point: what the price field takes.
_NUMBER = re.compile(r"\d+(\.\d*)?|\.\d+")

# Too short to be a sentence for people: "Bad request", "Error 400".
_WORDS_OF_A_SENTENCE = 3


def sentence(text: str, fallback: str = "That did not work. Please try again.") -> str:
    """``text`` as a sentence: capitalised and ended; the fallback where it is hardly one."""
    text = " ".join(text.split())
    if len(text.split()) < _WORDS_OF_A_SENTENCE:
        return fallback
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def title_problem(title: str) -> str | None:
    title = title.strip()
    if not title:
        return f"Enter a title, {TITLE_EXAMPLE}."
    if len(title) > TITLE_MAX_LENGTH:
        return (
            f"Keep the title to {TITLE_MAX_LENGTH} characters; this one has {len(title)}, "
            f"{TITLE_EXAMPLE}."
        )
    return None


def parse_price(text: str) -> tuple[str, str | None]:
    """(the price as the API takes it, or the problem with it as a sentence).

    A leading dollar sign is taken off: the field is in dollars anyway."""
    price = text.strip().removeprefix("$").strip()
    if not price:
        return "", f"Enter a price, {PRICE_EXAMPLE}."
    if "," in price:
        return price, f"Write the cents after a point, not a comma, {PRICE_EXAMPLE}."
    if not _NUMBER.fullmatch(price):
        return price, f"Enter the price as a number of dollars, {PRICE_EXAMPLE}."
    amount = Decimal(price)
    if amount <= 0:
        return price, f"The price must be more than $0, {PRICE_EXAMPLE}."
    if amount > MAX_PRICE:
        return price, f"The price can be at most ${MAX_PRICE:,.0f}, {PRICE_EXAMPLE}."
    if amount != amount.quantize(Decimal("0.01")):
        return price, f"Use at most two digits for the cents, {PRICE_EXAMPLE}."
    return price, None


def email_problem(email: str) -> str | None:
    local, at, domain = email.strip().partition("@")
    if not (local and at and "." in domain.strip(".")):
        return FIELD_SENTENCES["email"]
    return None


def new_password_problem(password: str) -> str | None:
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        return FIELD_SENTENCES["password"]
    return None


# The API's words for a refusal that is not a value's shape, as the shop says them.
SAID_BETTER = {
    "Email in use": "This email is already in use: sign in instead, or use another address.",
    "Invalid credentials": (
        "That email and password do not match an account. Check both for a typo, or sign up."
    ),
}


def said_better(text: str) -> str:
    return SAID_BETTER.get(text) or sentence(text)


def field_sentences(fields: dict[str, str]) -> dict[str, str]:
    """The API's refusals of a value, field by field, as the shop words them (the
    validator's own words are for programs: "Input should be a valid decimal")."""
    return {
        name: SAID_BETTER.get(text) or FIELD_SENTENCES.get(name) or sentence(text)
        for name, text in fields.items()
    }


def _in_words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    if minutes <= 90:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"about {round(minutes / 60)} hours"


def duration(seconds: int) -> str:
    """A window in words: ``900`` -> ``15 minutes``."""
    return _in_words(max(1, seconds))


def retry_after_seconds(response: httpx.Response) -> int | None:
    """``Retry-After`` as seconds: its delay form, or its date form."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return int(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0, int((moment - datetime.now(UTC)).total_seconds()))


_LATER = re.compile(r"[:;,]?\s*(please\s+)?(try|ask) again (later|shortly|in a moment)\.?$", re.I)


def refused_for_now(response: httpx.Response, message: str) -> str:
    """A throttled or busy answer (429, 503), saying when to try again from Retry-After."""
    reason = sentence(_LATER.sub("", message), "Too many attempts for now.")
    seconds = retry_after_seconds(response)
    if seconds is None:
        return f"{reason} Try again in a few minutes."
    at = (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%H:%M UTC")
    return f"{reason} Try again in {_in_words(max(1, seconds))} (at {at})."
