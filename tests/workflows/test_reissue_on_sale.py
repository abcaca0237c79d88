"""Sold means re-issued: the saga's completing step on the tickets side names the buyer,
who becomes the ticket's holder (the tickets service's mark-sold re-issues the code)."""

from __future__ import annotations

from uuid import uuid4

from tests.workflows.support import Purchases
from tests.workflows.test_purchase import request
from workflows.purchase import PurchaseWorkflow


async def test_the_sale_names_the_buyer_as_the_new_holder(purchases: Purchases) -> None:
    buyer = uuid4()
    handle = await purchases.start(buyer_id=buyer)
    await handle.execute_update(PurchaseWorkflow.wait_reserved)
    order_id = purchases.shop.ticket_holder
    await handle.execute_update(PurchaseWorkflow.pay, request(order_id))

    final = await handle.result()

    assert final.status == "complete"
    assert purchases.shop.ticket_status == "sold"
    assert purchases.shop.sold_to == buyer
