"""Running the purchase saga against the test doubles in tests/workflows/shop.py."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID, uuid4

from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from tests.workflows.shop import Shop
from workflows.models import PurchaseInput, PurchaseState, TaskQueue, workflow_id
from workflows.purchase import PurchaseWorkflow
from workflows.search_attributes import initial_search_attributes

DEFAULT_WINDOW_SECONDS = 15 * 60


def pydantic_client(client: Client) -> Client:
    config = client.config()
    config["data_converter"] = pydantic_data_converter
    return Client(**config)


@dataclass
class Saga:
    client: Client
    task_queue: str
    shop: Shop

    async def start(
        self,
        *,
        window_seconds: int = DEFAULT_WINDOW_SECONDS,
        order_id: UUID | None = None,
        ticket_id: UUID | None = None,
        with_search_attributes: bool = True,
    ) -> WorkflowHandle[PurchaseWorkflow, PurchaseState]:
        purchase = PurchaseInput(
            order_id=order_id or uuid4(),
            ticket_id=ticket_id or uuid4(),
            buyer_id=uuid4(),
            price_cents=2550,
            payment_window_seconds=window_seconds,
        )
        return await self.client.start_workflow(
            PurchaseWorkflow.run,
            purchase,
            id=workflow_id(purchase.order_id),
            task_queue=self.task_queue,
            search_attributes=initial_search_attributes(
                status="created", ticket_id=str(purchase.ticket_id), buyer_id=str(purchase.buyer_id)
            )
            if with_search_attributes
            else None,
        )


@contextlib.asynccontextmanager
async def running_saga(client: Client, shop: Shop) -> AsyncIterator[Saga]:
    """The saga's worker on a queue of its own, and the shop's activities on the
    services' queues, for the duration of one test."""
    client = pydantic_client(client)
    task_queue = f"purchase-{uuid4()}"
    workers = [Worker(client, task_queue=task_queue, workflows=[PurchaseWorkflow])] + [
        Worker(client, task_queue=queue, activities=shop.activities()) for queue in TaskQueue
    ]
    async with contextlib.AsyncExitStack() as stack:
        for worker in workers:
            await stack.enter_async_context(worker)
        yield Saga(client, task_queue, shop)
