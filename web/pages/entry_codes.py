"""A holder's ticket: its entry code (QR code and text), "Sell this ticket"; and the
gate staff's page, /gate, where a code is checked or checked in."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from web.api_client import Api, api_error
from web.dependencies import ApiDep
from web.qr import qr_svg
from web.rendering import fragment, page, redirect, signin_url

router = APIRouter()


async def held_code(api: Api, ticket_id: str) -> dict[str, Any] | None:
    """The holder's code with its QR drawing, or None if the visitor does not hold it."""
    answered = await api.call("GET", f"/api/tickets/{quote(ticket_id, safe='')}/entry-code")
    if answered.status_code != 200:
        return None
    code: dict[str, Any] = answered.json()
    return {**code, "svg": qr_svg(code["code"]), "ticketId": ticket_id}


@router.get("/tickets/{ticket_id}/entry-code")
async def entry_code(request: Request, api: ApiDep, ticket_id: str) -> Response:
    here = f"/tickets/{quote(ticket_id, safe='')}/entry-code"
    if not api.signed_in:
        return redirect(api, signin_url(here))
    code = await held_code(api, ticket_id)
    if request.headers.get("hx-request") == "true":
        return fragment(api, "_entry_code.html", code=code, ticket_id=ticket_id)
    if code is None:
        raise HTTPException(404)
    return page(
        request,
        api,
        "entry_code.html",
        user=await api.current_user(),
        code=code,
        ticket_id=ticket_id,
        values={},
        errors={},
        messages=[],
    )


@router.post("/tickets/{ticket_id}/resale")
async def resell(
    request: Request, api: ApiDep, ticket_id: str, price: Annotated[str, Form()] = ""
) -> Response:
    here = f"/tickets/{quote(ticket_id, safe='')}/entry-code"
    if not api.signed_in:
        return redirect(api, signin_url(here))
    listed = await api.call(
        "POST", f"/api/tickets/{quote(ticket_id, safe='')}/resale", json={"price": price.strip()}
    )
    if listed.status_code == 201:
        return redirect(api, f"/tickets/{listed.json()['id']}")
    if listed.status_code == 401:
        return redirect(api, signin_url(here))
    error = api_error(listed)
    code = await held_code(api, ticket_id)
    if code is None:
        raise HTTPException(404)
    return page(
        request,
        api,
        "entry_code.html",
        user=await api.current_user(),
        status_code=400 if listed.status_code < 500 else listed.status_code,
        code=code,
        ticket_id=ticket_id,
        values={"price": price},
        errors=error.fields,
        messages=error.messages,
    )


@router.get("/gate")
async def gate(request: Request, api: ApiDep) -> Response:
    if not api.signed_in:
        return redirect(api, signin_url("/gate"))
    return page(request, api, "gate.html", user=await api.current_user(), verdict=None, code="")


@router.post("/gate")
async def scan(
    request: Request,
    api: ApiDep,
    code: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "check",
) -> Response:
    if not api.signed_in:
        return redirect(api, signin_url("/gate"))
    path = "/api/tickets/check-in" if action == "check-in" else "/api/tickets/check"
    answered = await api.call("POST", path, json={"code": code.strip()})
    if answered.status_code == 401:
        return redirect(api, signin_url("/gate"))
    verdict: dict[str, Any]
    if answered.status_code == 200:
        verdict = answered.json()
        if action == "check-in":
            verdict = {**verdict, "status": "checked-in"}
    else:
        error = api_error(answered)
        message = " ".join([*error.messages, *error.fields.values()]) or "Refused"
        status = {409: "used", 400: "unknown", 403: "forbidden"}.get(answered.status_code, "error")
        if status == "used" and message.startswith("This code was replaced"):
            status = "void"
        verdict = {"status": status, "message": message}
    return page(
        request,
        api,
        "gate.html",
        user=await api.current_user(),
        status_code=200 if answered.status_code < 500 else answered.status_code,
        verdict=verdict,
        code=code if action == "check" else "",
    )
