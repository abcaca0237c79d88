"""Sign up, sign in, sign out: each form posts to the API and carries its cookie back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from web.api_client import Api, api_error
from web.dependencies import ApiDep
from web.rendering import page, redirect, safe_next

router = APIRouter(prefix="/auth")

FORMS = {
    "signup": {"title": "Sign up", "button": "Create account", "api": "/api/users/signup"},
    "signin": {"title": "Sign in", "button": "Sign in", "api": "/api/users/signin"},
}


def _form(
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
    return page(
        request,
        api,
        "auth_form.html",
        user=user,
        status_code=status_code,
        kind=kind,
        form=FORMS[kind],
        next_path=next_path,
        email=email,
        errors=errors or {},
        messages=messages or [],
    )


async def _submit(
    request: Request, api: Api, kind: str, email: str, password: str, next_path: str
) -> Response:
    target = safe_next(next_path)
    answered = await api.call(
        "POST", FORMS[kind]["api"], json={"email": email, "password": password}
    )
    if answered.status_code in (200, 201):
        return redirect(api, target)
    error = api_error(answered)
    return _form(
        request,
        api,
        kind,
        next_path=target,
        email=email,
        errors=error.fields,
        messages=error.messages,
        status_code=answered.status_code,
    )


@router.get("/signup")
async def signup_form(
    request: Request, api: ApiDep, next_path: Annotated[str | None, Query(alias="next")] = None
) -> Response:
    return _form(
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
    return _form(
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
        await api.call("POST", "/api/users/signout")
    response = redirect(api, "/")
    # Whatever the API said, the browser forgets the session.
    if not any(cookie.startswith("session=") for cookie in api.set_cookies):
        response.delete_cookie("session", path="/", httponly=True, samesite="lax")
    return response


@router.post("/signout")
async def signout(api: ApiDep) -> Response:
    return await _signout(api)


@router.get("/signout")
async def signout_link(api: ApiDep) -> Response:
    """The seed project's web client signs out by visiting this path: it still works."""
    return await _signout(api)
