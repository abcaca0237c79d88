"""The session cookie: set on sign-up, sign-in and refresh; cleared on sign-out.

Its name comes from ``session_cookie_name``: ``session`` in development, ``__Host-session``
elsewhere (Secure, path /, no Domain, as the prefix demands).
"""

from __future__ import annotations

from fastapi import Response

from services.common.identity.tokens import TokenClaims, session_cookie_name
from services.common.settings import Settings


def set_session_cookie(
    response: Response, token: str, claims: TokenClaims, settings: Settings
) -> None:
    """The cookie lives as long as its (just minted) token: the token lifetime, or less
    near the session's absolute end."""
    lifetime = int((claims.expires_at - claims.issued_at).total_seconds())
    response.set_cookie(
        session_cookie_name(settings.environment),
        token,
        max_age=max(lifetime, 0),
        path="/",
        # In production the cookie never leaves TLS; development and tests run plain HTTP.
        secure=settings.is_production,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        session_cookie_name(settings.environment),
        path="/",
        secure=settings.is_production,
        httponly=True,
        samesite="lax",
    )
