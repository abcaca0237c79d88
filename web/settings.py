"""The web shop's settings, read from the environment like every other process's.

The shop needs only where the API is and how the browser reaches Stripe.js; it never
sees a database URL or a secret key.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.identity.tokens import session_cookie_name
from services.common.settings import LOOPBACK, TrustedProxies, refuse_trusting_anyone

# localstripe accepts any test-mode publishable key.
LOCALSTRIPE_PUBLISHABLE_KEY = "pk_test_localstripe"
STRIPE_JS_URL = "https://js.stripe.com/v3/"


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", env_ignore_empty=True, hide_input_in_errors=True
    )

    environment: str = "development"
    # The API's base URL as the web app reaches it; by default the embedded stack's.
    web_api_url: str | None = None
    # Where some paths go instead, without the round trip through the ingress: a JSON
    # object of path prefix to base URL, e.g. {"/api/users": "http://shop-ticketing-auth"}
    # (the chart sets each service's). The Host header stays WEB_API_URL's.
    web_api_routes: dict[str, str] = Field(default_factory=dict)
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Its log lines, as every process's (services.common.observability.logging).
    log_format: Literal["json", "text"] | None = None
    log_level: str = "INFO"
    # Seconds one long poll of an order waits (the API caps it at 20).
    web_order_wait_seconds: int = 20
    # Long polls held at once by this process (on a connection pool of their own, apart
    # from the pages'), and by one visitor; one more is answered at once, to ask later.
    web_max_waits: int = Field(default=100, ge=1)
    web_waits_per_visitor: int = Field(default=2, ge=1)
    # The payment window, as the orders service has it: the front page tells visitors.
    order_expiration_seconds: int = 15 * 60
    # The shop's own proxies (nginx, the ingress), as the services' TRUSTED_PROXIES: the
    # visitor is the rightmost X-Forwarded-For hop that is none of them, and that address
    # alone is what the shop forwards to the API.
    trusted_proxies: TrustedProxies = Field(default_factory=lambda: list(LOOPBACK))

    # Signs the form tokens (web.csrf): the same secret on every replica of the shop.
    # Generated per process in development; required elsewhere (32 random bytes, e.g.
    # `openssl rand -base64 32`).
    web_csrf_secret: str | None = Field(default=None, min_length=32)

    # Unset: development against localstripe, whose Stripe.js stand-in the browser loads
    # from STRIPE_API_BASE (or STRIPE_JS_URL, where browsers reach localstripe elsewhere).
    stripe_publishable_key: str | None = None
    stripe_api_base: str = "http://127.0.0.1:8420"
    stripe_js_url: str | None = None

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def session_cookie(self) -> str:
        """The API's session cookie, as it names it: only development's is plain
        ``session``; everywhere else the browser holds it as ``__Host-session``."""
        return session_cookie_name(self.environment)

    @property
    def form_token_cookie(self) -> str:
        """Outside development ``__Host-``: Secure, the whole site, and settable by no
        other host (a sibling subdomain cannot plant one)."""
        return "csrf" if self.is_development else "__Host-csrf"

    @property
    def api_url(self) -> str:
        if self.web_api_url:
            return self.web_api_url.rstrip("/")
        host = "127.0.0.1" if self.api_host in ("0.0.0.0", "::", "") else self.api_host
        return f"http://{host}:{self.api_port}"

    @property
    def uses_localstripe(self) -> bool:
        return not self.stripe_publishable_key

    @property
    def publishable_key(self) -> str:
        return self.stripe_publishable_key or LOCALSTRIPE_PUBLISHABLE_KEY

    @property
    def stripe_js(self) -> str:
        if self.stripe_js_url:
            return self.stripe_js_url
        if self.uses_localstripe:
            return self.stripe_api_base.rstrip("/") + "/js.stripe.com/v3/"
        return STRIPE_JS_URL

    @property
    def shows_test_cards(self) -> bool:
        """Stripe's test cards work on localstripe and on Stripe in test mode."""
        return self.publishable_key.startswith("pk_test_")

    @model_validator(mode="after")
    def _real_stripe_in_production(self) -> WebSettings:
        if not self.is_development and not self.stripe_publishable_key:
            raise ValueError("STRIPE_PUBLISHABLE_KEY must be set outside development")
        if not self.is_development and not self.web_csrf_secret:
            raise ValueError("WEB_CSRF_SECRET must be set outside development")
        refuse_trusting_anyone(self.trusted_proxies, production=not self.is_development)
        return self


@lru_cache
def get_web_settings() -> WebSettings:
    return WebSettings()
