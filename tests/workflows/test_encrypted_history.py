"""A purchase run with the payload codec leaves a history on the Temporal server that
holds no order id, buyer id or PaymentMethod id in clear, nor a failure's message; the
codec reads every one of them back. Its search attributes stay in clear, searchable."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from uuid import uuid4

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, SearchAttributes
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from services.common.payload_codec import ENCODING, EncryptionCodec
from tests.support.payload_keys import KEY_A
from tests.workflows.support import DECLINE_MESSAGE, DECLINED_TOKEN, Shop, running_purchases
from workflows.contracts import BUYER_ID
from workflows.models import PaymentRequest
from workflows.purchase import PurchaseWorkflow

GOOD_TOKEN = "pm_card_visa"


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every payload a history event holds, however deep, but its search attributes
    (indexed in clear, by design)."""
    if isinstance(message, Payload):
        yield message
        return
    if isinstance(message, SearchAttributes):
        return
    for field, value in message.ListFields():
        if field.type != field.TYPE_MESSAGE:
            continue
        kind = field.message_type
        assert kind is not None
        if kind.GetOptions().map_entry:
            if kind.fields_by_name["value"].type != field.TYPE_MESSAGE:
                continue
            values = list(value.values())
        elif isinstance(value, Message):
            values = [value]
        else:
            values = list(value)
        for item in values:
            yield from payloads_in(item)


def ours_in(event: HistoryEvent) -> Iterator[Payload]:
    """An event's payloads that the workers wrote. A marker's bookkeeping (a patch's
    name; a local activity's sequence number, attempt and times) is the SDK core's own,
    written past the codec; a local activity's result or failure is ours."""
    if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
        yield from payloads_in(event)
        return
    marker = event.marker_recorded_event_attributes
    if "result" in marker.details:
        yield from payloads_in(marker.details["result"])
    if marker.HasField("failure"):
        yield from payloads_in(marker.failure)


async def test_a_purchase_history_holds_no_id_in_clear(temporal_env: WorkflowEnvironment) -> None:
    codec = EncryptionCodec([KEY_A])
    async with running_purchases(temporal_env.client, Shop(), codec=codec) as purchases:
        handle = await purchases.start()
        await handle.execute_update(PurchaseWorkflow.wait_reserved)
        order_id = str(purchases.shop.ticket_holder)
        buyer_id = (await handle.describe()).typed_search_attributes.get(BUYER_ID)
        assert buyer_id is not None

        def paying(token: str) -> PaymentRequest:
            return PaymentRequest.model_validate(
                {"order_id": order_id, "buyer_id": uuid4(), "token": token}
            )

        # A declined card first: its failure is in the history too.
        with contextlib.suppress(WorkflowUpdateFailedError):
            await handle.execute_update(PurchaseWorkflow.pay, paying(DECLINED_TOKEN))
        await handle.execute_update(PurchaseWorkflow.pay, paying(GOOD_TOKEN))
        assert (await handle.result()).status == "complete"
        history = await handle.fetch_history()

    secrets = [order_id, buyer_id, GOOD_TOKEN, DECLINED_TOKEN, DECLINE_MESSAGE]
    payloads = [payload for event in history.events for payload in payloads_in(event)]
    assert payloads
    for payload in payloads:
        for secret in secrets:
            assert secret.encode() not in payload.SerializeToString(), secret
    ours = [payload for event in history.events for payload in ours_in(event)]
    assert ours
    for payload in ours:
        assert payload.metadata["encoding"] == ENCODING, payload
    failed = [
        event.activity_task_failed_event_attributes.failure
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
    ]
    assert failed and all(failure.message == "Encoded failure" for failure in failed)

    clear = b"".join(payload.data for payload in await codec.decode(ours))
    for secret in secrets:
        assert secret.encode() in clear, secret
    started = history.events[0].workflow_execution_started_event_attributes
    assert buyer_id.encode() in started.search_attributes.indexed_fields["BuyerId"].data
