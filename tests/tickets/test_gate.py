"""The gate: checking a code (valid, void, used, unknown) and checking a ticket in
exactly once, also when two gates scan the same code at the same instant."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import pytest

from services.common.identity.tokens import Role
from services.tickets import operations
from services.tickets.entry_codes import EntryCode, EntryCodeSigner
from tests.tickets.holders import check, code_of, gate, sell, token_of
from tests.tickets.support import TicketsApi, error


@pytest.mark.database_matrix
async def test_check_in_once_then_used_saying_when(api: TicketsApi) -> None:
    seller = uuid4()
    ticket_id = (await api.create(seller, title="Opera"))["id"]
    code = (await code_of(api, ticket_id, seller))["code"]

    first = await check(api, code, "check-in")
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["ticketId"]) == ("valid", ticket_id)

    second = await check(api, code, "check-in")
    assert second.status_code == 409
    [message] = [entry["message"] for entry in second.json()["errors"]]
    assert message.startswith("This ticket was already checked in at ")
    looked = (await check(api, code)).json()
    assert looked["status"] == "used" and looked["usedAt"] is not None


async def test_a_void_or_forged_code_lets_nobody_in(api: TicketsApi) -> None:
    seller, buyer = uuid4(), uuid4()
    ticket_id = UUID((await api.create(seller))["id"])
    seller_code = (await code_of(api, ticket_id, seller))["code"]
    await sell(api, ticket_id, buyer)

    void = await check(api, seller_code, "check-in")
    assert void.status_code == 409
    assert void.json()["errors"][0]["message"].startswith("This code was replaced on ")

    forged = EntryCodeSigner([("dev", b"x" * 32)]).sign(EntryCode(ticket_id, buyer, 2))
    for text in (forged, "not a code"):
        assert (await check(api, text)).json()["status"] == "unknown"
        refused = await check(api, text, "check-in")
        assert refused.status_code == 400
        assert refused.json() == error("Unknown entry code", "code")
    # A genuine code of a generation never issued is unknown too.
    signer = api.app.state.entry_code_signer
    ahead = signer.sign(EntryCode(ticket_id, buyer, 7))
    assert (await check(api, ahead)).json()["status"] == "unknown"


async def test_only_gate_staff_check_codes(api: TicketsApi) -> None:
    seller = uuid4()
    ticket_id = (await api.create(seller))["id"]
    code = (await code_of(api, ticket_id, seller))["code"]
    for path in ("check", "check-in"):
        for headers in (api.auth(seller), token_of(api, role=Role.ADMIN)):
            refused = await api.client.post(
                f"/api/tickets/{path}", json={"code": code}, headers=headers
            )
            assert refused.status_code == 403
            assert refused.json() == error("Only gate staff can check entry codes")
        anonymous = await api.client.post(f"/api/tickets/{path}", json={"code": code})
        assert anonymous.status_code == 401
    # Nothing was checked in by the refused attempts.
    assert (await check(api, code)).json()["status"] == "valid"


@pytest.mark.database_matrix
async def test_two_gates_at_the_same_instant_one_wins(api: TicketsApi) -> None:
    seller = uuid4()
    ticket_id = (await api.create(seller))["id"]
    code = (await code_of(api, ticket_id, seller))["code"]
    gates = [gate(api) for _ in range(4)]

    scans = await asyncio.gather(
        *(
            api.client.post("/api/tickets/check-in", json={"code": code}, headers=headers)
            for headers in gates
        )
    )

    assert sorted(scan.status_code for scan in scans) == [200, 409, 409, 409]
    looked = (await check(api, code)).json()
    assert looked["status"] == "used"


async def test_a_listed_ticket_its_seller_used_cannot_be_bought(api: TicketsApi) -> None:
    seller = uuid4()
    ticket_id = UUID((await api.create(seller))["id"])
    code = (await code_of(api, ticket_id, seller))["code"]
    assert (await check(api, code, "check-in")).status_code == 200
    async with api.runtime.unit_of_work() as uow:
        outcome = await operations.reserve(uow, ticket_id, uuid4())
    assert outcome is operations.Outcome.REFUSED
