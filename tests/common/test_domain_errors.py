"""Domain errors, mapped at the edge: each service's refusals have a status in the one
table, an app answers them in the documented shape, and the command line prints them."""

from __future__ import annotations

import importlib
import inspect

import httpx
import pytest
from fastapi import FastAPI

from services.common.errors import DomainError
from services.common.http.errors import domain_status, install_error_handlers
from services.orders.errors import PriceChanged, TicketReserved, TooManyOpenOrders

SERVICES = ("auth", "tickets", "orders", "payments")


def declared_errors() -> list[type[DomainError]]:
    found = []
    for service in SERVICES:
        module = importlib.import_module(f"services.{service}.errors")
        found += [
            value
            for value in vars(module).values()
            if inspect.isclass(value)
            and issubclass(value, DomainError)
            and value.__module__ == module.__name__
        ]
    return found


@pytest.mark.parametrize("error", declared_errors(), ids=lambda error: error.__qualname__)
def test_every_domain_error_has_a_status_and_a_message(error: type[DomainError]) -> None:
    assert domain_status(error.__new__(error)) in (400, 402, 403, 404, 409, 429)
    assert error.default_message != DomainError.default_message


async def test_an_app_answers_a_domain_error_in_the_documented_shape() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/reserved")
    async def reserved() -> None:
        raise TicketReserved()

    @app.get("/price")
    async def price() -> None:
        raise PriceChanged()

    @app.get("/open")
    async def open_orders() -> None:
        raise TooManyOpenOrders(3)

    @app.get("/plain")
    async def plain() -> None:
        raise DomainError()

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        reserved_answer = await client.get("/reserved")
        assert reserved_answer.status_code == 409
        assert reserved_answer.json() == {"errors": [{"message": "Ticket is already reserved"}]}
        price_answer = await client.get("/price")
        assert price_answer.status_code == 409
        assert price_answer.json() == {
            "errors": [{"message": "Ticket price changed", "field": "price"}]
        }
        open_answer = await client.get("/open")
        assert open_answer.json()["errors"][0]["message"].startswith("You already have 3 orders")
        # A refusal of no known kind is a bug: a generic 500, as for any other.
        plain_answer = await client.get("/plain")
        assert plain_answer.status_code == 500
        assert plain_answer.json() == {"errors": [{"message": "Something went wrong"}]}
