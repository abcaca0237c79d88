"""The tickets app under test, with what the tests need to talk to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import httpx
from sqlalchemy import update

from services.tickets.models import Event
from tests.support.apps import AppUnderTest


class TicketsApi(AppUnderTest):
    """The tickets app (the ``api`` fixture of the root conftest)."""

    async def create(
        self, user_id: UUID | None = None, *, title: str = "Concert", price: Any = 20, **more: Any
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/api/tickets",
            json={"title": title, "price": price, **more},
            headers=self.auth(user_id or uuid4()),
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


def error(message: str, field: str | None = None) -> dict[str, list[dict[str, str]]]:
    """The documented error body."""
    entry = {"message": message}
    if field is not None:
        entry["field"] = field
    return {"errors": [entry]}


def error_fields(response: httpx.Response) -> list[str | None]:
    return [entry.get("field") for entry in response.json()["errors"]]


def event_body(**overrides: Any) -> dict[str, Any]:
    """A valid event a month ahead, in Berlin's winter time."""
    starts = datetime.now(timezone(timedelta(hours=1))).replace(microsecond=0) + timedelta(days=30)
    return {
        "name": "Nils Frahm",
        "venue": "Funkhaus",
        "city": "Berlin",
        "startsAt": starts.isoformat(),
        **overrides,
    }


async def create_event(
    api: TicketsApi, user_id: UUID | None = None, **overrides: Any
) -> dict[str, Any]:
    response = await api.client.post(
        "/api/events", json=event_body(**overrides), headers=api.auth(user_id or uuid4())
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def start_event(api: TicketsApi, event_id: str) -> None:
    """Time passes: the event started a minute ago (the API refuses to date one so)."""
    async with api.runtime.unit_of_work() as uow:
        await uow.session.execute(
            update(Event)
            .where(Event.id == UUID(event_id))
            .values(starts_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        await uow.commit()
