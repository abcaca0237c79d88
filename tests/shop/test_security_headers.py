"""Every answer of the shop carries its security headers: a CSP that allows no inline
script (nor, against real Stripe, inline style) and no framing, nosniff, a referrer
policy that keeps ticket and order addresses to the shop; HSTS over HTTPS."""

from __future__ import annotations

import httpx
import pytest

from web.app import create_app
from web.settings import WebSettings


def directives(policy: str) -> dict[str, str]:
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2] for part in policy.split(";")
    }


async def headers_of(settings: WebSettings, path: str, base: str = "http://shop") -> httpx.Headers:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as visitor,
    ):
        return (await visitor.get(path)).headers


@pytest.mark.parametrize("path", ["/auth/signin", "/static/shop.css", "/no/such/page"])
async def test_against_real_stripe_nothing_inline_and_nobody_frames_the_shop(path: str) -> None:
    settings = WebSettings(
        _env_file=None,
        environment="production",
        stripe_publishable_key="pk_live_x",
        web_csrf_secret="s" * 32,
        web_api_url="http://127.0.0.1:9",
    )
    headers = await headers_of(settings, path, base="https://shop")
    csp = directives(headers["content-security-policy"])
    assert csp["script-src"] == "'self' https://js.stripe.com"
    assert csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert csp["form-action"] == "'self'" and csp["base-uri"] == "'none'"
    assert "unsafe" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["strict-transport-security"].startswith("max-age=")


async def test_in_development_the_stripe_stand_in_is_allowed_and_no_hsts_over_http() -> None:
    settings = WebSettings(_env_file=None, stripe_api_base="http://127.0.0.1:8420")
    headers = await headers_of(settings, "/auth/signin")
    csp = directives(headers["content-security-policy"])
    assert "http://127.0.0.1:8420" in csp["script-src"]
    assert "http://127.0.0.1:8420" in csp["connect-src"]
    assert csp["frame-ancestors"] == "'none'"
    assert "strict-transport-security" not in headers
