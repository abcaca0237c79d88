"""The `ticketing` command's maintenance verbs, run as a user runs them."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from google.protobuf.duration_pb2 import Duration
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).resolve().parents[1]


def ticketing(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_creates_a_services_tables(tmp_path: Path) -> None:
    database = tmp_path / "tickets.db"
    done = ticketing("migrate", "tickets", TICKETS_DATABASE_URL=f"sqlite+aiosqlite:///{database}")
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"tickets", "outbox", "banned_users", "alembic_version"} <= tables


def test_migrate_refuses_an_unknown_service() -> None:
    done = ticketing("migrate", "nonsense")
    assert done.returncode != 0
    assert "unknown service" in done.stderr


async def test_search_attributes_are_registered_once_and_again(
    temporal_dev_env: WorkflowEnvironment,
) -> None:
    # A fresh namespace has none: the dev server fixture registers them on default only.
    namespace = "cli-test"
    client = temporal_dev_env.client

    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    address = client.service_client.config.target_host
    for _ in range(2):
        done = ticketing(
            "search-attributes", TEMPORAL_ADDRESS=address, TEMPORAL_NAMESPACE=namespace
        )
        assert done.returncode == 0, done.stderr
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    assert {"OrderStatus", "TicketId", "BuyerId"} <= set(listed.custom_attributes)
