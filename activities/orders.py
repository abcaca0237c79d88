"""The orders service's activities (task queue ``orders``): the order's status through
the saga. Each is one unit of work (the change and its event) and idempotent."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.common.runtime import ServiceRuntime
from services.orders import errors, operations
from workflows.contracts import FailureType
from workflows.steps import Activity, AwaitingPaymentInput, CancelOrderInput, OrderInput

ORDER_MISSING = "OrderMissing"
ORDER_CANCELLED = "OrderCancelled"


class OrdersActivities:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime

    def functions(self) -> Sequence[Callable[..., Any]]:
        return [self.mark_order_awaiting_payment, self.complete_order, self.cancel_order]

    async def aclose(self) -> None:
        pass

    @activity.defn(name=Activity.MARK_AWAITING_PAYMENT)
    async def mark_order_awaiting_payment(self, step: AwaitingPaymentInput) -> None:
        async with self.runtime.unit_of_work() as uow:
            try:
                await operations.mark_awaiting_payment(
                    uow, step.order_id, step.expires_at, step.price_cents
                )
            except errors.OrderMissing as missing:
                # The row is written before the saga starts: retrying cannot help.
                raise ApplicationError(
                    str(missing), type=ORDER_MISSING, non_retryable=True
                ) from None
            except errors.OrderAlreadyCancelled as cancelled:
                # Nobody can pay for it: the saga undoes the lock instead of holding it.
                raise ApplicationError(
                    str(cancelled), type=ORDER_CANCELLED, non_retryable=True
                ) from None
            await uow.commit()

    @activity.defn(name=Activity.COMPLETE_ORDER)
    async def complete_order(self, step: OrderInput) -> None:
        async with self.runtime.unit_of_work() as uow:
            try:
                await operations.complete(uow, step.order_id)
            except (errors.OrderMissing, errors.OrderNotPayable) as refused:
                raise ApplicationError(
                    str(refused), type=FailureType.ORDER_NOT_PAYABLE, non_retryable=True
                ) from None
            await uow.commit()

    @activity.defn(name=Activity.CANCEL_ORDER)
    async def cancel_order(self, step: CancelOrderInput) -> None:
        async with self.runtime.unit_of_work() as uow:
            try:
                await operations.cancel(uow, step.order_id, step.reason, refunded=step.refunded)
            except errors.OrderMissing:
                return  # nothing to cancel
            await uow.commit()
