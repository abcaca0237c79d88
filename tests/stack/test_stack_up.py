"""`ticketing up` starts every process, keeps its data across restarts, and leaves no orphan."""

from __future__ import annotations

import asyncio
import json
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import nats
import psutil
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from devstack.run import WORKER_COMMANDS
from services.common.payload_codec import payload_codec
from services.common.settings import Settings
from tests.support.polling import eventually
from tests.support.stack import RunningStack
from workflows.contracts import SEARCH_ATTRIBUTES


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[RunningStack]:
    running = RunningStack(tmp_path / "var", app="tests.stack.hello_app:app")
    yield running
    running.kill()


def _gone(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


async def _leave_data(stack: RunningStack) -> str:
    connection = await nats.connect(stack.url("NATS_PORT", "nats"))
    await connection.jetstream().add_stream(name="KEPT", subjects=["kept.>"])
    await connection.close()
    client = await Client.connect(f"127.0.0.1:{stack.ports['TEMPORAL_PORT']}")
    await client.start_workflow("Kept", id="kept", task_queue="nobody-polls-this")
    async with httpx.AsyncClient(base_url=stack.url("LOCALSTRIPE_PORT")) as stripe:
        created = await stripe.post("/v1/customers", auth=("sk_test_x", ""))
    customer_id: str = created.json()["id"]
    return customer_id


async def _find_data(stack: RunningStack, customer_id: str) -> None:
    connection = await nats.connect(stack.url("NATS_PORT", "nats"))
    await connection.jetstream().stream_info("KEPT")
    await connection.close()
    client = await Client.connect(f"127.0.0.1:{stack.ports['TEMPORAL_PORT']}")
    await client.get_workflow_handle("kept").describe()
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default")
    )
    assert {key.name for key in SEARCH_ATTRIBUTES} <= set(listed.custom_attributes)
    async with httpx.AsyncClient(base_url=stack.url("LOCALSTRIPE_PORT")) as stripe:
        found = await stripe.get(f"/v1/customers/{customer_id}", auth=("sk_test_x", ""))
    assert found.status_code == 200


async def _codec_server_serves_the_ui(stack: RunningStack) -> None:
    """The UI is told where the codec server is, which decrypts the stack's payloads for
    the UI's origin, under the namespace's path too; and the worker serves its metrics
    where `ticketing up` says."""
    ui = stack.url("TEMPORAL_UI_PORT")
    # A payload as the stack's workers write it: sealed with the key under its data dir.
    plain = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps("kept").encode())
    keys = Settings(_env_file=None, data_dir=Path(stack.env["DATA_DIR"]))
    [sealed] = await payload_codec(keys).encode([plain])
    async with httpx.AsyncClient() as client:
        ui_settings = (await client.get(f"{ui}/api/v1/settings")).json()
        assert ui_settings["Codec"]["Endpoint"] == stack.url("CODEC_SERVER_PORT")
        for path in ("/decode", "/default/decode"):
            decoded = await client.post(
                stack.url("CODEC_SERVER_PORT") + path,
                content=json_format.MessageToJson(Payloads(payloads=[sealed])),
                headers={"Origin": ui, "Content-Type": "application/json"},
            )
            assert decoded.status_code == 200, decoded.text
            assert decoded.headers["access-control-allow-origin"] == ui
            assert list(json_format.Parse(decoded.text, Payloads()).payloads) == [plain]
        # The worker serves its health port once it is connected.
        metrics = await eventually(
            lambda: client.get(stack.url("WORKER_HEALTH_PORT") + "/metrics"),
            lambda answer: answer.status_code == 200,
            ignoring=(httpx.TransportError,),
            what="the worker's /metrics",
        )
        assert "# TYPE" in metrics.text


def _send_mail(port: int) -> None:
    message = EmailMessage()
    message["From"] = "tickets@localhost"
    message["To"] = "buyer@example.com"
    message["Subject"] = "Caught"
    message.set_content("kept as a file")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message)


async def _mail_catcher_keeps_mail(stack: RunningStack) -> None:
    """An e-mail sent to the stack's mail port is a file under var/mail/new/, where
    `ticketing up` says to read it."""
    await asyncio.to_thread(_send_mail, stack.ports["MAIL_CATCHER_PORT"])
    [kept] = (Path(stack.env["DATA_DIR"]) / "mail" / "new").iterdir()
    assert "Subject: Caught" in kept.read_text()
    assert f"{Path(stack.env['DATA_DIR']) / 'mail' / 'new'}" in stack.output


async def test_up_serves_keeps_data_and_stops_every_child(stack: RunningStack) -> None:
    stack.start()
    customer_id = await _leave_data(stack)
    await _codec_server_serves_the_ui(stack)
    await _mail_catcher_keeps_mail(stack)
    code, children = stack.stop()
    assert code == 0
    # nats, temporal, localstripe, the API (which serves the codec endpoint too); the
    # mail catcher runs inside `ticketing up` itself.
    assert len(children) == 4 + len(WORKER_COMMANDS)
    assert all(_gone(pid) for pid in children)

    stack.start()
    await _find_data(stack, customer_id)
    code, children = stack.stop()
    assert code == 0
    assert all(_gone(pid) for pid in children)
