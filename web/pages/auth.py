"""Sign up, sign in, sign out: each form posts to the API and carries its cookie back."""

from __future__ import annotations

import contextlib
import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from web.api_client import Api, ApiUnavailable, api_error
from web.dependencies import ApiDep
from web.messages import (
    PASSWORD_HINT,
    email_problem,
    field_sentences,
    new_password_problem,
    refused_for_now,
    said_better,
)
from web.rendering import page, redirect, safe_next, with_notice

router = APIRouter(prefix="/auth")

FORMS = {
    "signup": {"title": "Sign up", "button": "Create account", "api": "/api/users/signup"},
    "signin": {"title": "Sign in", "button": "Sign in", "api": "/api/users/signin"},
}
# The form's fields in page order: focus goes to the first one in error.
FIELDS = ("email", "password")
# Where Buy sends a signed-out visitor: back to the ticket's page.
_TICKET_PAGE = re.compile(r"/tickets/([^/?#]+)")


async def _buying(api: Api | None, next_path: str) -> str | None:
    """The title of the ticket the visitor is signing in to buy, if that is why."""
    found = _TICKET_PAGE.fullmatch(next_path)
    if api is None or found is None:
        return None
    shown = await api.call("GET", f"/api/tickets/{quote(found.group(1), safe='')}")
    if shown.status_code != 200:
        return None
    title = shown.json().get("title")
    return str(title) if title else None


async def _form(
    request: Request,
    api: Api | None,
    kind: str,
    *,
    next_path: str,
    email: str = "",
    errors: dict[str, str] | None = None,
    messages: list[str] | None = None,
    status_code: int = 200,
    user: dict[str, Any] | None = None,
) -> Response:
    errors = errors or {}
    buying = await _buying(api, next_path)
    verb = "Sign up" if kind == "signup" else "Sign in"
    return page(
        request,
        api,
        "auth_form.html",
        user=user,
        status_code=status_code,
        kind=kind,
        form=FORMS[kind],
        heading=f"{verb} to buy {buying}" if buying else FORMS[kind]["title"],
        next_path=next_path,
        email=email,
        errors=errors,
        focus=next((name for name in FIELDS if name in errors), FIELDS[0]),
        password_hint=PASSWORD_HINT if kind == "signup" else "",
        messages=messages or [],
    )


def _own_check(kind: str, email: str, password: str) -> dict[str, str]:
    """The plain mistakes, found before asking the API."""
    problems = {}
    if problem := email_problem(email):
        problems["email"] = problem
    if kind == "signup" and (problem := new_password_problem(password)):
        problems["password"] = problem
    if kind == "signin" and not password:
        problems["password"] = "Enter your password."
    return problems


async def _submit(
    request: Request, api: Api, kind: str, email: str, password: str, next_path: str
) -> Response:
    target = safe_next(next_path)
    if problems := _own_check(kind, email, password):
        return await _form(
            request, api, kind, next_path=target, email=email, errors=problems, status_code=400
        )
    answered = await api.call(
        "POST", FORMS[kind]["api"], json={"email": email, "password": password}
    )
    if answered.status_code in (200, 201):
        return redirect(api, with_notice(target, "signed-up") if kind == "signup" else target)
    error = api_error(answered)
    if answered.status_code in (429, 503):
        fields, messages = {}, [refused_for_now(answered, error.message)]
    elif answered.status_code == 400:
        fields = field_sentences(error.fields)
        messages = [said_better(message) for message in error.messages]
    else:
        fields = {name: said_better(text) for name, text in error.fields.items()}
        messages = [said_better(message) for message in error.messages]
    return await _form(
        request,
        api,
        kind,
        next_path=target,
        email=email,
        errors=fields,
        messages=messages,
        status_code=answered.status_code,
    )


@router.get("/signup")
async def signup_form(
    request: Request, api: ApiDep, next_path: Annotated[str | None, Query(alias="next")] = None
) -> Response:
    return await _form(
        request, api, "signup", next_path=safe_next(next_path), user=await api.current_user()
    )


@router.post("/signup")
async def signup(
    request: Request,
    api: ApiDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    return await _submit(request, api, "signup", email, password, next_path)


@router.get("/signin")
async def signin_form(
    request: Request, api: ApiDep, next_path: Annotated[str | None, Query(alias="next")] = None
) -> Response:
    return await _form(
        request, api, "signin", next_path=safe_next(next_path), user=await api.current_user()
    )


@router.post("/signin")
async def signin(
    request: Request,
    api: ApiDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    return await _submit(request, api, "signin", email, password, next_path)


async def _signout(api: Api) -> Response:
    if api.signed_in:
        # Whatever the API said, or if it said nothing, the browser forgets the session.
        with contextlib.suppress(ApiUnavailable):
            await api.call("POST", "/api/users/signout")
    response = redirect(api, with_notice("/", "signed-out"))
    name = api.session_cookie
    if not any(cookie.startswith(f"{name}=") for cookie in api.set_cookies):
        # A __Host- cookie is cleared only by one as Secure as it was set.
        response.delete_cookie(
            name, path="/", httponly=True, samesite="lax", secure=name.startswith("__Host-")
        )
    return response


@router.post("/signout")
async def signout(api: ApiDep) -> Response:
    """A POST with its form token only: a link or an image elsewhere signs nobody out."""
    return await _signout(api)
