"""The invariant checker itself: each rule reports a database that breaks it (a checker
that found nothing would make the harness's zero meaningless)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from services.common.db import Database
from services.common.migrations import upgrade
from services.common.settings import SERVICE_NAMES
from services.gateway.app import load_definition
from tests.reliability.invariants import Invariants


@pytest.fixture
async def checker(tmp_path: Path) -> Invariants:
    """Every service's database, migrated and empty; no bus or Temporal needed here."""
    for name in SERVICE_NAMES:
        database = Database.connect(f"sqlite+aiosqlite:///{tmp_path / name}.db")
        await upgrade(database, load_definition(name).migrations)
        await database.dispose()
    return Invariants(tmp_path, nats_url="", temporal=None, stripe_url="", stream="")  # type: ignore[arg-type]


def write(checker: Invariants, service: str, sql: str, *params: object) -> None:
    with sqlite3.connect(checker.data_dir / f"{service}.db") as connection:
        connection.execute(sql, params)


def ticket(checker: Invariants, service: str, order: str | None, status: str = "reserved") -> str:
    ticket_id = uuid4().hex
    write(
        checker,
        service,
        "INSERT INTO tickets (id, title, price_cents, user_id, status, order_id, version"
        + (", created_at" if service == "tickets" else "")
        + ") VALUES (?, 't', 100, ?, ?, ?, 2"
        + (", ?" if service == "tickets" else "")
        + ")",
        ticket_id,
        uuid4().hex,
        status,
        order,
        *([datetime.now(UTC).isoformat()] if service == "tickets" else []),
    )
    return ticket_id


def order(checker: Invariants, ticket_id: str, status: str) -> str:
    order_id = uuid4().hex
    write(
        checker,
        "orders",
        "INSERT INTO orders (id, user_id, ticket_id, status, price_cents, expires_at,"
        " created_at, version) VALUES (?, ?, ?, ?, 100, ?, ?, 2)",
        order_id,
        uuid4().hex,
        ticket_id,
        status,
        (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
        datetime.now(UTC).isoformat(),
    )
    return order_id


async def test_a_clean_database_breaks_no_rule(checker: Invariants) -> None:
    assert checker.locks() + checker.charges() + checker.replicas() + checker.outboxes() == []


async def test_a_ticket_held_by_two_orders_is_reported(checker: Invariants) -> None:
    held = ticket(checker, "orders", None)
    order(checker, held, "awaiting:payment")
    order(checker, held, "complete")
    assert any("held by 2 orders" in found for found in checker.locks())


async def test_a_lock_naming_an_order_that_does_not_hold_it_is_reported(
    checker: Invariants,
) -> None:
    ticket(checker, "tickets", uuid4().hex)
    assert any("does not hold it" in found for found in checker.locks())


async def test_a_complete_order_without_a_charge_is_reported(checker: Invariants) -> None:
    order(checker, ticket(checker, "orders", None), "complete")
    assert any("complete order" in found for found in checker.charges())


async def test_a_replica_that_differs_from_its_source_is_reported(checker: Invariants) -> None:
    ticket(checker, "tickets", None, status="available")
    assert any("orders' replica differs" in found for found in checker.replicas())


async def test_an_unpublished_outbox_row_is_reported(checker: Invariants) -> None:
    write(
        checker,
        "tickets",
        "INSERT INTO outbox (event_id, subject, payload, created_at) VALUES (?, 'x', '{}', ?)",
        uuid4().hex,
        datetime.now(UTC).isoformat(),
    )
    assert checker.outboxes() == ["tickets: 1 outbox rows not published"]
