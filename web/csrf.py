"""The shop's defence against forged forms: every POST must come from a page of the
shop's own origin (``Sec-Fetch-Site``/``Origin``, the rule the services apply to
cookie-signed writes) and carry the form token its page was given (a signed double
submit: the same token in the ``csrf`` field and in a cookie, signed with
``WEB_CSRF_SECRET``, so that no other site can make one).

A page sets the cookie the first time a visitor comes (HttpOnly, SameSite=Strict; in
production ``__Host-csrf``, which no other host, a sibling subdomain included, can set).
Sign-in and sign-up are guarded like every other form: a site that signs a visitor into
an account of its own choosing (login CSRF) needs no session of theirs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from contextvars import ContextVar
from http.cookies import SimpleCookie

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.http.same_origin import from_our_origin

FIELD = "csrf"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_token: ContextVar[str] = ContextVar("csrf_token", default="")


def current_token() -> str:
    """The token the page being rendered puts in its forms (``csrf_field()``)."""
    return _token.get()


class FormTokens:
    def __init__(self, secret: bytes, cookie: str, *, secure: bool) -> None:
        self.secret = secret
        self.cookie = cookie
        self.secure = secure

    def _signature(self, nonce: str) -> str:
        mac = hmac.new(self.secret, b"csrf:" + nonce.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def new(self) -> str:
        nonce = secrets.token_urlsafe(24)
        return f"{nonce}.{self._signature(nonce)}"

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        nonce, _, signature = token.partition(".")
        return bool(nonce) and hmac.compare_digest(signature, self._signature(nonce))

    def matches(self, cookie: str | None, submitted: str | None) -> bool:
        """The form's token is the cookie's, and it is one the shop signed."""
        return (
            self.valid(cookie)
            and submitted is not None
            and hmac.compare_digest(cookie or "", submitted)
        )

    def set_cookie(self, token: str) -> str:
        secure = "; Secure" if self.secure else ""
        return f"{self.cookie}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"


class FormTokenCookie:
    """Gives every visitor without a valid token one (a cookie on the response) and
    lets the page being rendered find it (``current_token``)."""

    def __init__(self, app: ASGIApp, tokens: FormTokens) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = cookie_of(scope, self.tokens.cookie)
        minted = not self.tokens.valid(token)
        if minted:
            token = self.tokens.new()
        assert token is not None
        _token.set(token)

        async def send_with_cookie(message: Message) -> None:
            if minted and message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("set-cookie", self.tokens.set_cookie(token))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def cookie_of(scope: Scope, name: str) -> str | None:
    for key, value in scope["headers"]:
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:
                continue
            if name in jar:
                return jar[name].value
    return None


async def refuse_forged_forms(request: Request) -> None:
    """Every route's guard (an app-wide dependency): a POST from another origin, or
    without the token its page was given, is refused with 403 before it does anything.
    The form is parsed once: FastAPI keeps it for the route's own fields."""
    if request.method not in UNSAFE_METHODS:
        return
    tokens: FormTokens = request.app.state.form_tokens
    submitted = (await request.form()).get(FIELD)
    cookie = request.cookies.get(tokens.cookie)
    if not from_our_origin(request.headers) or not tokens.matches(
        cookie, submitted if isinstance(submitted, str) else None
    ):
        raise HTTPException(403)
