"""The ticket as the buyer uses it, in a real browser against the real stack: the buyer
pays and sees the QR code; at /gate the seller's old code is void and the buyer's valid;
check-in, then a second scan says used; the buyer relists it and a third user buys it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.cards import VISA
from tests.support.stack import RunningStack
from tests.web.conftest import PASSWORD, Visitor
from tests.web.test_rough_edges import wait_until
from tests.web.test_shop import SETTLE_MS, STATE, unique

NewVisitor = Callable[..., Visitor]
Screenshot = Callable[[Page, str], Path]
ROOT = Path(__file__).resolve().parents[2]


def grant_gate(shop: RunningStack, email: str) -> None:
    granted = subprocess.run(
        [sys.executable, "-m", "services.cli", "admin", "grant", "--role", "gate", email],
        cwd=ROOT,
        env=shop.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert granted.returncode == 0, granted.stderr


def code_text(page: Page) -> str:
    return page.locator("[data-code-text]").first.inner_text().strip()


def scan(gate: Visitor, code: str, button: str = "Check") -> Page:
    page = gate.go("/gate")
    page.get_by_label("Entry code").fill(code)
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()
    return page


def verdict(page: Page) -> str:
    return page.locator("[data-verdict]").get_attribute("data-verdict") or ""


def buy_and_pay(buyer: Visitor, ticket: str) -> Page:
    buyer.buy(ticket)
    page = buyer.page
    buyer.pay(VISA)
    expect(page.locator(STATE)).to_have_attribute("data-order-state", "complete", timeout=SETTLE_MS)
    return page


def test_the_buyers_code_lets_in_once_the_sellers_is_void_and_it_sells_on(
    visitor: NewVisitor, shop: RunningStack, screenshot: Screenshot
) -> None:
    staff = visitor().sign_up()
    grant_gate(shop, staff.email)
    gate = visitor()
    gate.go("/auth/signin")
    gate.sign_in(staff.email, PASSWORD)
    gate.page.wait_for_url(gate.base + "/")

    seller = visitor().sign_up()
    title = unique("Final")
    ticket = seller.sell(title, "40")
    ticket_id = ticket.rsplit("/", 1)[-1]
    seller_code = code_text(seller.go(f"/tickets/{ticket_id}/entry-code"))

    buyer = visitor().sign_up()
    order_page = buy_and_pay(buyer, ticket)
    # The QR code arrives on the order page itself once it completes.
    expect(order_page.locator("[data-entry-code] svg")).to_be_visible(timeout=SETTLE_MS)
    buyer_code = code_text(order_page)
    assert buyer_code != seller_code
    screenshot(order_page, "order-entry-code")
    held = buyer.go("/my/tickets").locator(f"[data-held-ticket-id='{ticket_id}']")
    expect(held.locator("[data-entry-code] svg")).to_be_visible()
    expect(held.locator("[data-code-text]")).to_have_text(buyer_code)

    page = scan(gate, seller_code)
    assert verdict(page) == "void"
    expect(page.locator("[data-verdict]")).to_contain_text("This code was replaced on")
    page = scan(gate, buyer_code)
    assert verdict(page) == "valid"
    expect(page.locator("[data-verdict]")).to_contain_text(title)
    screenshot(page, "gate-valid")
    assert verdict(scan(gate, buyer_code, "Check in")) == "checked-in"
    page = scan(gate, buyer_code, "Check in")
    assert verdict(page) == "used"
    expect(page.locator("[data-verdict]")).to_contain_text("already checked in at")
    # Anyone else is refused at the gate.
    assert verdict(scan(buyer, buyer_code)) == "forbidden"


def test_the_buyer_relists_the_ticket_and_a_third_user_buys_it(
    visitor: NewVisitor, shop: RunningStack
) -> None:
    seller = visitor().sign_up()
    title = unique("Encore")
    ticket = seller.sell(title, "40")
    buyer = visitor().sign_up()
    buy_and_pay(buyer, ticket)

    # The seller is told: a Notices count, the notice, and an e-mail in the catcher.
    home = seller.go("/")
    expect(home.locator("[data-unread]")).to_be_visible(timeout=SETTLE_MS)
    notices = seller.go("/notices")
    expect(notices.locator("[data-notice-kind='sold']", has_text=title)).to_have_count(1)
    expect(seller.go("/").locator("[data-unread]")).to_have_count(0)
    inbox = Path(shop.env["DATA_DIR"]) / "mail" / "new"

    def mailed() -> bool:
        sent = [path.read_text(errors="replace") for path in inbox.glob("*")]
        return any(f"Subject: Your ticket sold: {title}" in text for text in sent)

    wait_until(mailed, "the seller's e-mail in the mail catcher")

    held = buyer.go("/my/tickets").locator("[data-held-ticket-id]", has_text=title)
    held.get_by_role("link", name="Sell this ticket").click()
    page = buyer.page
    page.get_by_label("Price (USD)").fill("55")
    page.get_by_role("button", name="Sell this ticket").click()
    page.wait_for_url(f"{buyer.base}/tickets/*")
    relisted = page.url.removeprefix(buyer.base)
    assert relisted != ticket

    third = visitor().sign_up()
    order_page = buy_and_pay(third, relisted)
    expect(order_page.locator("[data-entry-code] svg")).to_be_visible(timeout=SETTLE_MS)
    expect(third.go("/my/tickets").locator("[data-held-ticket-id]", has_text=title)).to_have_count(
        1
    )
