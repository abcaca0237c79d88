"""Headers that limit what a page of the shop may do, and what others may do with it:
a Content-Security-Policy without inline scripts or styles (the pages have none) and
framed by nobody, no MIME sniffing, and no page address sent to other sites (ticket and
order ids are in them). Over HTTPS, browsers are told to keep to it."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.settings import WebSettings

# The frames Stripe.js opens (card fields, 3-D Secure) and its API, as Stripe documents.
STRIPE_FRAMES = "https://js.stripe.com https://hooks.stripe.com"
STRIPE_API = "https://api.stripe.com"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(settings: WebSettings) -> str:
    stripe_js = _origin(settings.stripe_js)
    if settings.uses_localstripe:
        # Development's stand-in of Stripe.js is fetched and run by shop.js (eval), draws
        # its inputs with style attributes and talks to localstripe itself.
        scripts = f"'self' 'unsafe-eval' {stripe_js}"
        styles = "'self' 'unsafe-inline'"
        frames = connect = stripe_js
    else:
        scripts = f"'self' {stripe_js}"
        styles = "'self'"
        frames, connect = STRIPE_FRAMES, STRIPE_API
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            f"style-src {styles}",
            f"frame-src {frames}",
            f"connect-src 'self' {connect}",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, settings: WebSettings) -> None:
        self.app = app
        self.headers = {
            "content-security-policy": content_security_policy(settings),
            "x-frame-options": "DENY",
            "x-content-type-options": "nosniff",
            "referrer-policy": "same-origin",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                if https:
                    headers.setdefault("strict-transport-security", "max-age=31536000")
            await send(message)

        await self.app(scope, receive, send_with_headers)
