"""My tickets: what the signed-in seller listed, in every status."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response

from web.dependencies import ApiDep
from web.rendering import page, redirect, signin_url

router = APIRouter(prefix="/my")


@router.get("/tickets")
async def my_tickets(request: Request, api: ApiDep) -> Response:
    if not api.signed_in:
        return redirect(api, signin_url("/my/tickets"))
    user, listed = await asyncio.gather(api.current_user(), api.call("GET", "/api/tickets/mine"))
    if user is None or listed.status_code == 401:
        return redirect(api, signin_url("/my/tickets"))
    tickets = listed.json() if listed.status_code == 200 else None
    return page(request, api, "my_tickets.html", user=user, tickets=tickets)
