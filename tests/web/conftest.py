"""The web shop's browser tests: one embedded stack (`ticketing up`) with a short payment
window, and headless Chromium from the distribution's packages, driven by Playwright.

Setting ``TICKETING_SCREENSHOTS_DIR`` (e.g. ``docs``) keeps the pictures of the main pages
that the tests take (the pictures in docs/ come from there).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)

from tests.support.stack import RunningStack

# Long enough to type a card twice; short enough that the expiry test waits only this.
WINDOW_SECONDS = 12
PASSWORD = "secret-password-1"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE: ViewportSize = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests run after every asyncio test here, whatever their files' names.

    Playwright's synchronous API keeps an event loop running in the test process from its
    first use to the end of the session, and an asyncio test started while it runs fails
    ("Runner.run() cannot be called from a running event loop")."""
    items.sort(key=lambda item: "playwright" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = RunningStack(
        Path(tmp_path_factory.mktemp("web")) / "var",
        ORDER_EXPIRATION_SECONDS=str(WINDOW_SECONDS),
        # Every visitor of the tests signs up from the same address.
        SIGNUPS_PER_ADDRESS="1000/hour",
        # The shop's own long polls, short enough that a test sees several of them.
        WEB_ORDER_WAIT_SECONDS="5",
    )
    stack.start()
    yield stack
    code, _children = stack.stop()
    assert code == 0


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: scripts/preflight installs it (make test does)")
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@dataclass
class Visitor:
    page: Page
    context: BrowserContext
    base: str
    email: str = ""

    def go(self, path: str) -> Page:
        self.page.goto(self.base + path)
        return self.page

    def sign_up(self, email: str | None = None, password: str = PASSWORD) -> Visitor:
        self.email = email or f"{uuid4().hex[:10]}@example.com"
        page = self.go("/auth/signup")
        page.get_by_label("Email").fill(self.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url(re.compile(re.escape(self.base) + r"/(\?done=signed-up)?$"))
        return self

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        page = self.page
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()

    def sell(self, title: str, price: str) -> str:
        """Lists a ticket through the form; returns its page's path."""
        page = self.go("/tickets/new")
        page.get_by_label("Title").fill(title)
        page.get_by_label("Price (USD)").fill(price)
        page.get_by_role("button", name="Sell ticket").click()
        page.wait_for_url(re.compile(re.escape(self.base) + r"/tickets/[^/?]+\?done=listed$"))
        return page.url.removeprefix(self.base).split("?", 1)[0]

    def buy(self, ticket_path: str) -> str:
        """Buys from the ticket's page; returns the order page's path."""
        page = self.go(ticket_path)
        page.get_by_role("button", name="Buy for").click()
        page.wait_for_url(f"{self.base}/orders/*")
        return page.url.removeprefix(self.base)

    def pay(self, number: str) -> None:
        page = self.page
        page.get_by_label("Card number").fill(number)
        page.get_by_label("Expiry month").fill("12")
        page.get_by_label("Expiry year").fill("34")
        page.get_by_label("CVC").fill("123")
        page.get_by_label("Postal code").fill("10001")
        page.get_by_role("button", name="Pay").click()

    def cancel_order(self) -> None:
        """Cancel order, then confirm (in the dialog, or on the page that asks)."""
        page = self.page
        page.get_by_role("button", name="Cancel order").click()
        page.get_by_role("button", name="Yes, cancel the order").click()


@pytest.fixture
def visitor(browser: Browser, shop: RunningStack) -> Iterator[Callable[..., Visitor]]:
    contexts: list[BrowserContext] = []

    def new(*, javascript: bool = True, phone: bool = False) -> Visitor:
        context = browser.new_context(
            java_script_enabled=javascript, viewport=PHONE if phone else None
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return Visitor(context.new_page(), context, shop.url("API_PORT"))

    yield new
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def screenshot(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Page, str], Path]:
    """Takes a picture of the page (always, so that it works); keeps it where asked."""
    keep = os.environ.get("TICKETING_SCREENSHOTS_DIR")
    scratch = tmp_path_factory.mktemp("screenshots")

    def take(page: Page, name: str) -> Path:
        path = scratch / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, Path(keep) / path.name)
        return path

    return take
