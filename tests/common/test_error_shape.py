"""Every failure answers in the documented shape: {"errors": [{"message", "field"?}]}."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
from fastapi import APIRouter

from services.common.http.app import create_app
from services.common.http.errors import Conflict
from services.common.settings import Settings
from services.tickets.service import definition
from tests.support.apps import bearer

SECRET = "connection string with password hunter2"

boom = APIRouter()


@boom.get("/api/tickets-test/boom")
async def explode() -> None:
    raise RuntimeError(SECRET)


@boom.get("/api/tickets-test/conflict")
async def conflict() -> None:
    raise Conflict("Already taken", field="ticketId")


@contextlib.asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The tickets app plus a route that fails; errors reach the client as a server sends them."""
    app = create_app(definition, settings)
    app.include_router(boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        yield client


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(settings) as running:
        yield running


@pytest.mark.parametrize("path", ["/nope", "/api/nope", "/api/tickets/a/b"])
async def test_unknown_route_is_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.json() == {"errors": [{"message": "Not found"}]}


async def test_wrong_method_keeps_the_shape(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/tickets")
    assert response.status_code == 405
    [entry] = response.json()["errors"]
    assert set(entry) == {"message"}


async def test_unexpected_error_is_500_generic_and_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await client.get("/api/tickets-test/boom")
    assert response.status_code == 500
    assert response.json() == {"errors": [{"message": "Something went wrong"}]}
    assert SECRET not in response.text
    assert any(
        SECRET in record.getMessage()
        or SECRET in (record.exc_text or "")
        or (record.exc_info and SECRET in str(record.exc_info[1]))
        for record in caplog.records
    )


async def test_app_error_carries_its_status_and_field(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/tickets-test/conflict")
    assert response.status_code == 409
    assert response.json() == {"errors": [{"message": "Already taken", "field": "ticketId"}]}


@pytest.mark.parametrize("raw", [b"{bad json", b'{"title": "T", "price": 1', b""])
async def test_malformed_json_is_400(
    client: httpx.AsyncClient, settings: Settings, raw: bytes
) -> None:
    response = await client.post(
        "/api/tickets",
        content=raw,
        headers={"content-type": "application/json", **bearer(settings, uuid4())},
    )
    assert response.status_code == 400
    assert response.json()["errors"]
    assert all(set(entry) <= {"message", "field"} for entry in response.json()["errors"])
    if raw:
        assert response.json() == {"errors": [{"message": "Request body is not valid JSON"}]}


async def test_validation_has_one_entry_per_bad_field(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.post(
        "/api/tickets", json={"title": " ", "price": "x"}, headers=bearer(settings, uuid4())
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert sorted(entry["field"] for entry in errors) == ["price", "title"]
    assert all(entry["message"] for entry in errors)
