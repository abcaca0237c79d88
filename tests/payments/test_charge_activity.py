"""The charge, authentication and refund activities: one charge per order, whatever is
retried, and no PaymentIntent left able to take money once the order moved on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.payments import PAYMENT_IN_PROGRESS, PaymentsActivities
from services.common.messaging.events import ChargeCreated, Subject
from services.common.runtime import ServiceRuntime
from services.common.settings import Settings
from services.payments import operations
from services.payments.models import Payment, PaymentStatus
from services.payments.stripe_gateway import StripeGateway
from tests.payments.support import (
    intents_of_order,
    outbox_drained,
    payments_runtime,
)
from tests.support.cards import DECLINED, NEEDS_3DS, VISA, authenticate, payment_method
from tests.support.jetstream import stream_events
from workflows.contracts import FailureType
from workflows.models import (
    AuthenticationInput,
    ChargeInput,
    ChargeOutcome,
    ChargeResult,
    RefundInput,
)

# What the database decides: on every set-up.
pytestmark = pytest.mark.database_matrix


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[ServiceRuntime]:
    async with payments_runtime(settings, consume=False) as runtime:
        yield runtime


@pytest.fixture
async def activities(runtime: ServiceRuntime) -> AsyncIterator[PaymentsActivities]:
    activities = PaymentsActivities(runtime)
    yield activities
    await activities.aclose()


@pytest.fixture
def gateway(activities: PaymentsActivities) -> StripeGateway:
    return activities.gateway


def charge_input(
    order_id: UUID, token: str, attempt: int = 1, *, accepts_authentication: bool = True
) -> ChargeInput:
    return ChargeInput(
        order_id=order_id,
        buyer_id=uuid4(),
        amount_cents=2050,
        token=token,
        attempt=attempt,
        accepts_authentication=accepts_authentication,
    )


async def charges_in_stream(
    runtime: ServiceRuntime, settings: Settings, order_id: UUID
) -> list[ChargeCreated]:
    await outbox_drained(runtime)
    events = await stream_events(settings.nats_url, settings.events_stream, Subject.CHARGE_CREATED)
    return [e for e in events if isinstance(e, ChargeCreated) and e.order_id == order_id]


async def payment_of(runtime: ServiceRuntime, order_id: UUID) -> Payment:
    async with runtime.database.read_sessions() as session:
        return (await session.scalars(select(Payment).where(Payment.order_id == order_id))).one()


async def test_an_order_charged_twice_is_charged_once(
    activities: PaymentsActivities,
    gateway: StripeGateway,
    runtime: ServiceRuntime,
    settings: Settings,
) -> None:
    order_id = uuid4()
    visa = await payment_method(gateway, VISA)

    first = await activities.charge(charge_input(order_id, visa))
    retried = await activities.charge(charge_input(order_id, visa))
    another_attempt = await activities.charge(charge_input(order_id, "pm_card_visa", attempt=2))

    assert first == retried == another_attempt
    assert await intents_of_order(gateway, order_id) == [first.stripe_id]
    [event] = await charges_in_stream(runtime, settings, order_id)
    assert (event.charge_id, event.amount_cents, event.stripe_id) == (
        first.payment_id,
        2050,
        first.stripe_id,
    )


async def test_a_declined_card_fails_for_good_and_a_new_attempt_can_pay(
    activities: PaymentsActivities,
    gateway: StripeGateway,
    runtime: ServiceRuntime,
    settings: Settings,
) -> None:
    order_id = uuid4()
    declined = charge_input(order_id, await payment_method(gateway, DECLINED))

    for _ in range(2):  # the attempt retried: its outcome stands, Stripe is not asked again
        with pytest.raises(ApplicationError) as error:
            await activities.charge(declined)
        assert error.value.type == FailureType.CARD_DECLINED
        assert error.value.non_retryable
        assert error.value.message == "Your card was declined."
    assert len(await intents_of_order(gateway, order_id)) == 1

    paid = await activities.charge(charge_input(order_id, "pm_card_visa", attempt=2))

    assert len(await intents_of_order(gateway, order_id)) == 2
    assert [e.stripe_id for e in await charges_in_stream(runtime, settings, order_id)] == [
        paid.stripe_id
    ]


async def test_a_saga_that_waits_for_no_authentication_hears_a_decline(
    activities: PaymentsActivities, gateway: StripeGateway
) -> None:
    order_id = uuid4()
    card = await payment_method(gateway, NEEDS_3DS)
    with pytest.raises(ApplicationError) as error:
        await activities.charge(charge_input(order_id, card, accepts_authentication=False))
    assert error.value.type == FailureType.CARD_DECLINED
    assert error.value.message == "Card requires authentication"
    [intent_id] = await intents_of_order(gateway, order_id)
    assert (await gateway.intent(intent_id)).status == "canceled"


async def waiting_for_the_buyer(
    activities: PaymentsActivities, gateway: StripeGateway, order_id: UUID
) -> ChargeResult:
    waiting = await activities.charge(
        charge_input(order_id, await payment_method(gateway, NEEDS_3DS))
    )
    assert waiting.outcome is ChargeOutcome.REQUIRES_ACTION
    assert waiting.client_secret is not None
    return waiting


async def test_a_card_needing_authentication_waits_for_the_buyer_then_pays_once(
    activities: PaymentsActivities,
    gateway: StripeGateway,
    runtime: ServiceRuntime,
    settings: Settings,
) -> None:
    order_id = uuid4()
    waiting = await waiting_for_the_buyer(activities, gateway, order_id)
    # The charge retried: the same PaymentIntent, still waiting.
    again = await activities.charge(charge_input(order_id, "pm_card_visa"))
    assert (again.outcome, again.stripe_id) == (ChargeOutcome.REQUIRES_ACTION, waiting.stripe_id)
    step = AuthenticationInput(order_id=order_id, attempt=1)
    still = await activities.settle_authentication(step)
    assert still.outcome is ChargeOutcome.REQUIRES_ACTION

    assert waiting.client_secret is not None
    await authenticate(gateway, waiting.stripe_id, waiting.client_secret)
    paid = await activities.settle_authentication(step)
    twice = await activities.settle_authentication(step)

    assert (paid.outcome, paid.stripe_id) == (ChargeOutcome.SUCCEEDED, waiting.stripe_id)
    assert twice == paid
    assert await intents_of_order(gateway, order_id) == [waiting.stripe_id]
    events = await charges_in_stream(runtime, settings, order_id)
    assert [event.stripe_id for event in events] == [waiting.stripe_id]


async def test_a_failed_authentication_is_declined_and_another_card_pays(
    activities: PaymentsActivities, gateway: StripeGateway
) -> None:
    order_id = uuid4()
    waiting = await waiting_for_the_buyer(activities, gateway, order_id)
    assert waiting.client_secret is not None
    await authenticate(gateway, waiting.stripe_id, waiting.client_secret, success=False)

    declined = await activities.settle_authentication(
        AuthenticationInput(order_id=order_id, attempt=1)
    )
    assert declined.outcome is ChargeOutcome.DECLINED
    assert declined.message == "The provided PaymentMethod has failed authentication."
    paid = await activities.charge(charge_input(order_id, "pm_card_visa", attempt=2))
    assert paid.outcome is ChargeOutcome.SUCCEEDED


async def test_giving_up_cancels_an_unfinished_authentication(
    activities: PaymentsActivities, gateway: StripeGateway
) -> None:
    order_id = uuid4()
    waiting = await waiting_for_the_buyer(activities, gateway, order_id)

    gave_up = await activities.settle_authentication(
        AuthenticationInput(order_id=order_id, attempt=1, give_up=True)
    )

    assert gave_up.outcome is ChargeOutcome.DECLINED
    assert (await gateway.intent(waiting.stripe_id)).status == "canceled"


async def test_another_card_cancels_the_authentication_under_way_first(
    activities: PaymentsActivities, gateway: StripeGateway
) -> None:
    order_id = uuid4()
    waiting = await waiting_for_the_buyer(activities, gateway, order_id)

    paid = await activities.charge(charge_input(order_id, "pm_card_visa", attempt=2))

    assert paid.outcome is ChargeOutcome.SUCCEEDED
    assert paid.stripe_id != waiting.stripe_id
    assert (await gateway.intent(waiting.stripe_id)).status == "canceled"


async def test_another_card_after_the_first_authenticated_is_not_charged(
    activities: PaymentsActivities, gateway: StripeGateway
) -> None:
    order_id = uuid4()
    waiting = await waiting_for_the_buyer(activities, gateway, order_id)
    assert waiting.client_secret is not None
    await authenticate(gateway, waiting.stripe_id, waiting.client_secret)

    paid = await activities.charge(charge_input(order_id, "pm_card_visa", attempt=2))

    assert paid.stripe_id == waiting.stripe_id
    assert await intents_of_order(gateway, order_id) == [waiting.stripe_id]


async def test_a_refund_settles_an_authentication_that_succeeded_and_returns_it(
    activities: PaymentsActivities, gateway: StripeGateway
) -> None:
    order_id = uuid4()
    waiting = await waiting_for_the_buyer(activities, gateway, order_id)
    assert waiting.client_secret is not None
    await authenticate(gateway, waiting.stripe_id, waiting.client_secret)

    refunded = await activities.refund(RefundInput(order_id=order_id))

    assert refunded.refunded
    refunds = await gateway.client.v1.refunds.list_async({"payment_intent": waiting.stripe_id})
    assert [refund.amount for refund in refunds.data] == [2050]


async def test_a_refund_cancels_an_unfinished_authentication(
    activities: PaymentsActivities, gateway: StripeGateway
) -> None:
    order_id = uuid4()
    waiting = await waiting_for_the_buyer(activities, gateway, order_id)

    refunded = await activities.refund(RefundInput(order_id=order_id))

    assert not refunded.refunded
    assert (await gateway.intent(waiting.stripe_id)).status == "canceled"


async def claim_and_crash(runtime: ServiceRuntime, charge: ChargeInput, at: datetime) -> None:
    """An attempt recorded as sent to Stripe whose worker died before the answer."""
    async with runtime.unit_of_work() as uow:
        assert isinstance(await operations.claim(uow, charge, at), operations.Attempt)
        await uow.commit()


async def test_an_attempt_in_flight_holds_off_another_until_it_settles(
    activities: PaymentsActivities, gateway: StripeGateway, runtime: ServiceRuntime
) -> None:
    order_id = uuid4()
    in_flight = charge_input(order_id, await payment_method(gateway, VISA))
    await claim_and_crash(runtime, in_flight, datetime.now(UTC))

    with pytest.raises(ApplicationError) as error:
        await activities.charge(charge_input(order_id, "pm_card_visa", attempt=2))
    assert error.value.type == PAYMENT_IN_PROGRESS
    assert not error.value.non_retryable  # Temporal retries it after a backoff

    replayed = await activities.charge(in_flight)  # the crashed attempt's own retry
    assert await activities.charge(charge_input(order_id, "pm_card_visa", attempt=2)) == replayed
    assert await intents_of_order(gateway, order_id) == [replayed.stripe_id]


async def test_an_abandoned_attempt_is_replayed_before_a_new_one(
    activities: PaymentsActivities, gateway: StripeGateway, runtime: ServiceRuntime
) -> None:
    order_id = uuid4()
    visa = await payment_method(gateway, VISA)
    long_ago = datetime.now(UTC) - operations.IN_FLIGHT_LEASE - timedelta(seconds=1)
    await claim_and_crash(runtime, charge_input(order_id, visa), long_ago)

    paid = await activities.charge(charge_input(order_id, "pm_card_visa", attempt=2))

    # The abandoned attempt went through, so the new one charged nothing more.
    assert await intents_of_order(gateway, order_id) == [paid.stripe_id]
    intent = await gateway.client.v1.payment_intents.retrieve_async(paid.stripe_id)
    assert intent.payment_method == visa


async def refunds_of(gateway: StripeGateway, intent_id: str) -> list[str]:
    refunds = await gateway.client.v1.refunds.list_async({"payment_intent": intent_id})
    return [refund.id for refund in refunds.data]


async def test_a_refund_undoes_the_charge_once(
    activities: PaymentsActivities, gateway: StripeGateway, runtime: ServiceRuntime
) -> None:
    order_id = uuid4()
    paid = await activities.charge(charge_input(order_id, "pm_card_visa"))

    await activities.refund(RefundInput(order_id=order_id))
    await activities.refund(RefundInput(order_id=order_id))

    payment = await payment_of(runtime, order_id)
    assert payment.status == PaymentStatus.REFUNDED
    assert await refunds_of(gateway, paid.stripe_id) == [payment.refund_id]
    # A refunded order is over: a late attempt is refused, and charges nothing.
    with pytest.raises(ApplicationError) as error:
        await activities.charge(charge_input(order_id, "pm_card_visa", attempt=2))
    assert error.value.type == FailureType.NOT_AWAITING_PAYMENT
    assert error.value.non_retryable
    assert await intents_of_order(gateway, order_id) == [paid.stripe_id]


async def test_a_refund_of_an_order_never_charged_does_nothing(
    activities: PaymentsActivities, gateway: StripeGateway, runtime: ServiceRuntime
) -> None:
    await activities.refund(RefundInput(order_id=uuid4()))

    order_id = uuid4()
    with pytest.raises(ApplicationError):
        await activities.charge(charge_input(order_id, await payment_method(gateway, DECLINED)))
    await activities.refund(RefundInput(order_id=order_id))
    assert (await payment_of(runtime, order_id)).status == PaymentStatus.DECLINED


async def test_a_refund_resolves_an_abandoned_charge_first(
    activities: PaymentsActivities, gateway: StripeGateway, runtime: ServiceRuntime
) -> None:
    order_id = uuid4()
    long_ago = datetime.now(UTC) - operations.IN_FLIGHT_LEASE - timedelta(seconds=1)
    await claim_and_crash(runtime, charge_input(order_id, "pm_card_visa"), long_ago)

    await activities.refund(RefundInput(order_id=order_id))

    payment = await payment_of(runtime, order_id)
    assert payment.status == PaymentStatus.REFUNDED
    assert payment.stripe_id is not None
    assert await refunds_of(gateway, payment.stripe_id) == [payment.refund_id]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_stripe_activities_heartbeat_before_each_stripe_call(
    activities: PaymentsActivities, gateway: StripeGateway
) -> None:
    """So a worker that dies mid-call is noticed within the heartbeat timeout."""
    beats: list[object] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details)
    order_id = uuid4()
    paid = await env.run(
        activities.charge, charge_input(order_id, await payment_method(gateway, VISA))
    )
    assert paid.outcome is ChargeOutcome.SUCCEEDED
    charged = len(beats)
    assert charged >= 1
    refunded = await env.run(activities.refund, RefundInput(order_id=order_id))
    assert refunded.refunded
    assert len(beats) > charged
