"""A worker process's probes: /healthz while it runs, /readyz once its workers poll and
its runtimes reach their database and NATS (real NATS, Temporal and SQLite)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from devstack.nats import NatsServer
from services.common.settings import ServiceName, Settings
from tests.support.apps import make_settings
from tests.support.polling import eventually
from tests.support.ports import free_port
from worker.health import WorkerHealth, serving_health
from worker.main import running_workers


@pytest.fixture
def worker_settings(tmp_path: Path, nats_url: str, events_stream: str) -> Settings:
    return make_settings(
        data_dir=tmp_path,
        nats_url=nats_url,
        database_url=f"sqlite+aiosqlite:///{tmp_path / '{service}.db'}",
        events_stream=events_stream,
    )


def _messages(response: httpx.Response) -> list[str]:
    return [error["message"] for error in response.json()["errors"]]


async def test_ready_once_the_workers_poll_and_not_while_nats_is_down(
    worker_settings: Settings, temporal_env: WorkflowEnvironment, nats_server: NatsServer
) -> None:
    services: tuple[ServiceName, ...] = ("tickets", "payments")
    health = WorkerHealth(services)
    port = free_port()
    async with (
        serving_health(health, "127.0.0.1", port),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        assert (await client.get("/healthz")).status_code == 200
        before = await client.get("/readyz")
        assert before.status_code == 503
        assert _messages(before) == [
            "tickets worker not polling",
            "payments worker not polling",
        ]

        async with running_workers(services, worker_settings, temporal_env.client, health):
            ready = await eventually(
                lambda: client.get("/readyz"),
                lambda response: response.status_code == 200,
                what="/readyz 200",
            )
            assert ready.json() == {"status": "ready"}

            nats_server.stop()
            try:
                down = await eventually(
                    lambda: client.get("/readyz"),
                    lambda response: response.status_code == 503,
                    what="/readyz 503 without NATS",
                )
                assert "tickets not connected to NATS" in _messages(down)
                assert (await client.get("/healthz")).status_code == 200
            finally:
                nats_server.start()
            await eventually(
                lambda: client.get("/readyz"),
                lambda response: response.status_code == 200,
                what="/readyz 200 again",
            )

        # Shut down: alive until the process exits, no longer ready.
        after = await client.get("/readyz")
        assert after.status_code == 503
        assert "tickets worker not polling" in _messages(after)
        assert (await client.get("/healthz")).status_code == 200


async def test_port_zero_serves_nothing() -> None:
    async with serving_health(WorkerHealth(("tickets",)), "127.0.0.1", 0) as port:
        assert port is None


async def test_a_taken_port_stops_the_worker_with_a_reason() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit, match="WORKER_HEALTH_PORT"):
            async with serving_health(WorkerHealth(("tickets",)), "127.0.0.1", port):
                pass


async def test_the_worker_command_serves_its_probes_and_stops_on_sigterm(
    worker_settings: Settings, temporal_env: WorkflowEnvironment
) -> None:
    """``ticketing worker tickets`` as the chart runs it: the probes on its health port."""
    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATA_DIR": str(worker_settings.data_dir),
        "DATABASE_URL": str(worker_settings.database_url),
        "NATS_URL": worker_settings.nats_url,
        "EVENTS_STREAM": worker_settings.events_stream,
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "WORKER_HEALTH_PORT": str(port),
    }
    log = worker_settings.data_dir / "worker.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "services.cli", "worker", "tickets"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def readyz() -> httpx.Response:
                if process.returncode is not None:
                    pytest.fail(f"the worker exited:\n{log.read_text()[-3000:]}")
                return await client.get("/readyz")

            ready = await eventually(
                readyz,
                lambda response: response.status_code == 200,
                ignoring=(httpx.TransportError,),
                what="the worker process ready",
            )
            assert ready.json() == {"status": "ready"}
            assert (await client.get("/healthz")).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0, log.read_text()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
