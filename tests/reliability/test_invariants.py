"""The invariant checker itself, on each engine the services run on: each rule reports a
database that breaks it (a checker that found nothing would make the harness's zero
meaningless)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from services.common.data.db import Database
from services.common.data.migrations import upgrade
from services.common.settings import SERVICE_NAMES, ServiceName
from services.definitions import load_definition
from tests.reliability.databases import BACKENDS, ServiceDatabases, postgres_urls
from tests.reliability.invariants import Invariants
from tests.support.cards import localstripe, payment_method
from tests.support.postgres import PostgresCluster

# What the database decides: on every set-up.
pytestmark = pytest.mark.database_matrix


@pytest.fixture(params=BACKENDS)
async def checker(request: pytest.FixtureRequest, tmp_path: Path) -> Invariants:
    """Every service's database, migrated and empty; no bus or Temporal needed here."""
    if request.param == "sqlite":
        urls = {name: f"sqlite+aiosqlite:///{tmp_path / name}.db" for name in SERVICE_NAMES}
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        urls = postgres_urls(cluster)
    for name, url in urls.items():
        database = Database.connect(url)
        await upgrade(database, load_definition(name).migrations)
        await database.dispose()
    return Invariants(
        ServiceDatabases(urls),
        nats_url="",
        temporal=None,  # type: ignore[arg-type]
        stripe_url="",
        stream="",
    )


async def write(checker: Invariants, service: ServiceName, table: str, **row: object) -> None:
    """A row written as the service would, through its own table definition."""
    database = Database.connect(checker.databases.urls[service])
    try:
        async with database.write_engine.begin() as connection:
            await connection.execute(
                insert(load_definition(service).metadata.tables[table]).values(**row)
            )
    finally:
        await database.dispose()


async def ticket(
    checker: Invariants,
    service: ServiceName,
    order: UUID | None,
    status: str = "reserved",
    ticket_id: UUID | None = None,
) -> UUID:
    ticket_id = ticket_id or uuid4()
    await write(
        checker,
        service,
        "tickets",
        id=ticket_id,
        title="t",
        price_cents=100,
        user_id=uuid4(),
        status=status,
        order_id=order,
        version=2,
        **({"created_at": datetime.now(UTC)} if service == "tickets" else {}),
    )
    return ticket_id


async def order(
    checker: Invariants, ticket_id: UUID, status: str, user_id: UUID | None = None
) -> UUID:
    order_id = uuid4()
    await write(
        checker,
        "orders",
        "orders",
        id=order_id,
        user_id=user_id or uuid4(),
        ticket_id=ticket_id,
        status=status,
        price_cents=100,
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
        created_at=datetime.now(UTC),
        version=2,
    )
    return order_id


async def test_a_clean_database_breaks_no_rule(checker: Invariants) -> None:
    assert await checker.locks() == []
    assert await checker.charges() == []
    assert await checker.replicas() == []
    assert await checker.outboxes() == []


async def test_a_ticket_held_by_two_orders_is_reported(checker: Invariants) -> None:
    held = await ticket(checker, "orders", None)
    await order(checker, held, "awaiting:payment")
    # The orders database itself refuses a second live order (the rush gate) ...
    with pytest.raises(IntegrityError):
        await order(checker, held, "complete")
    # ... so the checker is shown one from a database without that index.
    database = Database.connect(checker.databases.urls["orders"])
    try:
        async with database.write_engine.begin() as connection:
            await connection.execute(text("DROP INDEX uq_orders_live_ticket_id"))
    finally:
        await database.dispose()
    await order(checker, held, "complete")
    assert any("held by 2 orders" in found for found in await checker.locks())


async def test_a_lock_naming_an_order_that_does_not_hold_it_is_reported(
    checker: Invariants,
) -> None:
    await ticket(checker, "tickets", uuid4())
    assert any("does not hold it" in found for found in await checker.locks())


async def test_entry_codes_held_by_the_buyer_and_the_seller_are_not_reported(
    checker: Invariants,
) -> None:
    seller, buyer = uuid4(), uuid4()
    sold, listed = uuid4(), uuid4()
    await ticket(checker, "orders", None, "sold", ticket_id=sold)  # the orders replica
    bought = await order(checker, sold, "complete", user_id=buyer)
    for ticket_id, status, holder, order_id in (
        (sold, "sold", buyer, bought),
        (listed, "available", seller, None),
    ):
        await write(
            checker, "tickets", "tickets", id=ticket_id, title="t", price_cents=100,
            user_id=seller, status=status, order_id=order_id, version=3, holder_id=holder,
            generation=2, lineage_id=ticket_id, created_at=datetime.now(UTC),
        )  # fmt: skip
    assert await checker.entry_codes() == []


async def test_a_sold_ticket_whose_code_is_not_its_buyers_is_reported(
    checker: Invariants,
) -> None:
    seller, buyer = uuid4(), uuid4()
    sold = uuid4()
    await ticket(checker, "orders", None, "sold", ticket_id=sold)  # the orders replica
    bought = await order(checker, sold, "complete", user_id=buyer)
    # The seller still holding the code of a ticket sold: two people could get in.
    await write(
        checker, "tickets", "tickets", id=sold, title="t", price_cents=100, user_id=seller,
        status="sold", order_id=bought, version=3, holder_id=seller, generation=1,
        lineage_id=sold, created_at=datetime.now(UTC),
    )  # fmt: skip
    [found] = await checker.entry_codes()
    assert f"sold ticket {sold}" in found or f"sold ticket {sold.hex}" in found


async def test_a_complete_order_without_a_charge_is_reported(checker: Invariants) -> None:
    await order(checker, await ticket(checker, "orders", None), "complete")
    assert any("complete order" in found for found in await checker.charges())


async def test_a_replica_that_differs_from_its_source_is_reported(checker: Invariants) -> None:
    await ticket(checker, "tickets", None, status="available")
    assert any("orders' replica differs" in found for found in await checker.replicas())


async def test_a_replica_equal_to_its_source_is_not_reported(checker: Invariants) -> None:
    # Ids and lock holders must read the same from both databases, whatever the engine.
    order_id = uuid4()
    source = await ticket(checker, "tickets", order_id)
    await ticket(checker, "orders", order_id, ticket_id=source)
    assert await checker.replicas() == []


async def test_the_checker_cannot_write(checker: Invariants) -> None:
    with pytest.raises(DBAPIError):
        await checker.databases.rows("tickets", "DELETE FROM outbox")


async def test_an_unpublished_outbox_row_is_reported(checker: Invariants) -> None:
    await write(
        checker,
        "tickets",
        "outbox",
        event_id=uuid4(),
        subject="x",
        payload="{}",
        created_at=datetime.now(UTC),
    )
    assert await checker.outboxes() == ["tickets: 1 outbox rows not published"]


async def _charge(stripe: httpx.AsyncClient, order: UUID, attempt: int) -> str:
    created = await stripe.post(
        "/v1/payment_intents",
        data={
            "amount": "1000",
            "currency": "usd",
            "payment_method": await payment_method(stripe),
            "confirm": "true",
            "metadata[order_id]": str(order),
            "metadata[attempt]": str(attempt),
        },
    )
    assert created.status_code == 200 and created.json()["status"] == "succeeded", created.text
    intent_id: str = created.json()["id"]
    return intent_id


async def test_stripe_charges_are_counted_per_attempt(
    checker: Invariants, localstripe_url: str
) -> None:
    """Two attempts of one order that both took money are a double charge; one attempt
    replayed (localstripe ignores the idempotency key that real Stripe honours) is not;
    a cancelled order's refunded attempt is no charge kept."""
    twice, replayed = uuid4(), uuid4()
    cancelled = await order(
        checker, await ticket(checker, "orders", None, "available"), "cancelled"
    )
    async with localstripe(localstripe_url) as stripe:
        for paid, attempt in ((twice, 1), (twice, 2), (replayed, 1), (replayed, 1)):
            await _charge(stripe, paid, attempt)
        refunded = await _charge(stripe, cancelled, 1)
        assert (await stripe.post("/v1/refunds", data={"payment_intent": refunded})).is_success
    checker.stripe_url = localstripe_url

    # localstripe is shared by the whole test session: look at this test's orders only.
    ours = [
        violation
        for violation in await checker.stripe_charges()
        if any(mine.hex in violation for mine in (twice, replayed, cancelled))
    ]
    assert ours == [f"order {twice.hex} charged 2 times"]
