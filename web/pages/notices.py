"""Notices: the receipts and notices the notifications service wrote for the visitor,
newest first (shown, they count as read), and the unread count beside the link."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from web.dependencies import ApiDep
from web.rendering import page, redirect, signin_url

router = APIRouter(prefix="/notices")


@router.get("")
async def notices(request: Request, api: ApiDep) -> Response:
    if not api.signed_in:
        return redirect(api, signin_url("/notices"))
    user = await api.current_user()
    listed = await api.call("GET", "/api/notifications")
    if user is None or listed.status_code == 401:
        return redirect(api, signin_url("/notices"))
    items = listed.json() if listed.status_code == 200 else None
    if items and any(not item.get("read") for item in items):
        await api.call("POST", "/api/notifications/read")
    return page(request, api, "notices.html", user=user, items=items)


@router.get("/unread")
async def unread(api: ApiDep) -> Response:
    """The count as a badge (nothing when none, or when it cannot be had)."""
    answered = await api.call("GET", "/api/notifications/unread") if api.signed_in else None
    count = answered.json().get("unread", 0) if answered and answered.status_code == 200 else 0
    badge = f' <span class="badge warn" data-unread="{int(count)}">{int(count)}</span>'
    return api.pass_cookies(HTMLResponse(badge if count else ""))
