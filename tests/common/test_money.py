"""Money: integer cents inside, major units on the API, never a float in between."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from services.common.money import PriceInput, PriceOutput, from_cents, to_cents

price_in: TypeAdapter[Decimal] = TypeAdapter(PriceInput)
price_out: TypeAdapter[Decimal] = TypeAdapter(PriceOutput)


@pytest.mark.parametrize(
    ("raw", "cents"),
    [("0.01", 1), ("0.29", 29), ("0.1", 10), ("19.99", 1999), ("1e2", 10000), ("1000000", 10**8)],
)
def test_prices_become_exact_cents_and_back(raw: str, cents: int) -> None:
    price = price_in.validate_json(raw)
    assert to_cents(price) == cents
    assert from_cents(cents) == price
    assert price_out.dump_json(from_cents(cents)) == price_out.dump_json(price)


@pytest.mark.parametrize("raw", ["0", "-1", "0.001", "1000000.01", '"NaN"', '"Infinity"', "true"])
def test_invalid_prices_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError):
        price_in.validate_json(raw)
