"""Money: integer cents inside the system, major units (``price``) on the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, PlainSerializer

MAX_PRICE = Decimal("1000000")


def _at_most_two_decimals(value: Decimal) -> Decimal:
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("Price must have at most 2 decimal places")
    return value


# A price as the API receives it: positive, at most 2 decimals, below a sane bound.
PriceInput = Annotated[
    Decimal,
    Field(gt=0, le=MAX_PRICE, allow_inf_nan=False),
    AfterValidator(_at_most_two_decimals),
]

# A price as the API answers it: a JSON number in major units.
PriceOutput = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


def to_cents(price: Decimal) -> int:
    return int(price * 100)


def from_cents(cents: int) -> Decimal:
    return Decimal(cents) / 100
