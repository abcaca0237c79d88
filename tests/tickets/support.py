"""The tickets app under test, with what the tests need to talk to it."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx

from tests.support.apps import AppUnderTest


class TicketsApi(AppUnderTest):
    """The tickets app (the ``api`` fixture of the root conftest)."""

    async def create(
        self, user_id: UUID | None = None, *, title: str = "Concert", price: Any = 20
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/api/tickets",
            json={"title": title, "price": price},
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
