"""What each service's Temporal worker runs: its task queue, its activities (bound to the
service's runtime) and, for orders, the purchase saga. The worker is where the saga, the
activities and the services meet; no service knows of its worker side."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from activities.orders import OrdersActivities
from activities.tickets import TicketsActivities
from services.common.runtime import ServiceRuntime
from services.common.settings import ServiceName
from workflows.contracts import TaskQueue
from workflows.purchase import PurchaseWorkflow


class Activities(Protocol):
    """A service's activities, bound to its runtime."""

    def functions(self) -> Sequence[Callable[..., object]]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class WorkerSide:
    """What the service's Temporal worker runs on its task queue."""

    task_queue: TaskQueue
    # Called inside the worker's runtime of the service.
    activities: Callable[[ServiceRuntime], Activities]
    workflows: Sequence[type] = ()


def _payments_activities(runtime: ServiceRuntime) -> Activities:
    # Imported here: only a process that runs the payments worker loads Stripe's SDK.
    from activities.payments import PaymentsActivities

    return PaymentsActivities(runtime)


WORKER_SIDES: dict[ServiceName, WorkerSide] = {
    "tickets": WorkerSide(task_queue=TaskQueue.TICKETS, activities=TicketsActivities),
    "orders": WorkerSide(
        task_queue=TaskQueue.ORDERS, activities=OrdersActivities, workflows=[PurchaseWorkflow]
    ),
    "payments": WorkerSide(task_queue=TaskQueue.PAYMENTS, activities=_payments_activities),
}


def worker_services() -> tuple[ServiceName, ...]:
    """The services with a Temporal worker."""
    return tuple(WORKER_SIDES)
