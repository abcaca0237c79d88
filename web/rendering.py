"""Templates and the responses every page builds: a page, a fragment, a redirect."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from web.api_client import Api
from web.csrf import current_token
from web.messages import duration
from web.settings import WebSettings

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# Order statuses, as the API spells them (a client's copy, like any client's; a test keeps
# them equal to workflows.contracts.OrderStatus, which the shop does not import: it would
# load Temporal's SDK into the shop for four words).
AWAITING_PAYMENT = "awaiting:payment"
CREATED = "created"
COMPLETE = "complete"
CANCELLED = "cancelled"
FINAL_STATUSES = frozenset({COMPLETE, CANCELLED})


def money(value: object) -> str:
    """A price in major units, as the API gives it: ``25.5`` -> ``$25.50``."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"${amount:,.2f}"


def price_text(value: object) -> str:
    """A price as a form shows it: ``25.5`` -> ``25.50``."""
    try:
        return f"{Decimal(str(value)):.2f}"
    except InvalidOperation:
        return str(value or "")


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def clock(value: object) -> str:
    """A time as a person reads it, in UTC (the page's script shows local time)."""
    moment = value if isinstance(value, datetime) else parse_time(value)
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%H:%M:%S UTC, %d %b %Y")


def remaining(value: object) -> str:
    """``m:ss`` left until a deadline, ``0:00`` once it passed."""
    moment = value if isinstance(value, datetime) else parse_time(value)
    if moment is None:
        return ""
    seconds = max(0, int((moment - datetime.now(UTC)).total_seconds() + 0.999))
    return f"{seconds // 60}:{seconds % 60:02d}"


def order_state(order: dict[str, Any]) -> str:
    """What the buyer sees: the API's status, with a cancelled order that ran out of time
    called Expired (the API says why in ``cancelReason``)."""
    status = str(order.get("status", ""))
    if status == CANCELLED:
        return "expired" if order.get("cancelReason") == "expired" else "cancelled"
    return {AWAITING_PAYMENT: "awaiting", COMPLETE: "complete"}.get(status, "created")


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site: never ``//elsewhere`` or ``https://elsewhere``."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


def signin_url(next_path: str) -> str:
    return "/auth/signin?next=" + quote(next_path, safe="/")


# What just happened, said once on the page a form leads to (``?done=<key>``): only these
# words, never text from the address.
NOTICES = {
    "signed-up": "Welcome: your account is ready and you are signed in.",
    "signed-out": "You are signed out. See you soon.",
    "listed": "Your ticket is listed: it is on the front page for everyone to buy.",
}


def with_notice(path: str, done: str) -> str:
    """``path`` with the notice of what was just done."""
    assert done in NOTICES
    parts = urlsplit(path)
    query = f"{parts.query}&done={done}" if parts.query else f"done={done}"
    return parts._replace(query=query).geturl()


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["money"] = money
    env.filters["clock"] = clock
    env.filters["remaining"] = remaining
    env.filters["duration"] = duration
    env.globals["order_state"] = order_state
    env.globals["csrf_token"] = current_token
    return env


ENVIRONMENT = _environment()


def _static_version() -> str:
    """Changes whenever a static file does, so browsers never keep a stale copy."""
    newest = max((p.stat().st_mtime_ns for p in STATIC.iterdir() if p.is_file()), default=0)
    return format(newest, "x")[-8:]


STATIC_VERSION = _static_version()


def render(template: str, **context: Any) -> str:
    return ENVIRONMENT.get_template(template).render(**context)


def page(
    request: Request,
    api: Api | None,
    template: str,
    *,
    user: dict[str, Any] | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    settings: WebSettings = request.app.state.settings
    context.setdefault("settings", settings)
    html = render(
        template,
        request=request,
        user=user,
        path=request.url.path,
        static_version=STATIC_VERSION,
        server_now=datetime.now(UTC).isoformat(),
        notice=NOTICES.get(request.query_params.get("done", "")),
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    return api.pass_cookies(response) if api is not None else response


def fragment(api: Api, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return api.pass_cookies(HTMLResponse(render(template, **context), status_code=status_code))


def redirect(api: Api, url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    api.pass_cookies(response)
    return response
