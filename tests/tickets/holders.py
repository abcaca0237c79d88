"""What the entry-code, gate and resale tests share: a ticket sold as the saga sells it
(reserve, then mark sold naming the buyer), and tokens of each role."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from services.common.identity.tokens import Role, TokenSigner, private_key_pem
from services.tickets import operations
from tests.tickets.support import TicketsApi


def token_of(
    api: TicketsApi, user_id: UUID | None = None, role: Role = Role.USER
) -> dict[str, str]:
    signer = TokenSigner(private_key_pem(api.settings), timedelta(hours=1))
    token = signer.sign(user_id or uuid4(), "staff@test.dev", role=role)
    return {"Authorization": f"Bearer {token}"}


def gate(api: TicketsApi) -> dict[str, str]:
    return token_of(api, role=Role.GATE)


async def sell(api: TicketsApi, ticket_id: UUID, buyer_id: UUID) -> UUID:
    """The saga's two steps on the tickets side, each its own unit of work."""
    order_id = uuid4()
    async with api.runtime.unit_of_work() as uow:
        outcome = await operations.reserve(uow, ticket_id, order_id)
        assert outcome is operations.Outcome.CHANGED
        await uow.commit()
    async with api.runtime.unit_of_work() as uow:
        outcome = await operations.mark_sold(uow, ticket_id, order_id, buyer_id=buyer_id)
        assert outcome is operations.Outcome.CHANGED
        await uow.commit()
    return order_id


async def code_of(api: TicketsApi, ticket_id: UUID | str, holder_id: UUID) -> dict[str, Any]:
    response = await api.client.get(
        f"/api/tickets/{ticket_id}/entry-code", headers=api.auth(holder_id)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def check(api: TicketsApi, code: str, path: str = "check") -> Any:
    return await api.client.post(f"/api/tickets/{path}", json={"code": code}, headers=gate(api))
