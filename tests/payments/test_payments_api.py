"""POST /api/payments: the replica's checks, then payment through the saga's Update."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.payments import PaymentsActivities
from services.common.messaging.events import (
    Event,
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
)
from services.common.settings import Settings
from services.payments import operations as payment_operations
from services.payments.event_handlers import orders_consumer
from services.payments.models import Payment, PaymentStatus
from services.payments.service import definition
from tests.payments.support import PayOnlyPurchase, intents_of_order
from tests.support.apps import AppUnderTest, app_client, bearer, use_temporal
from tests.support.cards import DECLINED, payment_method
from workflows.contracts import OrderStatus, TaskQueue, workflow_id
from workflows.models import ChargeInput, PurchaseInput


class PaymentsApi(AppUnderTest):
    async def pay(
        self, order_id: object, token: str, user_id: UUID | None, key: str | None = None
    ) -> httpx.Response:
        headers = self.auth(user_id) if user_id else {}
        if key is not None:
            headers["Idempotency-Key"] = key
        return await self.client.post(
            "/api/payments", json={"orderId": str(order_id), "token": token}, headers=headers
        )

    async def seed(self, *events: Event) -> None:
        """Apply order events to the replica, as its consumer would."""
        async with self.runtime.unit_of_work() as uow:
            for event in events:
                await orders_consumer.handlers[type(event)](event, uow)
            await uow.commit()

    async def order(self, buyer: UUID, *, expires_in: timedelta = timedelta(minutes=15)) -> UUID:
        order_id = uuid4()
        await self.seed(
            OrderCreated(
                version=1,
                order_id=order_id,
                user_id=buyer,
                ticket_id=uuid4(),
                price_cents=2050,
                status=OrderStatus.AWAITING_PAYMENT,
                expires_at=datetime.now(UTC) + expires_in,
            )
        )
        return order_id


@pytest.fixture
async def payments_api(settings: Settings) -> AsyncIterator[PaymentsApi]:
    async with app_client(definition, settings) as (client, app):
        yield PaymentsApi(client, app, settings)


def messages(response: httpx.Response) -> list[str]:
    return [error["message"] for error in response.json()["errors"]]


# --- checks made before the saga is asked --------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_refuses_anyone_not_signed_in(payments_api: PaymentsApi) -> None:
    response = await payments_api.pay(uuid4(), "pm_card_visa", user_id=None)
    assert response.status_code == 401
    assert messages(response) == ["Not authorized"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"token": "pm_card_visa"}, "orderId"),
        ({"orderId": str(uuid.UUID(int=1))}, "token"),
        ({"orderId": "not-a-uuid", "token": "pm_card_visa"}, "orderId"),
        ({"orderId": str(uuid.UUID(int=1)), "token": "   "}, "token"),
        ({"orderId": str(uuid.UUID(int=1)), "token": "pm card; drop"}, "token"),
        ({"orderId": str(uuid.UUID(int=1)), "token": 42}, "token"),
    ],
)
async def test_refuses_a_missing_or_malformed_field(
    payments_api: PaymentsApi, body: dict[str, object], field: str
) -> None:
    response = await payments_api.client.post(
        "/api/payments", json=body, headers=bearer(payments_api.settings, uuid4())
    )
    assert response.status_code == 400
    assert [error.get("field") for error in response.json()["errors"]] == [field]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_unknown_order_is_not_found(payments_api: PaymentsApi) -> None:
    response = await payments_api.pay(uuid4(), "pm_card_visa", user_id=uuid4())
    assert response.status_code == 404
    assert messages(response) == ["Order not found"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_another_users_order_is_forbidden(payments_api: PaymentsApi) -> None:
    order_id = await payments_api.order(buyer=uuid4())
    response = await payments_api.pay(order_id, "pm_card_visa", user_id=uuid4())
    assert response.status_code == 403


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_order_no_longer_awaiting_payment_is_a_conflict(
    payments_api: PaymentsApi, temporal: Client
) -> None:
    """Its saga has ended: the replica says why."""
    use_temporal(payments_api.app, temporal, payments_api.settings)
    buyer = uuid4()
    cancelled, complete = await payments_api.order(buyer), await payments_api.order(buyer)
    await payments_api.seed(
        OrderCancelled(version=2, order_id=cancelled, ticket_id=uuid4()),
        OrderCompleted(version=2, order_id=complete, ticket_id=uuid4()),
    )
    expired = await payments_api.order(buyer, expires_in=timedelta(seconds=-1))

    for order_id, message in [
        (cancelled, "Cannot pay for a cancelled order"),
        (complete, "Order has already been paid"),
        (expired, "The payment window has ended"),
    ]:
        response = await payments_api.pay(order_id, "pm_card_visa", user_id=buyer)
        assert (response.status_code, messages(response)) == (409, [message])


# --- payment through the saga's Update ------------------------------------------------


@pytest.fixture
async def worker(payments_api: PaymentsApi, temporal: Client) -> AsyncIterator[PaymentsActivities]:
    """The payments task queue: the real activities and the stand-in saga."""
    use_temporal(payments_api.app, temporal, payments_api.settings)
    activities = PaymentsActivities(payments_api.runtime)
    task_queue = TaskQueue.PAYMENTS
    async with Worker(
        temporal,
        task_queue=task_queue,
        workflows=[PayOnlyPurchase],
        activities=[activities.charge, activities.refund],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        yield activities
    await activities.aclose()


async def start_saga(temporal: Client, order_id: UUID, buyer: UUID) -> None:
    await temporal.start_workflow(
        PayOnlyPurchase.run,
        PurchaseInput(
            order_id=order_id,
            ticket_id=uuid4(),
            buyer_id=buyer,
            price_cents=2050,
            payment_window_seconds=900,
        ),
        id=workflow_id(order_id),
        task_queue=TaskQueue.PAYMENTS,
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_pays_declines_and_never_charges_twice(
    payments_api: PaymentsApi, temporal: Client, worker: PaymentsActivities
) -> None:
    buyer = uuid4()
    order_id = await payments_api.order(buyer)
    await start_saga(temporal, order_id, buyer)

    declined_card = await payment_method(worker.gateway, DECLINED)
    declined = await payments_api.pay(order_id, declined_card, buyer)
    assert (declined.status_code, messages(declined)) == (402, ["Your card was declined."])

    paid = await payments_api.pay(order_id, "pm_card_visa", buyer)
    assert paid.status_code == 201
    async with payments_api.runtime.database.read_sessions() as session:
        payment = (await session.scalars(select(Payment).where(Payment.order_id == order_id))).one()
    assert paid.json() == {"id": str(payment.id), "status": "succeeded"}
    assert payment.status == PaymentStatus.SUCCEEDED

    # The replica still says awaiting payment; the saga's validator refuses.
    again = await payments_api.pay(order_id, "pm_card_visa", buyer)
    assert again.status_code == 409
    assert len(await intents_of_order(worker.gateway, order_id)) == 2  # declined + paid


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_same_idempotency_key_gets_the_same_answer_and_charges_once(
    payments_api: PaymentsApi, temporal: Client, worker: PaymentsActivities
) -> None:
    buyer = uuid4()
    order_id = await payments_api.order(buyer)
    await start_saga(temporal, order_id, buyer)

    declined_card = await payment_method(worker.gateway, DECLINED)
    declined = await payments_api.pay(order_id, declined_card, buyer, key="click-1")
    again = await payments_api.pay(order_id, declined_card, buyer, key="click-1")
    assert [declined.status_code, again.status_code] == [402, 402]
    assert messages(again) == messages(declined)

    # Sent twice at once, and once more after the answer: one charge, one payment.
    first, second = await asyncio.gather(
        payments_api.pay(order_id, "pm_card_visa", buyer, key="click-2"),
        payments_api.pay(order_id, "pm_card_visa", buyer, key="click-2"),
    )
    third = await payments_api.pay(order_id, "pm_card_visa", buyer, key="click-2")
    assert [first.status_code, second.status_code, third.status_code] == [201, 201, 201]
    assert first.json() == second.json() == third.json()
    # Another key is another payment: refused, the order is paid.
    other = await payments_api.pay(order_id, "pm_card_visa", buyer, key="click-3")
    assert other.status_code == 409
    assert len(await intents_of_order(worker.gateway, order_id)) == 2  # declined + paid


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_with_no_worker_for_the_saga_paying_answers_503_within_the_deadline(
    settings: Settings, temporal: Client
) -> None:
    """The saga exists but no worker takes its tasks: Temporal would hold the Update for
    as long as that lasts; the route answers within its deadline instead."""
    quick = settings.model_copy(update={"temporal_call_timeout_seconds": 1.0})
    async with app_client(definition, quick) as (client, app):
        api = PaymentsApi(client, app, quick)
        use_temporal(app, temporal, quick)
        buyer = uuid4()
        order_id = await api.order(buyer)
        await start_saga(temporal, order_id, buyer)  # on a queue nobody polls now
        started = time.monotonic()
        response = await api.pay(order_id, "pm_card_visa", buyer, key="click-1")
        assert time.monotonic() - started < 3
        await temporal.get_workflow_handle(workflow_id(order_id)).terminate("the test is over")
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert messages(response) == ["The service is busy: try again shortly"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_idempotency_key_must_be_a_short_string(payments_api: PaymentsApi) -> None:
    buyer = uuid4()
    order_id = await payments_api.order(buyer)
    response = await payments_api.pay(order_id, "pm_card_visa", buyer, key="k" * 256)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_order_whose_saga_is_not_running_is_a_conflict(
    payments_api: PaymentsApi, temporal: Client, worker: PaymentsActivities
) -> None:
    buyer = uuid4()
    order_id = await payments_api.order(buyer)
    response = await payments_api.pay(order_id, "pm_card_visa", buyer)
    assert (response.status_code, messages(response)) == (409, ["Order is not awaiting payment"])


async def _declined_attempts(api: PaymentsApi, order_id: UUID, buyer: UUID, count: int) -> None:
    """Attempts the payments worker recorded as declined, through its own operations."""
    for attempt in range(1, count + 1):
        charge = ChargeInput(
            order_id=order_id, buyer_id=buyer, amount_cents=2050, token="tok", attempt=attempt
        )
        async with api.runtime.unit_of_work() as uow:
            step = await payment_operations.claim(uow, charge, datetime.now(UTC))
            assert isinstance(step, payment_operations.Attempt)
            await payment_operations.settle_declined(uow, step, "declined", datetime.now(UTC))
            await uow.commit()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_card_testing_is_capped_per_order_and_per_buyer(payments_api: PaymentsApi) -> None:
    settings = payments_api.settings
    buyer = uuid4()
    tried = await payments_api.order(buyer)
    await _declined_attempts(payments_api, tried, buyer, settings.payment_attempts_per_order)
    capped = await payments_api.pay(tried, "pm_card_visa", user_id=buyer)
    assert capped.status_code == 429
    assert messages(capped) == ["Too many payment attempts for this order"]
    assert 0 < int(capped.headers["retry-after"]) <= 15 * 60

    # Declines across orders count for the buyer: past the hourly bound, a fresh order
    # is refused too, while another buyer pays on.
    left = settings.declines_per_buyer_per_hour - settings.payment_attempts_per_order
    for _ in range(left):
        await _declined_attempts(payments_api, await payments_api.order(buyer), buyer, 1)
    fresh = await payments_api.pay(await payments_api.order(buyer), "pm_card_visa", user_id=buyer)
    assert fresh.status_code == 429
    assert messages(fresh) == ["Too many declined cards: try again later"]
    assert 0 < int(fresh.headers["retry-after"]) <= 3600


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_3d_secure_challenge_counts_as_a_declined_card(payments_api: PaymentsApi) -> None:
    """The bank asking for authentication tells a card tester the card is live."""
    settings = payments_api.settings
    buyer = uuid4()
    for _ in range(settings.declines_per_buyer_per_hour):
        order_id = await payments_api.order(buyer)
        charge = ChargeInput(
            order_id=order_id, buyer_id=buyer, amount_cents=2050, token="tok", attempt=1
        )
        async with payments_api.runtime.unit_of_work() as uow:
            step = await payment_operations.claim(uow, charge, datetime.now(UTC))
            assert isinstance(step, payment_operations.Attempt)
            await payment_operations.settle_requires_action(uow, step, f"pi_{uuid4().hex}")
            await uow.commit()
    fresh = await payments_api.pay(await payments_api.order(buyer), "pm_card_visa", user_id=buyer)
    assert fresh.status_code == 429
    assert messages(fresh) == ["Too many declined cards: try again later"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_declines_across_accounts_trip_the_address_and_the_site_breakers(
    payments_api: PaymentsApi,
    temporal: Client,
    worker: PaymentsActivities,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(payments_api.settings, "declines_per_address", "2/hour")
    monkeypatch.setattr(payments_api.settings, "site_declines", "3/hour")
    declined_card = await payment_method(worker.gateway, DECLINED)

    async def pay_from(address: str, token: str) -> httpx.Response:
        """A fresh account's fresh order, paid from ``address``."""
        buyer = uuid4()
        order_id = await payments_api.order(buyer)
        await start_saga(temporal, order_id, buyer)
        transport = httpx.ASGITransport(app=payments_api.app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(
                "/api/payments",
                json={"orderId": str(order_id), "token": token},
                headers=payments_api.auth(buyer),
            )

    tester, other, bystander = "198.51.100.10", "198.51.100.11", "198.51.100.12"
    for _ in range(2):
        assert (await pay_from(tester, declined_card)).status_code == 402
    # A new account from the same address is refused before its card reaches Stripe.
    refused = await pay_from(tester, "pm_card_visa")
    assert refused.status_code == 429
    assert messages(refused) == ["Too many declined cards from your address: try again later"]
    assert int(refused.headers["retry-after"]) > 0
    # A third decline elsewhere trips the site's: card payments pause for everyone.
    assert (await pay_from(other, declined_card)).status_code == 402
    paused = await pay_from(bystander, "pm_card_visa")
    assert paused.status_code == 503
    assert messages(paused) == [
        "Card payments are paused for a few minutes: please try again shortly"
    ]
    assert int(paused.headers["retry-after"]) > 0
