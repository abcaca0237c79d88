"""The web shop's ASGI app: pages, static files, and the error pages."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common.http.forwarded import resolve_forwarded_client
from web.api_client import ApiUnavailable, Waits, new_http_client
from web.csrf import FormTokenCookie, FormTokens, refuse_forged_forms
from web.dependencies import api_for
from web.pages import auth, entry_codes, events, my, notices, orders, tickets
from web.rendering import STATIC, page
from web.security_headers import SecurityHeaders
from web.settings import WebSettings, get_web_settings

log = logging.getLogger(__name__)


class StaticFilesCached(StaticFiles):
    """Static files are named with a version in their URL (``?v=``), so browsers may keep
    them for a day without asking again."""

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers.setdefault("cache-control", "public, max-age=86400")
        return response


def create_app(
    settings: WebSettings | None = None, *, api_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """``api_transport``: how to reach the API other than over the network (tests)."""
    settings = settings or get_web_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.http = new_http_client(settings.api_url, api_transport, settings.web_api_routes)
        app.state.http_waits = new_http_client(
            settings.api_url,
            api_transport,
            settings.web_api_routes,
            connections=settings.web_max_waits,
        )
        try:
            yield
        finally:
            await app.state.http.aclose()
            await app.state.http_waits.aclose()

    app = FastAPI(
        title="Ticketing web shop",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(refuse_forged_forms)],
    )
    app.state.settings = settings
    app.state.waits = Waits(settings.web_max_waits, settings.web_waits_per_visitor)
    secret = settings.web_csrf_secret or secrets.token_urlsafe(32)
    app.state.form_tokens = FormTokens(
        secret.encode(), settings.form_token_cookie, secure=not settings.is_development
    )
    app.add_middleware(FormTokenCookie, tokens=app.state.form_tokens)
    app.add_middleware(SecurityHeaders, settings=settings)
    app.mount("/static", StaticFilesCached(directory=STATIC), name="static")
    for module in (tickets, auth, orders, my, events, entry_codes, notices):
        app.include_router(module.router)
    install_error_pages(app)
    resolve_forwarded_client(app, settings.trusted_proxies)
    return app


def install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 404:
            api = api_for(request)
            try:
                user = await api.current_user()
            except ApiUnavailable:
                user = None
            return page(request, api, "error.html", user=user, status_code=404, kind="not_found")
        if error.status_code == 405:
            return page(request, None, "error.html", status_code=405, kind="not_allowed")
        if error.status_code == 403:
            return page(request, None, "error.html", status_code=403, kind="forged_form")
        return page(request, None, "error.html", status_code=error.status_code, kind="bad_request")

    @app.exception_handler(ApiUnavailable)
    async def api_unavailable(request: Request, error: ApiUnavailable) -> Response:
        log.error("the API failed: %s", error)
        return page(request, None, "error.html", status_code=503, kind="unavailable")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return page(request, None, "error.html", status_code=500, kind="unexpected")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: Exception) -> Response:
        return page(request, None, "error.html", status_code=400, kind="bad_request")
