"""The web shop's way to the public HTTP API: one pooled httpx client for the process, and
per visitor request an ``Api`` that sends the visitor's ``session`` cookie and keeps
every ``Set-Cookie`` the API answers with, to pass back to the browser.

The pooled client never stores a cookie: one visitor's session must never ride along on
another's request.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.cookiejar import Cookie, CookieJar
from typing import Any, TypeVar
from urllib.request import Request as UrlRequest

import httpx
from fastapi import Request
from starlette.responses import Response

R = TypeVar("R", bound=Response)


class _NoCookieJar(CookieJar):
    """A jar that keeps nothing: cookies travel only as each request's own header."""

    def extract_cookies(self, response: Any, request: UrlRequest) -> None:
        return None

    def set_cookie(self, cookie: Cookie) -> None:
        return None


class _ByPrefix(httpx.AsyncBaseTransport):
    """Each path prefix to the server that serves it (``/api/users`` to auth's Service,
    say), without going out through the public ingress and back in; the Host header stays
    the public one the request was built for."""

    def __init__(self, routes: Mapping[str, str], inner: httpx.AsyncBaseTransport) -> None:
        self.routes = [(prefix.rstrip("/"), httpx.URL(url)) for prefix, url in routes.items()]
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        for prefix, server in self.routes:
            if path == prefix or path.startswith(prefix + "/"):
                request.url = request.url.copy_with(
                    scheme=server.scheme, host=server.host, port=server.port
                )
                break
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def new_http_client(
    base_url: str,
    transport: httpx.AsyncBaseTransport | None = None,
    routes: Mapping[str, str] | None = None,
    *,
    connections: int = 200,
) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=50)
    if routes:
        transport = _ByPrefix(routes, transport or httpx.AsyncHTTPTransport(limits=limits))
    return httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        # The jar itself, not wrapped in httpx.Cookies (which would copy it into a real jar).
        cookies=_NoCookieJar(),
        # Long polls wait up to 20 s on the API's side.
        timeout=httpx.Timeout(35.0, connect=5.0),
        limits=limits,
        follow_redirects=False,
    )


class Waits:
    """The long polls of an order page (``/orders/{id}/watch``), which hold a connection
    to the API for up to 20 s each: at most ``most`` at once in this process, on a pool
    of their own (so that no page load waits behind them), and at most ``per_visitor``
    for one visitor. One past either is not held: the page asks again a little later."""

    def __init__(self, most: int, per_visitor: int) -> None:
        self.most = most
        self.per_visitor = per_visitor
        self.held: dict[str, int] = {}

    @contextlib.contextmanager
    def slot(self, visitor: str) -> Iterator[bool]:
        if sum(self.held.values()) >= self.most or self.held.get(visitor, 0) >= self.per_visitor:
            yield False
            return
        self.held[visitor] = self.held.get(visitor, 0) + 1
        try:
            yield True
        finally:
            self.held[visitor] -= 1
            if not self.held[visitor]:
                del self.held[visitor]


class ApiUnavailable(Exception):
    """The API could not be reached, or answered with a server error."""


@dataclass
class ApiError:
    status: int
    messages: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return " ".join([*self.messages, *self.fields.values()]) or f"Error {self.status}"


def api_error(response: httpx.Response) -> ApiError:
    """The API's error shape, ``{"errors": [{"message": ..., "field": ...}]}``, split into
    messages beside their fields and the others."""
    error = ApiError(response.status_code)
    try:
        entries = response.json().get("errors", [])
    except (ValueError, AttributeError):
        entries = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        message = str(entry.get("message", ""))
        name = entry.get("field")
        if name and str(name) not in error.fields:
            error.fields[str(name)] = message
        elif message:
            error.messages.append(message)
    if not entries:
        error.messages.append(f"The request failed ({response.status_code}).")
    return error


class Api:
    """The API as seen by one visitor: their cookie out, the API's cookies back."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        request: Request,
        session_cookie: str,
        waits_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.client = client
        self.waits_client = waits_client or client
        self.session_cookie = session_cookie
        self.session = request.cookies.get(session_cookie)
        self.set_cookies: list[str] = []
        self.headers = {"accept": "application/json"}
        if request.client is not None:
            # The visitor as the shop's own trusted proxies established them (web.app),
            # alone: never what the visitor's request claimed before them.
            self.headers["x-forwarded-for"] = request.client.host
        # What the browser said of the page it came from, so that the API's own rule on
        # cookie-signed writes judges the visitor's request, not the shop's (which sends
        # neither header). The shop has refused any other origin's form already.
        if "sec-fetch-site" in request.headers:
            for name in ("sec-fetch-site", "origin"):
                if name in request.headers:
                    self.headers[name] = request.headers[name]

    @property
    def signed_in(self) -> bool:
        return self.session is not None

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        waiting: bool = False,
    ) -> httpx.Response:
        """``waiting``: a long poll, on the pool kept for them."""
        sent = dict(self.headers)
        if self.session is not None:
            sent["cookie"] = f"{self.session_cookie}={self.session}"
        if headers:
            sent.update(headers)
        client = self.waits_client if waiting else self.client
        try:
            response = await client.request(method, path, json=json, params=params, headers=sent)
        except httpx.HTTPError as error:
            raise ApiUnavailable(f"{method} {path}: {error!r}") from error
        if response.status_code >= 500:
            raise ApiUnavailable(f"{method} {path}: {response.status_code} {response.text[:200]}")
        for value in response.headers.get_list("set-cookie"):
            self.set_cookies.append(value)
            self._follow_session(value)
        return response

    def _follow_session(self, set_cookie: str) -> None:
        """A later call in the same visit carries the session the API just set or cleared."""
        name, _, rest = set_cookie.partition("=")
        if name.strip() != self.session_cookie:
            return
        value = rest.split(";", 1)[0].strip().strip('"')
        attributes = rest.lower()
        cleared = not value or "max-age=0" in attributes or "expires=thu, 01 jan 1970" in attributes
        self.session = None if cleared else value

    async def current_user(self) -> dict[str, Any] | None:
        """The signed-in user, or None; no call at all for a visitor without a session."""
        if self.session is None:
            return None
        response = await self.call("GET", "/api/users/currentuser")
        if response.status_code != 200:
            return None
        user: dict[str, Any] | None = response.json().get("currentUser")
        return user

    def pass_cookies(self, response: R) -> R:
        for value in self.set_cookies:
            response.raw_headers.append((b"set-cookie", value.encode("latin-1")))
        return response
