"""`ticketing events merge KEEP DUPLICATE`: the duplicate's tickets move to the event kept,
each announced, and the duplicate is gone."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest
from sqlalchemy import select

from tests.test_cli import ticketing
from tests.tickets.support import TicketsApi, create_event


# The command is a second process writing beside the running app: on SQLite with its
# default driver, and on PostgreSQL.
@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_merge_moves_the_tickets_and_deletes_the_duplicate(api: TicketsApi) -> None:
    keep = await create_event(api, name="Nils Frahm", venue="Funkhaus")
    duplicate = await create_event(api, name="Nils Frahm live", venue="Funkhaus Berlin")
    moved = [await api.create(eventId=duplicate["id"], price=price) for price in (30, 20)]
    stays = await api.create(eventId=keep["id"], price=40)
    url = api.settings.database_url_for("tickets")

    done = ticketing("events", "merge", keep["id"], duplicate["id"], TICKETS_DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    assert "2 ticket(s) moved" in done.stdout

    assert (await api.client.get(f"/api/events/{duplicate['id']}")).status_code == 404
    shown = (await api.client.get(f"/api/events/{keep['id']}")).json()
    assert [ticket["id"] for ticket in shown["tickets"]] == [
        moved[1]["id"],
        moved[0]["id"],
        stays["id"],
    ]
    assert all(ticket["version"] == 2 for ticket in shown["tickets"][:2])
    # Each move is announced with the event it now belongs to.
    outbox = api.runtime.definition.tables.outbox
    async with api.runtime.database.read_sessions() as session:
        rows = await session.execute(
            select(outbox.c.payload).where(outbox.c.subject == "ticket.updated")
        )
        updated = [json.loads(payload) for (payload,) in rows.all()]
    assert {(item["ticket_id"], item["event"]["id"]) for item in updated} == {
        (ticket["id"], keep["id"]) for ticket in moved
    }
    # The words of the event kept find the moved tickets.
    found = (await api.client.get("/api/tickets", params={"q": "funkhaus"})).json()
    assert len(found) == 3


async def test_merge_refuses_unknown_or_malformed_events(api: TicketsApi) -> None:
    keep = await create_event(api)
    url = api.settings.database_url_for("tickets")
    missing = str(uuid4())
    unknown = ticketing("events", "merge", keep["id"], missing, TICKETS_DATABASE_URL=url)
    assert unknown.returncode == 1
    assert f"Event {missing} not found" in unknown.stderr
    same = ticketing("events", "merge", keep["id"], keep["id"], TICKETS_DATABASE_URL=url)
    assert same.returncode == 1 and "Cannot merge an event into itself" in same.stderr
    malformed = ticketing("events", "merge", keep["id"], "nope", TICKETS_DATABASE_URL=url)
    assert malformed.returncode == 2 and "an event id is a UUID" in malformed.stderr
    assert (await api.client.get(f"/api/events/{keep['id']}")).status_code == 200
