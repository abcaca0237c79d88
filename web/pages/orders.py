"""Orders: my orders, one order followed live, paying for it and cancelling it.

An order page follows its saga with one waiting request at a time: ``/orders/{id}/watch``
asks the API with the order's ETag, ``If-None-Match`` and ``Prefer: wait=N``, so the API
answers the moment the order changes (or with 304 after N seconds). The page starts the
next wait a second after each answer, so it never asks more than once a second.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

from web.api_client import Api, ApiUnavailable, Waits, api_error
from web.dependencies import ApiDep
from web.messages import refused_for_now, sentence
from web.rendering import FINAL_STATUSES, fragment, order_state, page, redirect, signin_url

router = APIRouter(prefix="/orders")

# After an API failure, the next wait starts later.
RETRY_AFTER_FAILURE = "5s"
# How long a payment for an order the payments service has not heard of yet is retried.
PAYMENTS_REPLICA_GRACE_SECONDS = 5.0
# What the buyer reads when the payment provider's own words are not a sentence for people.
PAYMENT_NOT_TAKEN = (
    "The card was not accepted. Check its number, expiry and CVC, or try another card."
)


def payment_refusal(paid: httpx.Response) -> str:
    """Why a payment did not go through, as a sentence for the buyer."""
    message = api_error(paid).message
    if paid.status_code in (429, 503):
        return refused_for_now(paid, message)
    return sentence(message, PAYMENT_NOT_TAKEN)


def _path(order_id: str) -> str:
    return f"/api/orders/{quote(order_id, safe='')}"


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


@router.get("")
async def mine(request: Request, api: ApiDep) -> Response:
    if not api.signed_in:
        return redirect(api, signin_url("/orders"))
    user, listed = await asyncio.gather(api.current_user(), api.call("GET", "/api/orders"))
    if listed.status_code == 401 or user is None:
        return redirect(api, signin_url("/orders"))
    return page(request, api, "orders.html", user=user, orders=listed.json())


async def _order(api: Api, request: Request, order_id: str) -> tuple[dict[str, Any], str]:
    shown = await api.call("GET", _path(order_id))
    if shown.status_code == 401:
        raise _SignIn(request.url.path)
    if shown.status_code != 200:
        # Another buyer's order is nobody else's business: the same page as a missing one.
        raise HTTPException(404)
    order: dict[str, Any] = shown.json()
    return order, shown.headers.get("etag", "")


class _SignIn(Exception):
    def __init__(self, path: str) -> None:
        self.path = path


def _context(request: Request, order: dict[str, Any], etag: str, **extra: Any) -> dict[str, Any]:
    return {
        "order": order,
        "etag": etag,
        "state": order_state(order),
        "final": order.get("status") in FINAL_STATUSES,
        "settings": request.app.state.settings,
        **extra,
    }


@router.get("/{order_id}")
async def show(request: Request, api: ApiDep, order_id: str) -> Response:
    if not api.signed_in:
        return redirect(api, signin_url(request.url.path))
    try:
        user, (order, etag) = await asyncio.gather(
            api.current_user(), _order(api, request, order_id)
        )
    except _SignIn as needed:
        return redirect(api, signin_url(needed.path))
    return page(request, api, "order.html", user=user, **_context(request, order, etag))


@router.get("/{order_id}/watch")
async def watch(
    request: Request,
    api: ApiDep,
    order_id: str,
    etag: Annotated[str, Query()] = "",
    was: Annotated[str, Query()] = "",
) -> Response:
    """One long poll: the watcher again, plus the changed parts of the page (out of band)."""
    wait = request.app.state.settings.web_order_wait_seconds
    waits: Waits = request.app.state.waits
    # A visitor by their session, else by their address.
    visitor = api.session or (request.client.host if request.client else "")
    try:
        with waits.slot(visitor) as held:
            if not held:
                raise ApiUnavailable("too many long polls")
            answered = await api.call(
                "GET",
                _path(order_id),
                headers={"if-none-match": etag, "prefer": f"wait={wait}"} if etag else None,
                waiting=True,
            )
    except ApiUnavailable:
        return fragment(
            api, "_order_watch.html", order={"id": order_id}, etag=etag, state=was,
            final=False, delay=RETRY_AFTER_FAILURE,
        )  # fmt: skip
    if answered.status_code == 304:
        return fragment(
            api, "_order_watch.html", order={"id": order_id}, etag=etag, state=was,
            final=False, delay="1s",
        )  # fmt: skip
    if answered.status_code != 200:
        # Signed out or gone: stop following; a reload shows why.
        return HTMLResponse('<div id="order-watch"></div>')
    order: dict[str, Any] = answered.json()
    context = _context(request, order, answered.headers.get("etag", ""), delay="1s")
    return fragment(
        api,
        "_order_changed.html",
        swap_actions=context["state"] != was or context["state"] != "awaiting",
        **context,
    )


async def _after_payment(api: Api, request: Request, order_id: str, message: str) -> Response:
    try:
        order, etag = await _order(api, request, order_id)
    except (_SignIn, HTTPException):
        return fragment(api, "_pay_message.html", message=message, ok=True)
    return fragment(
        api,
        "_pay_result.html",
        message=message,
        ok=True,
        **_context(request, order, etag, delay="1s"),
    )


async def _pay(api: Api, order_id: str, token: str) -> httpx.Response:
    """Pays, once per click: every request of this click carries one Idempotency-Key, so
    the API answers a repeat with the first answer and never charges twice. An order
    just made may not have reached the payments service yet (it learns of orders from
    events), so a 404 is asked again for a moment."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PAYMENTS_REPLICA_GRACE_SECONDS
    once = {"Idempotency-Key": uuid.uuid4().hex}
    while True:
        paid = await api.call(
            "POST", "/api/payments", json={"orderId": order_id, "token": token}, headers=once
        )
        if paid.status_code != 404 or loop.time() > deadline:
            return paid
        await asyncio.sleep(0.2)


@router.post("/{order_id}/pay")
async def pay(
    request: Request, api: ApiDep, order_id: str, token: Annotated[str, Form()] = ""
) -> Response:
    here = f"/orders/{quote(order_id, safe='')}"
    if not api.signed_in:
        return redirect(api, signin_url(here))
    if not token.strip():
        message = "Enter your card in the form above: paying needs JavaScript (Stripe.js)."
        if _is_htmx(request):
            return fragment(api, "_pay_message.html", message=message, ok=False)
        return await _order_page_with(request, api, order_id, pay_message=message)
    paid = await _pay(api, order_id, token.strip())
    if paid.status_code == 401:
        return redirect(api, signin_url(here))
    if paid.status_code == 201:
        if not _is_htmx(request):
            return redirect(api, here)
        return await _after_payment(api, request, order_id, "Payment accepted.")
    if paid.status_code == 202:
        # The card's bank wants the buyer to confirm (3-D Secure): Stripe.js asks them on
        # this page, then the order completes once Stripe tells the shop's API.
        if _is_htmx(request):
            return fragment(
                api, "_pay_authenticate.html", client_secret=paid.json()["clientSecret"]
            )
        message = "Your bank asks you to confirm this payment, which needs JavaScript."
        return await _order_page_with(request, api, order_id, pay_message=message)
    message = payment_refusal(paid)
    if _is_htmx(request):
        return fragment(api, "_pay_message.html", message=message, ok=False)
    return await _order_page_with(request, api, order_id, pay_message=message)


async def _order_page_with(request: Request, api: Api, order_id: str, **extra: Any) -> Response:
    try:
        user, (order, etag) = await asyncio.gather(
            api.current_user(), _order(api, request, order_id)
        )
    except _SignIn as needed:
        return redirect(api, signin_url(needed.path))
    return page(request, api, "order.html", user=user, **_context(request, order, etag, **extra))


@router.get("/{order_id}/cancel")
async def confirm_cancel(request: Request, api: ApiDep, order_id: str) -> Response:
    """Cancel's second step without scripts (with them, a dialog on the order page asks)."""
    here = f"/orders/{quote(order_id, safe='')}"
    if not api.signed_in:
        return redirect(api, signin_url(here))
    try:
        user, (order, etag) = await asyncio.gather(
            api.current_user(), _order(api, request, order_id)
        )
    except _SignIn as needed:
        return redirect(api, signin_url(needed.path))
    if order_state(order) != "awaiting":
        return redirect(api, here)
    return page(request, api, "cancel_confirm.html", user=user, **_context(request, order, etag))


@router.post("/{order_id}/cancel")
async def cancel(request: Request, api: ApiDep, order_id: str) -> Response:
    here = f"/orders/{quote(order_id, safe='')}"
    if not api.signed_in:
        return redirect(api, signin_url(here))
    cancelled = await api.call("DELETE", _path(order_id))
    if cancelled.status_code == 401:
        return redirect(api, signin_url(here))
    if cancelled.status_code == 404:
        raise HTTPException(404)
    if cancelled.status_code != 204:
        return await _order_page_with(
            request, api, order_id, cancel_message=sentence(api_error(cancelled).message)
        )
    if not _is_htmx(request):
        return redirect(api, here)
    try:
        order, etag = await _order(api, request, order_id)
    except _SignIn as needed:
        return redirect(api, signin_url(needed.path))
    return fragment(
        api,
        "_order_changed.html",
        swap_actions=True,
        **_context(request, order, etag, delay="1s"),
    )
