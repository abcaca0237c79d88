"""The saga's activity stubs say what the real activities take and answer: same name,
same argument type, same result type, and registered by the worker of the queue the saga
sends each one to. A stub that drifted would let mypy pass a call the worker refuses."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.orders import OrdersActivities
from activities.payments import PaymentsActivities
from activities.tickets import TicketsActivities
from workflows import activity_stubs

REAL: dict[str, type] = {
    "tickets": TicketsActivities,
    "orders": OrdersActivities,
    "payments": PaymentsActivities,
}
QUEUE_OF_STUB = {
    "reserve_ticket": "tickets",
    "release_ticket": "tickets",
    "mark_ticket_sold": "tickets",
    "mark_order_awaiting_payment": "orders",
    "complete_order": "orders",
    "cancel_order": "orders",
    "charge": "payments",
    "settle_authentication": "payments",
    "refund": "payments",
}


def _stubs() -> dict[str, Callable[..., Any]]:
    return {
        name: fn
        for name, fn in vars(activity_stubs).items()
        if inspect.iscoroutinefunction(fn) and activity._Definition.from_callable(fn)
    }


def _shape(fn: Callable[..., Any]) -> tuple[list[object], object]:
    hints = typing.get_type_hints(fn)
    returned = hints.pop("return")
    return list(hints.values()), returned


def test_every_stub_matches_the_activity_its_queue_registers() -> None:
    stubs = _stubs()
    assert set(stubs) == set(QUEUE_OF_STUB)
    for name, stub in stubs.items():
        stub_defn = activity._Definition.must_from_callable(stub)
        real = getattr(REAL[QUEUE_OF_STUB[name]], name)
        real_defn = activity._Definition.must_from_callable(real)
        assert real_defn.name == stub_defn.name, name
        assert _shape(real) == _shape(stub), name
