"""Temporal servers: the dev server with its Web UI, and the test environments."""

from __future__ import annotations

from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from services.stack.binaries import find_binary
from services.stack.process import ManagedProcess

# The saga's state, filterable in the Web UI.
SEARCH_ATTRIBUTES: tuple[SearchAttributeKey[str], ...] = (
    SearchAttributeKey.for_keyword("OrderStatus"),
    SearchAttributeKey.for_keyword("TicketId"),
    SearchAttributeKey.for_keyword("BuyerId"),
)


class TemporalDevServer:
    def __init__(
        self,
        *,
        port: int,
        ui_port: int,
        db_path: Path,
        log_path: Path | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.port = port
        self.ui_port = ui_port
        self.db_path = db_path
        self.host = host
        command = [
            find_binary("temporal"),
            "server",
            "start-dev",
            "--ip",
            host,
            "--port",
            str(port),
            "--ui-port",
            str(ui_port),
            "--db-filename",
            str(db_path),
            "--log-level",
            "warn",
        ]
        for key in SEARCH_ATTRIBUTES:
            command += ["--search-attribute", f"{key.name}=Keyword"]
        self.process = ManagedProcess(
            name="temporal",
            command=command,
            # The UI comes up after the frontend, so it answering means both are ready.
            ready_url=f"http://{host}:{ui_port}/",
            log_path=log_path,
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.ui_port}"

    def start(self) -> None:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self.process.start()

    def stop(self) -> None:
        self.process.stop()


async def register_search_attributes(client: Client, namespace: str = "default") -> None:
    """For servers not started with ``--search-attribute``; safe to call again."""
    request = AddSearchAttributesRequest(
        namespace=namespace,
        search_attributes={
            key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for key in SEARCH_ATTRIBUTES
        },
    )
    try:
        await client.operator_service.add_search_attributes(request)
    except RPCError as error:
        if error.status is not RPCStatusCode.ALREADY_EXISTS:
            raise


async def start_time_skipping_env() -> WorkflowEnvironment:
    """The Java test server: timers fire as soon as every workflow is blocked on one."""
    return await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_binary("temporal-test-server"),
    )


async def start_dev_env(db_path: Path | None = None) -> WorkflowEnvironment:
    """A real dev server, for what the test server lacks (search attributes, visibility)."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"),
        dev_server_database_filename=str(db_path) if db_path else None,
        search_attributes=SEARCH_ATTRIBUTES,
    )
