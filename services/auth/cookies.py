"""The session cookie: set on sign-up, sign-in and refresh; cleared on sign-out."""

from __future__ import annotations

from fastapi import Response

from services.common.identity.tokens import SESSION_COOKIE
from services.common.settings import Settings


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.jwt_expires_seconds,
        path="/",
        # In production the cookie never leaves TLS; development and tests run plain HTTP.
        secure=settings.is_production,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        secure=settings.is_production,
        httponly=True,
        samesite="lax",
    )
