"""POST /api/payments/webhook: only Stripe's signed events get in, each is handled once,
and a payment event reaches the order's saga as its payment_event signal."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import func, select
from temporalio import workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from services.common.settings import Settings
from services.payments.models import Payment, PaymentStatus, StripeEvent
from services.payments.service import definition
from tests.support.apps import AppUnderTest, app_client, use_temporal
from workflows.contracts import workflow_id
from workflows.models import PaymentEvent

# What the database decides: on every set-up.
pytestmark = pytest.mark.database_matrix

SECRET = "whsec_test_only_not_a_real_secret"

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@workflow.defn(name="WebhookTestPurchase")
class SignalledPurchase:
    """Only what the webhook reaches of the saga: it records the signals it is sent."""

    def __init__(self) -> None:
        self.events: list[PaymentEvent] = []
        self.done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.done)

    @workflow.signal
    def payment_event(self, event: PaymentEvent) -> None:
        self.events.append(event)

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def received(self) -> list[PaymentEvent]:
        return self.events


class WebhookApi(AppUnderTest):
    async def deliver(self, payload: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.client.post(
            "/api/payments/webhook",
            content=payload,
            headers={"content-type": "application/json", **headers},
        )

    async def events_recorded(self) -> int:
        async with self.runtime.database.read_sessions() as session:
            count = await session.scalar(select(func.count()).select_from(StripeEvent))
        return int(count or 0)


@pytest.fixture
async def webhook(settings: Settings, temporal: Client) -> AsyncIterator[WebhookApi]:
    configured = settings.model_copy(update={"stripe_webhook_secret": SECRET})
    async with app_client(definition, configured) as (client, app):
        use_temporal(app, temporal, configured)
        yield WebhookApi(client, app, configured)


@pytest.fixture
async def saga(
    temporal: Client,
) -> AsyncIterator[tuple[UUID, WorkflowHandle[SignalledPurchase, None]]]:
    order_id, task_queue = uuid4(), f"webhook-{uuid4()}"
    async with Worker(
        temporal,
        task_queue=task_queue,
        workflows=[SignalledPurchase],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await temporal.start_workflow(
            SignalledPurchase.run, id=workflow_id(order_id), task_queue=task_queue
        )
        yield order_id, handle
        # Ended while its worker runs: a task left for no worker would stop the
        # time-skipping test server skipping time for the tests after.
        await handle.signal(SignalledPurchase.finish)
        await handle.result()


def stripe_event(order_id: UUID, event_type: str = "payment_intent.succeeded") -> bytes:
    return json.dumps(
        {
            "id": f"evt_{uuid4().hex}",
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": f"pi_{uuid4().hex[:24]}",
                    "object": "payment_intent",
                    "status": "succeeded",
                    "metadata": {"order_id": str(order_id), "attempt": "1"},
                }
            },
        }
    ).encode()


def signed(payload: bytes, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    """The Stripe-Signature header, as Stripe (and localstripe) compute it."""
    timestamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), b"%d.%s" % (timestamp, payload), hashlib.sha256)
    return {"stripe-signature": f"t={timestamp},v1={digest.hexdigest()}"}


Saga = tuple[UUID, WorkflowHandle[SignalledPurchase, None]]


async def test_a_payment_event_is_passed_to_the_saga_once(webhook: WebhookApi, saga: Saga) -> None:
    order_id, handle = saga
    payload = stripe_event(order_id)

    first = await webhook.deliver(payload, signed(payload))
    again = await webhook.deliver(payload, signed(payload))

    assert (first.status_code, first.json()) == (200, {"received": True, "firstDelivery": True})
    assert (again.status_code, again.json()) == (200, {"received": True, "firstDelivery": False})
    received = await handle.query(SignalledPurchase.received)
    intent_id = json.loads(payload)["data"]["object"]["id"]
    assert [(event.payment_intent_id, event.event_type) for event in received] == [
        (intent_id, "payment_intent.succeeded")
    ]
    assert await webhook.events_recorded() == 1


async def test_a_success_the_charge_already_recorded_is_not_told_again(
    webhook: WebhookApi, saga: Saga
) -> None:
    """A card charged without authentication: the charge's activity recorded the
    PaymentIntent's success (and told the saga with its result) before Stripe's event
    came; the event is recorded as handled, and the saga is sent nothing."""
    order_id, handle = saga
    payload = stripe_event(order_id)
    intent_id = json.loads(payload)["data"]["object"]["id"]
    async with webhook.runtime.unit_of_work() as uow:
        uow.session.add(
            Payment(
                order_id=order_id,
                user_id=uuid4(),
                amount_cents=2550,
                status=PaymentStatus.SUCCEEDED,
                stripe_id=intent_id,
            )
        )
        await uow.commit()

    answer = await webhook.deliver(payload, signed(payload))

    assert (answer.status_code, answer.json()) == (200, {"received": True, "firstDelivery": True})
    assert await webhook.events_recorded() == 1
    assert await handle.query(SignalledPurchase.received) == []
    # Another PaymentIntent of the same order (an earlier card's authentication, say)
    # is news: the saga is told.
    other = stripe_event(order_id)
    await webhook.deliver(other, signed(other))
    received = await handle.query(SignalledPurchase.received)
    assert [event.payment_intent_id for event in received] == [
        json.loads(other)["data"]["object"]["id"]
    ]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda payload: signed(payload, secret="whsec_someone_else"), id="forged"),
        pytest.param(lambda payload: signed(payload, at=int(time.time()) - 3600), id="stale"),
        pytest.param(lambda payload: {}, id="unsigned"),
        pytest.param(lambda payload: {"stripe-signature": "t=1,v1=zz"}, id="garbled"),
    ],
)
async def test_an_event_without_stripes_signature_is_refused_and_changes_nothing(
    webhook: WebhookApi, saga: Saga, headers: Callable[[bytes], dict[str, str]]
) -> None:
    order_id, handle = saga
    payload = stripe_event(order_id)

    refused = await webhook.deliver(payload, headers(payload))

    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"] in (
        "Invalid Stripe signature",
        "Missing Stripe-Signature header",
    )
    assert await handle.query(SignalledPurchase.received) == []
    assert await webhook.events_recorded() == 0


async def test_a_body_that_is_not_the_signed_one_is_refused(
    webhook: WebhookApi, saga: Saga
) -> None:
    order_id, _ = saga
    payload = stripe_event(order_id)
    tampered = payload.replace(b"payment_intent.succeeded", b"payment_intent.payment_failed")
    refused = await webhook.deliver(tampered, signed(payload))
    assert refused.status_code == 400
    assert await webhook.events_recorded() == 0


async def test_other_events_and_ended_sagas_are_acknowledged(
    webhook: WebhookApi, saga: Saga
) -> None:
    order_id, handle = saga
    other = stripe_event(order_id, "charge.refunded")
    no_saga = stripe_event(uuid4())

    for payload in (other, no_saga):
        answered = await webhook.deliver(payload, signed(payload))
        assert (answered.status_code, answered.json()["firstDelivery"]) == (200, True)
    assert await handle.query(SignalledPurchase.received) == []
    assert await webhook.events_recorded() == 2


async def test_without_a_secret_the_webhook_is_not_there(settings: Settings) -> None:
    async with app_client(definition, settings) as (client, _):
        payload = stripe_event(uuid4())
        answered = await client.post(
            "/api/payments/webhook", content=payload, headers=signed(payload)
        )
    assert answered.status_code == 404
    assert answered.json()["errors"][0]["message"] == "Stripe webhooks are not configured"


async def test_the_openapi_document_tells_of_authentication_and_the_webhook(
    webhook: WebhookApi,
) -> None:
    document = (await webhook.client.get("/api/payments/openapi.json")).json()
    pay = document["paths"]["/api/payments"]["post"]["responses"]
    action = pay["202"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(document["components"]["schemas"][action]["properties"]) == {
        "status",
        "clientSecret",
        "paymentIntentId",
    }
    assert {"201", "202", "402"} <= set(pay)
    assert {"200", "400"} <= set(document["paths"]["/api/payments/webhook"]["post"]["responses"])
