"""My tickets: what the signed-in seller listed, in every status, and the tickets they
hold (bought), each with its entry code."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from web.api_client import Api
from web.dependencies import ApiDep
from web.pages.entry_codes import held_code
from web.rendering import page, redirect, signin_url

router = APIRouter(prefix="/my")


@router.get("/tickets")
async def my_tickets(request: Request, api: ApiDep) -> Response:
    if not api.signed_in:
        return redirect(api, signin_url("/my/tickets"))
    user, listed, held = await asyncio.gather(
        api.current_user(), api.call("GET", "/api/tickets/mine"), held_tickets(api)
    )
    if user is None or listed.status_code == 401:
        return redirect(api, signin_url("/my/tickets"))
    tickets = listed.json() if listed.status_code == 200 else None
    return page(request, api, "my_tickets.html", user=user, tickets=tickets, held=held)


async def held_tickets(api: Api) -> list[dict[str, Any]]:
    """The tickets the visitor holds (bought), each with its entry code."""
    answered = await api.call("GET", "/api/tickets/held")
    if answered.status_code != 200:
        return []
    tickets: list[dict[str, Any]] = answered.json()
    codes = await asyncio.gather(*(held_code(api, ticket["id"]) for ticket in tickets))
    return [{**ticket, "entryCode": code} for ticket, code in zip(tickets, codes, strict=True)]
