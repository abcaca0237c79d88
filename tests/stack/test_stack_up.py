"""`ticketing up` starts every process, keeps its data across restarts, and leaves no orphan."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import psutil
import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from services.stack.run import WORKER_COMMANDS
from services.stack.temporal import SEARCH_ATTRIBUTES
from tests.stack.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


class RunningStack:
    def __init__(self, data_dir: Path) -> None:
        self.ports = {
            name: free_port()
            for name in (
                "API_PORT",
                "NATS_PORT",
                "NATS_MONITOR_PORT",
                "TEMPORAL_PORT",
                "TEMPORAL_UI_PORT",
                "LOCALSTRIPE_PORT",
            )
        }
        self.env = {**os.environ, **{k: str(v) for k, v in self.ports.items()}}
        self.env["DATA_DIR"] = str(data_dir)
        self.env.pop("STRIPE_SECRET_KEY", None)
        self.process: subprocess.Popen[str] | None = None

    def url(self, name: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.ports[name]}"

    def start(self) -> None:
        command = [sys.executable, "-m", "services.cli", "up", "--app", "tests.stack.hello_app:app"]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "ticketing up exited while starting"
            try:
                if httpx.get(self.url("API_PORT"), timeout=1).text == "hello":
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("the API never answered")

    def stop(self) -> tuple[int, set[int]]:
        """Stops with SIGTERM; returns the exit code and the children that were running."""
        assert self.process is not None
        children = {child.pid for child in psutil.Process(self.process.pid).children()}
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self.process = None
        return code, children

    def kill(self) -> None:
        if self.process is not None:
            for child in psutil.Process(self.process.pid).children():
                child.kill()
            self.process.kill()
            self.process.wait()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[RunningStack]:
    running = RunningStack(tmp_path / "var")
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


async def test_up_serves_keeps_data_and_stops_every_child(stack: RunningStack) -> None:
    stack.start()
    customer_id = await _leave_data(stack)
    code, children = stack.stop()
    assert code == 0
    assert len(children) == 4 + len(WORKER_COMMANDS)  # nats, temporal, localstripe, api
    assert all(_gone(pid) for pid in children)

    stack.start()
    await _find_data(stack, customer_id)
    code, children = stack.stop()
    assert code == 0
    assert all(_gone(pid) for pid in children)
