"""The orders routes on the real system: the saga, the tickets service and the replica."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import make_url, select, text, update
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle

from services.orders import purchase_client
from services.orders.models import Order, Ticket
from tests.orders.support import Market
from tests.support.metrics import figure
from tests.support.polling import eventually
from workflows.contracts import TaskQueue, workflow_id
from workflows.models import PaymentRequest, PurchaseInput, PurchaseState
from workflows.purchase import PurchaseWorkflow


async def test_order_locks_the_ticket_and_answers_awaiting_payment(market: Market) -> None:
    seller, buyer = market.user(), market.user()
    ticket = await market.list_ticket(seller, price=25.5)

    response = await market.orders.post(
        "/api/orders", json={"ticketId": ticket["id"]}, headers=buyer
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "awaiting:payment"
    assert order["ticket"] == {"id": ticket["id"], "title": "Concert", "price": 25.5}
    expires_at = datetime.fromisoformat(order["expiresAt"])
    window = expires_at - datetime.now(UTC)
    assert timedelta(minutes=14) < window <= timedelta(minutes=15)
    assert "_id" not in order and order["version"] >= 2
    # Locked for this order in the tickets service (the source of truth) already.
    assert (await market.ticket(ticket["id"]))["orderId"] == order["id"]

    shown = await market.orders.get(f"/api/orders/{order['id']}", headers=buyer)
    assert shown.status_code == 200 and shown.json()["id"] == order["id"]
    listed = await market.orders.get("/api/orders", headers=buyer)
    assert [item["id"] for item in listed.json()] == [order["id"]]
    assert (await market.orders.get("/api/orders", headers=market.user())).json() == []


async def test_second_buyer_is_told_the_ticket_is_reserved(market: Market) -> None:
    ticket = await market.list_ticket(market.user())
    first = await market.orders.post(
        "/api/orders", json={"ticketId": ticket["id"]}, headers=market.user()
    )
    assert first.status_code == 201
    second_buyer = market.user()
    second = await market.orders.post(
        "/api/orders", json={"ticketId": ticket["id"]}, headers=second_buyer
    )
    assert second.status_code == 409
    assert second.json() == {"errors": [{"message": "Ticket is already reserved"}]}
    # The refused attempt is not an order the second buyer has.
    assert (await market.orders.get("/api/orders", headers=second_buyer)).json() == []


async def test_order_errors(market: Market) -> None:
    seller = market.user()
    ticket = await market.list_ticket(seller)
    post = market.orders.post

    assert (await post("/api/orders", json={"ticketId": ticket["id"]})).status_code == 401
    missing = await post("/api/orders", json={}, headers=market.user())
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["field"] == "ticketId"
    malformed = await post("/api/orders", json={"ticketId": "nope"}, headers=market.user())
    assert malformed.status_code == 400
    unknown = await post("/api/orders", json={"ticketId": str(uuid4())}, headers=market.user())
    assert unknown.status_code == 404
    own = await post("/api/orders", json={"ticketId": ticket["id"]}, headers=seller)
    assert own.status_code == 403
    assert (await market.ticket(ticket["id"]))["orderId"] is None

    buyer = market.user()
    order = (await post("/api/orders", json={"ticketId": ticket["id"]}, headers=buyer)).json()
    assert (await market.orders.get(f"/api/orders/{uuid4()}", headers=buyer)).status_code == 404
    assert (await market.orders.get("/api/orders/not-an-id", headers=buyer)).status_code == 404
    other = market.user()
    assert (await market.orders.get(f"/api/orders/{order['id']}", headers=other)).status_code == 403
    assert (
        await market.orders.delete(f"/api/orders/{order['id']}", headers=other)
    ).status_code == 403


async def test_cancel_releases_the_ticket_for_another_buyer(market: Market) -> None:
    ticket = await market.list_ticket(market.user())
    buyer = market.user()
    order = (
        await market.orders.post("/api/orders", json={"ticketId": ticket["id"]}, headers=buyer)
    ).json()

    cancelled = await market.orders.delete(f"/api/orders/{order['id']}", headers=buyer)
    assert cancelled.status_code == 204
    shown = (await market.orders.get(f"/api/orders/{order['id']}", headers=buyer)).json()
    assert (shown["status"], shown["cancelReason"]) == ("cancelled", "cancelled")
    assert order["cancelReason"] is None
    assert (await market.ticket(ticket["id"]))["orderId"] is None
    again = await market.orders.delete(f"/api/orders/{order['id']}", headers=buyer)
    assert again.status_code == 204

    # The release reaches the replica; meanwhile the tickets service already decides.
    second = await market.orders.post(
        "/api/orders", json={"ticketId": ticket["id"]}, headers=market.user()
    )
    assert second.status_code == 201, second.text


async def test_twenty_buyers_one_ticket_exactly_one_wins(market: Market) -> None:
    ticket = await market.list_ticket(market.user())
    buyers = [market.user() for _ in range(20)]

    responses = await asyncio.gather(
        *(
            market.orders.post("/api/orders", json={"ticketId": ticket["id"]}, headers=buyer)
            for buyer in buyers
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 19, [r.text for r in responses if r.status_code >= 500]
    winner = next(response.json() for response in responses if response.status_code == 201)
    assert (await market.ticket(ticket["id"]))["orderId"] == winner["id"]

    async def losers_cancelled() -> bool:
        listed = [
            (await market.orders.get("/api/orders", headers=buyer)).json() for buyer in buyers
        ]
        return all(
            order["status"] == "cancelled"
            for orders in listed
            for order in orders
            if order["id"] != winner["id"]
        )

    await eventually(losers_cancelled)


async def test_a_paid_order_completes_and_cannot_be_cancelled(market: Market) -> None:
    ticket = await market.list_ticket(market.user())
    buyer_id = uuid4()
    buyer = market.user(buyer_id)
    order = await market.order(buyer, ticket["id"])

    handle: WorkflowHandle[PurchaseWorkflow, PurchaseState] = (
        market.temporal.get_workflow_handle_for(
            PurchaseWorkflow.run, workflow_id(UUID(order["id"]))
        )
    )
    token = await market.payment_method()
    receipt = await handle.execute_update(
        PurchaseWorkflow.pay,
        PaymentRequest(order_id=UUID(order["id"]), buyer_id=buyer_id, token=token),
    )
    assert receipt.stripe_id.startswith("pi_")
    assert (await handle.result()).status == "complete"

    shown = (await market.orders.get(f"/api/orders/{order['id']}", headers=buyer)).json()
    assert shown["status"] == "complete"
    refused = await market.orders.delete(f"/api/orders/{order['id']}", headers=buyer)
    assert refused.status_code == 409
    assert refused.json() == {"errors": [{"message": "Cannot cancel a paid order"}]}
    sold = await market.ticket(ticket["id"])
    assert sold["orderId"] == order["id"]
    listed = (await market.tickets.get("/api/tickets", params={"limit": 200})).json()
    assert ticket["id"] not in {item["id"] for item in listed}
    late = await market.orders.post(
        "/api/orders", json={"ticketId": ticket["id"]}, headers=market.user()
    )
    assert late.status_code == 409
    assert late.json() == {"errors": [{"message": "Ticket is already sold"}]}


async def test_a_buyer_follows_an_order_with_one_waiting_request(market: Market) -> None:
    ticket = await market.list_ticket(market.user())
    buyer = market.user()
    created = await market.orders.post(
        "/api/orders", json={"ticketId": ticket["id"]}, headers=buyer
    )
    assert created.status_code == 201
    order, etag = created.json(), created.headers["ETag"]
    assert created.headers["Location"] == f"/api/orders/{order['id']}"
    path = f"/api/orders/{order['id']}"

    shown = await market.orders.get(path, headers=buyer)
    assert shown.headers["ETag"] == etag  # the same representation
    unchanged = await market.orders.get(path, headers={**buyer, "If-None-Match": etag})
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged.headers["ETag"] == etag

    following = asyncio.create_task(
        market.orders.get(path, headers={**buyer, "If-None-Match": etag, "Prefer": "wait=20"})
    )
    await asyncio.sleep(0.5)
    assert not following.done()  # nothing has changed yet: it waits,
    assert market.orders_app_state.runtime.hints.watched == 1  # for a hint about the order
    started = asyncio.get_running_loop().time()
    assert (await market.orders.delete(path, headers=buyer)).status_code == 204
    changed = await following
    assert asyncio.get_running_loop().time() - started < 10  # answered by the change
    assert changed.status_code == 200
    assert changed.json()["status"] == "cancelled"
    assert changed.headers["ETag"] != etag
    assert changed.headers["Preference-Applied"] == "wait=20"


async def test_a_waiting_request_ends_with_304_when_nothing_changes(market: Market) -> None:
    ticket = await market.list_ticket(market.user())
    buyer = market.user()
    created = await market.orders.post(
        "/api/orders", json={"ticketId": ticket["id"]}, headers=buyer
    )
    path, etag = f"/api/orders/{created.json()['id']}", created.headers["ETag"]
    started = asyncio.get_running_loop().time()
    waited = await market.orders.get(
        path, headers={**buyer, "If-None-Match": f"W/{etag}", "Prefer": "wait=1"}
    )
    assert asyncio.get_running_loop().time() - started >= 0.9
    assert waited.status_code == 304
    assert waited.headers["Preference-Applied"] == "wait=1"
    # Another user's If-None-Match learns nothing about the order.
    assert (
        await market.orders.get(path, headers={**market.user(), "If-None-Match": etag})
    ).status_code == 403


async def test_losing_buyers_start_no_saga(market: Market) -> None:
    """The rush gate: the orders service refuses a second live order for a ticket from
    its own data, so a losing buyer leaves no order and starts no Purchase workflow."""
    ticket = await market.list_ticket(market.user())
    responses = await asyncio.gather(
        *(
            market.orders.post("/api/orders", json={"ticketId": ticket["id"]}, headers=buyer)
            for buyer in [market.user() for _ in range(20)]
        )
    )
    assert sorted(response.status_code for response in responses) == [201] + [409] * 19
    refused = [response.json() for response in responses if response.status_code == 409]
    assert all(body == {"errors": [{"message": "Ticket is already reserved"}]} for body in refused)

    runtime = market.orders_app_state.runtime
    async with runtime.database.read_sessions() as session:
        orders = (
            await session.scalars(select(Order).where(Order.ticket_id == UUID(ticket["id"])))
        ).all()
    assert len(orders) == 1
    query = f'WorkflowType="Purchase" AND TicketId="{ticket["id"]}"'

    async def visible() -> bool:
        return (await market.temporal.count_workflows(query)).count >= 1

    await eventually(visible)
    assert (await market.temporal.count_workflows(query)).count == 1


@contextlib.asynccontextmanager
async def another_writer_holding(url: str) -> AsyncIterator[None]:
    """Another process writes to the orders database for the while: on SQLite it holds
    the write lock; on PostgreSQL a lock on the orders table that still lets reads by."""
    if make_url(url).get_backend_name() == "sqlite":
        writer = sqlite3.connect(make_url(url).database or "", isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        return
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("LOCK TABLE orders IN EXCLUSIVE MODE"))
            yield
    finally:
        await engine.dispose()


async def test_losing_buyers_are_told_without_waiting_for_the_write_lock(
    market: Market,
) -> None:
    """In a rush the buyers of a ticket arrive together and all read it free before the
    first one's order is committed. The second and later ones are refused at once, not
    after queueing for the database's write lock (which another process may hold for a
    while) only for the unique index to refuse them."""
    ticket = await market.list_ticket(market.user())
    orders: list[asyncio.Task[Any]] = []

    async def answered() -> int:
        await asyncio.sleep(0.05)
        return sum(order.done() for order in orders)

    try:
        async with another_writer_holding(market.settings.database_url_for("orders")):
            orders.extend(
                asyncio.create_task(
                    market.orders.post(
                        "/api/orders", json={"ticketId": ticket["id"]}, headers=buyer
                    )
                )
                for buyer in [market.user() for _ in range(8)]
            )
            # Seven are told while the lock is still held; the first waits for it.
            assert await eventually(answered, lambda done: done >= 7, within=10) == 7
            assert all(order.result().status_code == 409 for order in orders if order.done())
        statuses = sorted(response.status_code for response in await asyncio.gather(*orders))
        assert statuses == [201] + [409] * 7
    finally:
        for order in orders:
            order.cancel()


async def test_a_buyer_holds_at_most_a_few_unpaid_orders(market: Market) -> None:
    buyer, limit = market.user(), market.settings.max_open_orders_per_buyer
    tickets = [await market.list_ticket(market.user()) for _ in range(limit + 1)]
    held = [await market.order(buyer, ticket["id"]) for ticket in tickets[:limit]]

    refused = await market.orders.post(
        "/api/orders", json={"ticketId": tickets[limit]["id"]}, headers=buyer
    )
    assert refused.status_code == 409
    assert refused.json() == {
        "errors": [
            {
                "message": f"You already have {limit} orders awaiting payment: "
                "pay for or cancel one first"
            }
        ]
    }
    # Another buyer is not held back by this one's orders.
    await market.order(market.user(), tickets[limit]["id"])

    cancelled = await market.orders.delete(f"/api/orders/{held[0]['id']}", headers=buyer)
    assert cancelled.status_code == 204
    # The slot is free again, for another ticket (the one just let go cools down first).
    fresh = await market.list_ticket(market.user())
    assert (await market.order(buyer, fresh["id"]))["status"] == "awaiting:payment"


async def cancel(market: Market, buyer: dict[str, str], order: dict[str, Any]) -> None:
    answer = await market.orders.delete(f"/api/orders/{order['id']}", headers=buyer)
    assert answer.status_code == 204, answer.text


async def test_a_ticket_let_go_unpaid_cannot_be_held_again_at_once_by_the_same_buyer(
    market: Market,
) -> None:
    """Cancelling just before the window ends and ordering again held a ticket for ever."""
    buyer, other = market.user(), market.user()
    ticket = await market.list_ticket(market.user())
    await cancel(market, buyer, await market.order(buyer, ticket["id"]))

    refused = await market.orders.post(
        "/api/orders", json={"ticketId": ticket["id"]}, headers=buyer
    )
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["message"].startswith("Your last order of this ticket")
    window = market.settings.order_expiration_seconds
    assert window < int(refused.headers["retry-after"]) <= 2 * window
    # Anyone else may order it at once.
    await cancel(market, other, await market.order(other, ticket["id"]))

    # Once the cool-down after the window's end has passed, the buyer may again.
    runtime = market.orders_app_state.runtime
    async with runtime.unit_of_work() as uow:
        await uow.session.execute(
            update(Order)
            .where(Order.user_id == UUID(buyer_sub(market, buyer)))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=window + 1))
        )
        await uow.commit()
    assert (await market.order(buyer, ticket["id"]))["status"] == "awaiting:payment"


async def test_a_buyers_orders_that_end_unpaid_are_bounded_per_day(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(market.settings, "unpaid_orders_per_buyer_per_day", 2)
    buyer = market.user()
    tickets = [await market.list_ticket(market.user()) for _ in range(3)]
    for ticket in tickets[:2]:
        await cancel(market, buyer, await market.order(buyer, ticket["id"]))
    refused = await market.orders.post(
        "/api/orders", json={"ticketId": tickets[2]["id"]}, headers=buyer
    )
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["message"].startswith("Too many of your orders")
    assert 0 < int(refused.headers["retry-after"]) <= 24 * 60 * 60
    # Another buyer is not held back by this one's.
    await market.order(market.user(), tickets[2]["id"])


def buyer_sub(market: Market, headers: dict[str, str]) -> str:
    token = headers["Authorization"].removeprefix("Bearer ")
    return str(market.orders_app_state.runtime.verifier.verify(token).user_id)


async def test_waiting_requests_are_capped_and_a_star_never_waits(market: Market) -> None:
    buyer = market.user()
    order = await market.order(buyer, (await market.list_ticket(market.user()))["id"])
    url = f"/api/orders/{order['id']}"
    etag = (await market.orders.get(url, headers=buyer)).headers["etag"]
    follow = {"If-None-Match": etag, "Prefer": "wait=3"}
    waiting = market.orders_app_state.waiting
    per_user = market.settings.max_waiting_requests_per_user

    held = [
        asyncio.create_task(market.orders.get(url, headers={**buyer, **follow}))
        for _ in range(per_user)
    ]
    await eventually(lambda: asyncio.sleep(0, waiting.waiting == per_user))
    refused = await market.orders.get(url, headers={**buyer, **follow})
    assert refused.status_code == 503
    assert int(refused.headers["retry-after"]) > 0
    assert refused.json()["errors"][0]["message"] == "Too many of your requests are waiting"

    started = asyncio.get_running_loop().time()
    star = await market.orders.get(url, headers={**buyer, "If-None-Match": "*", "Prefer": "wait=3"})
    assert star.status_code == 304
    assert asyncio.get_running_loop().time() - started < 1

    assert [answer.status_code for answer in await asyncio.gather(*held)] == [304] * per_user
    assert waiting.waiting == 0


@pytest.mark.parametrize("answer_lost", ["after the lock", "before the lock"])
async def test_a_lost_answer_from_the_saga_leaves_no_ticket_held(
    market: Market, monkeypatch: pytest.MonkeyPatch, answer_lost: str
) -> None:
    """Temporal took the start, but the route never heard back (a timeout, a worker
    away): the route gives the order up, and the saga it did start holds nothing."""
    real_start = purchase_client.start_purchase

    async def start_then_lose_the_answer(
        client: Client, purchase: PurchaseInput, *, deadline: timedelta
    ) -> Any:
        if answer_lost == "after the lock":
            await real_start(client, purchase, deadline=deadline)
        else:
            # Started, but answered before the ticket is locked.
            await client.start_workflow(
                PurchaseWorkflow.run,
                purchase,
                id=workflow_id(purchase.order_id),
                task_queue=TaskQueue.ORDERS,
            )
        raise RuntimeError("the answer was lost")

    monkeypatch.setattr(purchase_client, "start_purchase", start_then_lose_the_answer)
    ticket = await market.list_ticket(market.user())
    buyer = market.user()
    # In process the unexpected error reaches the caller itself (a server answers 500).
    with pytest.raises(RuntimeError, match="the answer was lost"):
        await market.orders.post("/api/orders", json={"ticketId": ticket["id"]}, headers=buyer)

    async def released() -> bool:
        return (await market.ticket(ticket["id"]))["orderId"] is None

    await eventually(released, within=20)
    runtime = market.orders_app_state.runtime
    async with runtime.database.read_sessions() as session:
        order = await session.scalar(select(Order).where(Order.ticket_id == UUID(ticket["id"])))
    assert order is not None and order.status == "cancelled"
    handle = market.temporal.get_workflow_handle(workflow_id(order.id))

    async def ended() -> bool:
        return (await handle.describe()).status != WorkflowExecutionStatus.RUNNING

    await eventually(ended, within=20, what="the abandoned saga to end")

    monkeypatch.undo()
    # The ticket is for sale again at once.
    again = await market.orders.post(
        "/api/orders", json={"ticketId": ticket["id"]}, headers=market.user()
    )
    assert again.status_code == 201, again.text


async def test_the_price_the_buyer_saw_must_be_the_price_locked(market: Market) -> None:
    ticket = await market.list_ticket(market.user(), price=30)
    buyer = market.user()
    changed = await market.orders.post(
        "/api/orders", json={"ticketId": ticket["id"], "price": 25.5}, headers=buyer
    )
    assert changed.status_code == 409
    assert changed.json() == {"errors": [{"message": "Ticket price changed", "field": "price"}]}
    # Nothing stays held, and the refused attempt is no order of the buyer's.
    assert (await market.ticket(ticket["id"]))["orderId"] is None
    assert (await market.orders.get("/api/orders", headers=buyer)).json() == []

    seen = await market.orders.post(
        "/api/orders", json={"ticketId": ticket["id"], "price": 30}, headers=buyer
    )
    assert seen.status_code == 201, seen.text
    assert seen.json()["ticket"]["price"] == 30


async def test_an_order_costs_what_the_lock_found_not_a_stale_replica(market: Market) -> None:
    ticket = await market.list_ticket(market.user(), price=30)
    # The replica lags a seller's edit: it still says 12.
    runtime = market.orders_app_state.runtime
    async with runtime.unit_of_work() as uow:
        await uow.session.execute(
            update(Ticket).where(Ticket.id == UUID(ticket["id"])).values(price_cents=1200)
        )
        await uow.commit()
    order = await market.order(market.user(), ticket["id"])
    assert order["ticket"]["price"] == 30


async def test_metrics_count_a_purchase_and_a_buyer_refused_at_the_gate(market: Market) -> None:
    before = (await market.orders.get("/metrics")).text
    ticket = await market.list_ticket(market.user())
    buyer = market.user()
    order = await market.order(buyer, ticket["id"])
    refused = await market.orders.post(
        "/api/orders", json={"ticketId": ticket["id"]}, headers=market.user()
    )
    assert refused.status_code == 409
    paid = await market.temporal.get_workflow_handle(workflow_id(UUID(order["id"]))).execute_update(
        PurchaseWorkflow.pay,
        PaymentRequest(
            order_id=UUID(order["id"]), buyer_id=UUID(order["userId"]), token="pm_card_visa"
        ),
    )
    assert paid is not None

    async def completed() -> bool:
        shown = (await market.orders.get(f"/api/orders/{order['id']}", headers=buyer)).json()
        return bool(shown["status"] == "complete")

    await eventually(completed)
    after = (await market.orders.get("/metrics")).text
    assert after.startswith("# HELP")

    def moved(name: str, **labels: str) -> float:
        return figure(after, name, **labels) - figure(before, name, **labels)

    purchases = "ticketing_purchases_total"
    assert moved(purchases, outcome="started") == 1
    assert moved(purchases, outcome="refused_at_gate") == 1
    assert moved(purchases, outcome="completed") == 1
    assert moved("ticketing_payment_attempts_total", outcome="succeeded") == 1
    requests = "ticketing_http_requests_total"
    assert moved(requests, service="orders", route="/api/orders", method="POST", status="201") == 1
    assert moved(requests, service="orders", route="/api/orders", method="POST", status="409") == 1
    shown = moved(
        requests, service="orders", route="/api/orders/{order_id}", method="GET", status="200"
    )
    assert shown >= 1


async def test_my_orders_come_a_page_at_a_time(market: Market) -> None:
    buyer = market.user()
    ordered = [
        await market.order(buyer, (await market.list_ticket(market.user()))["id"]) for _ in range(3)
    ]
    newest_first = [order["id"] for order in reversed(ordered)]
    whole = await market.orders.get("/api/orders", headers=buyer)
    assert [order["id"] for order in whole.json()] == newest_first
    assert "link" not in whole.headers
    first = await market.orders.get("/api/orders", params={"limit": 2}, headers=buyer)
    assert [order["id"] for order in first.json()] == newest_first[:2]
    assert first.headers["link"] == '</api/orders?limit=2&offset=2>; rel="next"'
    rest = await market.orders.get("/api/orders?limit=2&offset=2", headers=buyer)
    assert [order["id"] for order in rest.json()] == newest_first[2:]
