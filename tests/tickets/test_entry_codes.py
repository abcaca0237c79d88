"""Entry codes: signed, checked, rotated; the holder's alone; re-issued when the ticket
sells, so that the seller's code is void from that moment."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select

from services.common.messaging.events import TicketStatus
from services.common.settings import Environment
from services.tickets import operations
from services.tickets.entry_codes import (
    EntryCode,
    EntryCodeSigner,
    MissingEntryCodeKeys,
    UnreadableCode,
    entry_code_keys,
)
from services.tickets.models import Ticket, TicketHolder
from tests.support.apps import make_settings
from tests.tickets.holders import check, code_of, sell
from tests.tickets.support import TicketsApi, error

CODE = EntryCode(uuid4(), uuid4(), 3)


def key(key_id: str) -> tuple[str, bytes]:
    return key_id, os.urandom(32)


def test_a_code_verifies_to_what_was_signed_and_fits_a_small_qr_code() -> None:
    signer = EntryCodeSigner([key("k1")])
    text = signer.sign(CODE)
    assert signer.verify(text) == CODE
    assert text.startswith("k1.")
    assert len(text) <= 80


# Not the last character: base64 without padding leaves a few unused bits there.
@pytest.mark.parametrize("position", [3, 10, 40, -2])
def test_an_altered_code_is_refused(position: int) -> None:
    signer = EntryCodeSigner([key("k1")])
    text = signer.sign(CODE)
    at = position % len(text)
    flipped = "A" if text[at] != "A" else "B"
    altered = text[:at] + flipped + text[at + 1 :]
    with pytest.raises(UnreadableCode):
        signer.verify(altered)


@pytest.mark.parametrize("text", ["", "k1", "k1.", "k1.!!!", "nope.AAAA", "k1." + "A" * 300])
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(UnreadableCode):
        EntryCodeSigner([key("k1")]).verify(text)


def test_a_code_signed_with_another_key_of_the_same_id_is_refused() -> None:
    text = EntryCodeSigner([key("k1")]).sign(CODE)
    with pytest.raises(UnreadableCode):
        EntryCodeSigner([key("k1")]).verify(text)


def test_a_rotated_key_signs_new_codes_and_still_checks_the_old_ones() -> None:
    old, new = key("2026-11"), key("2026-12")
    old_text = EntryCodeSigner([old]).sign(CODE)
    rotated = EntryCodeSigner([new, old])
    assert rotated.verify(old_text) == CODE
    assert rotated.sign(CODE).startswith("2026-12.")
    # Once the old key is dropped, its codes are unknown.
    with pytest.raises(UnreadableCode):
        EntryCodeSigner([new]).verify(old_text)


def test_keys_generated_in_development_required_in_production(tmp_path: Path) -> None:
    development = make_settings(data_dir=tmp_path, nats_url="nats://127.0.0.1:1")
    assert entry_code_keys(development) == entry_code_keys(development)
    production = development.model_copy(
        update={"environment": Environment.PRODUCTION, "jwt_public_key": "x"}
    )
    with pytest.raises(MissingEntryCodeKeys):
        entry_code_keys(production)
    secret = base64.b64encode(os.urandom(32)).decode()
    configured = production.model_copy(update={"entry_code_keys": [f"prod:{secret}"]})
    assert entry_code_keys(configured)[0][0] == "prod"


def test_a_key_id_with_a_dot_is_refused() -> None:
    with pytest.raises(ValueError, match="may not contain"):
        EntryCodeSigner([key("a.b")])


async def test_the_holder_sees_the_code_and_nobody_else(api: TicketsApi) -> None:
    seller = uuid4()
    ticket = await api.create(seller)
    body = await code_of(api, ticket["id"], seller)
    assert body["generation"] == 1

    stranger = await api.client.get(
        f"/api/tickets/{ticket['id']}/entry-code", headers=api.auth(uuid4())
    )
    assert stranger.status_code == 403
    assert stranger.json() == error("You do not hold this ticket")
    anonymous = await api.client.get(f"/api/tickets/{ticket['id']}/entry-code")
    assert anonymous.status_code == 401
    missing = await api.client.get(f"/api/tickets/{uuid4()}/entry-code", headers=api.auth())
    assert missing.status_code == 404


@pytest.mark.database_matrix
async def test_a_sale_re_issues_the_code_in_the_same_change(api: TicketsApi) -> None:
    seller, buyer = uuid4(), uuid4()
    ticket = await api.create(seller, price=30)
    ticket_id = UUID(ticket["id"])
    seller_code = (await code_of(api, ticket_id, seller))["code"]
    assert (await check(api, seller_code)).json()["status"] == "valid"

    order_id = await sell(api, ticket_id, buyer)

    async with api.runtime.database.read_sessions() as session:
        stored = await session.get(Ticket, ticket_id)
        assert stored is not None
        assert (stored.status, stored.holder_id, stored.generation) == (
            TicketStatus.SOLD,
            buyer,
            2,
        )
        links = (
            await session.scalars(
                select(TicketHolder)
                .where(TicketHolder.ticket_id == ticket_id)
                .order_by(TicketHolder.generation)
            )
        ).all()
    assert [(link.holder_id, link.price_cents, link.order_id) for link in links] == [
        (seller, None, None),
        (buyer, 3000, order_id),
    ]

    voided = (await check(api, seller_code)).json()
    assert voided["status"] == "void"
    assert voided["replacedAt"] is not None
    assert voided["message"].startswith("This code was replaced on ")
    seller_now = await api.client.get(
        f"/api/tickets/{ticket_id}/entry-code", headers=api.auth(seller)
    )
    assert seller_now.status_code == 403

    buyer_code = await code_of(api, ticket_id, buyer)
    assert buyer_code["generation"] == 2
    valid = (await check(api, buyer_code["code"])).json()
    assert (valid["status"], valid["ticketId"], valid["title"]) == (
        "valid",
        str(ticket_id),
        "Concert",
    )

    held = await api.client.get("/api/tickets/held", headers=api.auth(buyer))
    assert [item["id"] for item in held.json()] == [str(ticket_id)]


async def test_marking_sold_again_changes_nothing(api: TicketsApi) -> None:
    seller, buyer = uuid4(), uuid4()
    ticket_id = UUID((await api.create(seller))["id"])
    order_id = await sell(api, ticket_id, buyer)
    async with api.runtime.unit_of_work() as uow:
        again = await operations.mark_sold(uow, ticket_id, order_id, buyer_id=buyer)
        await uow.commit()
    assert again is operations.Outcome.ALREADY_DONE
    assert (await code_of(api, ticket_id, buyer))["generation"] == 2
