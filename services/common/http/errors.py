"""Errors in the one documented shape: ``{"errors": [{"message": ..., "field": ...}]}``.

The edge of every app: an operation's domain error (``services.common.errors``) is
answered here with the status its kind has (``DOMAIN_STATUS``, the one table); the
routes' own refusals (not signed in, too many requests, ...) are ``AppError``s."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common.errors import (
    DomainError,
    InvalidInput,
    Limited,
    Missing,
    NotPermitted,
    PaymentDeclined,
    StateConflict,
)
from services.common.temporal import TemporalUnavailable

log = logging.getLogger(__name__)


class ErrorEntry(BaseModel):
    message: str
    # Present only where one field is at fault.
    field: str | None = None


class ErrorResponse(BaseModel):
    errors: list[ErrorEntry]


# Documented on every route: any of them may answer so (402 is added where it applies).
DOCUMENTED_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "Invalid input: one entry per bad field",
        401: "Not signed in, or the token is invalid, expired or banned",
        403: "Signed in but not allowed",
        404: "No such resource",
        409: "State conflict",
        413: "Request body too large",
        429: "Too many attempts: try again after Retry-After seconds",
        500: "Unexpected error",
        503: "Busy: try again after Retry-After seconds",
    }.items()
}


def error_body(message: str, field: str | None = None) -> dict[str, list[dict[str, str]]]:
    entry = {"message": message}
    if field is not None:
        entry["field"] = field
    return {"errors": [entry]}


class AppError(Exception):
    status_code = 500
    default_message = "Something went wrong"

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or self.default_message
        self.field = field
        super().__init__(self.message)

    @property
    def headers(self) -> dict[str, str] | None:
        return None


class BadRequest(AppError):
    status_code = 400
    default_message = "Bad request"


class NotAuthorized(AppError):
    status_code = 401
    default_message = "Not authorized"


class PaymentRequired(AppError):
    status_code = 402
    default_message = "Payment failed"


class Forbidden(AppError):
    status_code = 403
    default_message = "Forbidden"


class NotFound(AppError):
    status_code = 404
    default_message = "Not found"


class Conflict(AppError):
    status_code = 409
    default_message = "Conflict"


class PayloadTooLarge(AppError):
    status_code = 413
    default_message = "Request body too large"


class _TryLater(AppError):
    def __init__(self, retry_after_seconds: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = max(1, retry_after_seconds)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class TooManyRequests(_TryLater):
    status_code = 429
    default_message = "Too many attempts: try again later"


class ServiceBusy(_TryLater):
    status_code = 503
    default_message = "Too busy right now: try again shortly"


# How each kind of domain error is answered; a kind missing here is a bug (500).
DOMAIN_STATUS: dict[type[DomainError], int] = {
    InvalidInput: 400,
    PaymentDeclined: 402,
    NotPermitted: 403,
    Missing: 404,
    StateConflict: 409,
    Limited: 429,
}


def domain_status(error: DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in DOMAIN_STATUS:
            return DOMAIN_STATUS[kind]
    return 500


def _validation_entries(errors: Any) -> list[dict[str, str]]:
    entries: list[dict[str, str]] = []
    for error in errors:
        location = [part for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        if error.get("type") == "json_invalid":
            entries.append({"message": "Request body is not valid JSON"})
            continue
        field = next((str(part) for part in reversed(location) if isinstance(part, str)), None)
        message = str(error.get("msg", "Invalid value")).removeprefix("Value error, ")
        if error.get("type") == "missing" and field is not None:
            message = f"{field} is required"
        entry = {"message": message}
        if field is not None:
            entry["field"] = field
        entries.append(entry)
    return entries or [{"message": "Invalid request"}]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TemporalUnavailable)
    async def _temporal_unavailable(_request: Request, exc: TemporalUnavailable) -> JSONResponse:
        log.warning("%s", exc)
        busy = ServiceBusy(exc.retry_after_seconds, "The service is busy: try again shortly")
        return JSONResponse(
            error_body(busy.message), status_code=busy.status_code, headers=busy.headers
        )

    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.message, exc.field), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
        status = domain_status(exc)
        if status == 500:
            log.error("no status for %s on %s", type(exc).__name__, request.url.path)
            return JSONResponse(error_body("Something went wrong"), status_code=500)
        headers = (
            {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, Limited) else None
        )
        return JSONResponse(error_body(exc.message, exc.field), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"errors": _validation_entries(exc.errors())}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = "Not found" if exc.status_code == 404 else str(exc.detail)
        return JSONResponse(error_body(message), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(error_body("Something went wrong"), status_code=500)
