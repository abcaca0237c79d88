"""What people do in the shop, in a real browser against the real stack (short window)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import httpx
from playwright.sync_api import Page, expect

from tests.support.cards import DECLINED, NEEDS_3DS, VISA
from tests.support.stack import RunningStack
from tests.web.conftest import WINDOW_SECONDS, Visitor

Screenshot = Callable[[Page, str], Path]
NewVisitor = Callable[..., Visitor]
# The saga's steps after a deadline or a payment: event lag plus the workflow's timers.
SETTLE_MS = 15_000
# The order's state as the page shows it.
STATE = "#order-status > [data-order-state]"


def unique(title: str) -> str:
    return f"{title} {uuid4().hex[:6]}"


def ticket_status(page: Page) -> str:
    return page.locator("[data-ticket-status] [data-status]").get_attribute("data-status") or ""


def order_state(page: Page) -> str:
    return page.locator(STATE).first.get_attribute("data-order-state") or ""


def mark_page(page: Page) -> None:
    """A mark that a reload would wipe: the page must change without one."""
    page.evaluate("window.__notReloaded = true")


def not_reloaded(page: Page) -> bool:
    return bool(page.evaluate("window.__notReloaded === true"))


def for_sale_titles(visitor: Visitor) -> list[str]:
    page = visitor.go("/")
    return page.locator(".tickets .title").all_inner_texts()


def test_a_seller_lists_a_ticket_and_finds_it_on_the_front_page_and_under_my_tickets(
    visitor: NewVisitor, screenshot: Screenshot
) -> None:
    seller = visitor().sign_up()
    header = seller.page.locator("header.site")
    expect(header).to_contain_text(seller.email)
    for link in ("Sell tickets", "My tickets", "My orders", "Sign out"):
        expect(
            header.get_by_role("link", name=link).or_(header.get_by_role("button", name=link))
        ).to_be_visible()
    title = unique("Jazz night")
    path = seller.sell(title, "42.50")
    page = seller.page
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator("[data-price]")).to_have_text("$42.50")
    assert ticket_status(page) == "available"
    expect(page.get_by_role("button", name="Buy for")).to_have_count(0)  # not one's own
    expect(page.get_by_label("Title")).to_have_value(title)
    screenshot(page, "ticket")

    home = seller.go("/")
    row = home.locator(".ticket-row", has_text=title)
    expect(row).to_contain_text("$42.50")
    row.get_by_role("link").click()
    home.wait_for_url(seller.base + path)

    mine = seller.go("/my/tickets")
    listed = mine.locator("tr", has_text=title)
    expect(listed).to_contain_text("For sale")
    expect(listed).to_contain_text("$42.50")


def test_a_buyer_pays_and_the_order_turns_complete_by_itself(
    visitor: NewVisitor, screenshot: Screenshot
) -> None:
    seller = visitor().sign_up()
    title = unique("Opera")
    ticket = seller.sell(title, "30")
    buyer = visitor().sign_up()
    order = buyer.buy(ticket)
    page = buyer.page
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    assert order_state(page) == "awaiting"
    countdown = page.locator("[data-countdown]")
    first = countdown.inner_text()
    assert re.fullmatch(r"\d+:\d\d", first), first
    page.wait_for_timeout(1_500)
    assert countdown.inner_text() != first, "the countdown does not count"
    expect(page.locator(".test-cards")).to_contain_text("4242 4242 4242 4242")
    expect(page.locator(".test-cards")).to_contain_text("4000 0000 0000 0341")
    screenshot(page, "order-awaiting-payment")

    mark_page(page)
    buyer.pay(VISA)
    expect(page.locator(STATE)).to_have_attribute("data-order-state", "complete", timeout=SETTLE_MS)
    expect(page.locator("#order-status")).to_contain_text("Complete")
    expect(page.locator("#pay-form")).to_have_count(0)
    assert not_reloaded(page)
    screenshot(page, "order-complete")

    orders = buyer.go("/orders")
    row = orders.locator("tr", has_text=title)
    expect(row).to_contain_text("Complete")
    expect(row.get_by_role("link")).to_have_attribute("href", order)
    screenshot(orders, "my-orders")

    assert title not in for_sale_titles(buyer)
    shown = buyer.go(ticket)
    assert ticket_status(shown) == "sold"
    # The seller sees it sold too.
    assert ticket_status(seller.go(ticket)) == "sold"
    expect(seller.go("/my/tickets").locator("tr", has_text=title)).to_contain_text("Sold")


def test_a_declined_card_shows_the_decline_and_another_card_succeeds(
    visitor: NewVisitor, screenshot: Screenshot
) -> None:
    seller = visitor().sign_up()
    ticket = seller.sell(unique("Ballet"), "18")
    buyer = visitor().sign_up()
    buyer.buy(ticket)
    page = buyer.page
    mark_page(page)
    buyer.pay(DECLINED)
    outcome = page.locator("#pay-message [data-pay-outcome='declined']")
    expect(outcome).to_contain_text("declined", ignore_case=True, timeout=SETTLE_MS)
    assert order_state(page) == "awaiting"
    expect(page.locator("#pay-form")).to_be_visible()
    screenshot(page, "order-declined")

    # The same form, another card.
    buyer.pay(VISA)
    expect(page.locator(STATE)).to_have_attribute("data-order-state", "complete", timeout=SETTLE_MS)
    assert not_reloaded(page)


def test_a_card_that_needs_the_banks_confirmation_completes_once_confirmed(
    visitor: NewVisitor, screenshot: Screenshot
) -> None:
    seller = visitor().sign_up()
    ticket = seller.sell(unique("Recital"), "22")
    buyer = visitor().sign_up()
    buyer.buy(ticket)
    page = buyer.page
    mark_page(page)
    buyer.pay(NEEDS_3DS)
    # Stripe.js asks the buyer (localstripe's stand-in of the bank's page).
    confirm = page.get_by_role("button", name="Complete authentication")
    expect(confirm).to_be_visible(timeout=SETTLE_MS)
    expect(page.locator("#pay-message")).to_contain_text("Your bank asks you to confirm")
    screenshot(page, "order-3d-secure")
    confirm.click()

    expect(page.locator(STATE)).to_have_attribute("data-order-state", "complete", timeout=SETTLE_MS)
    expect(page.locator("#pay-form")).to_have_count(0)
    assert not_reloaded(page)


def test_a_failed_bank_confirmation_shows_it_and_another_card_succeeds(
    visitor: NewVisitor,
) -> None:
    seller = visitor().sign_up()
    ticket = seller.sell(unique("Quartet"), "16")
    buyer = visitor().sign_up()
    buyer.buy(ticket)
    page = buyer.page
    mark_page(page)
    buyer.pay(NEEDS_3DS)
    page.get_by_role("button", name="Fail authentication").click(timeout=SETTLE_MS)

    outcome = page.locator("#pay-message [data-pay-outcome='declined']")
    expect(outcome).to_contain_text("another card", timeout=SETTLE_MS)
    assert order_state(page) == "awaiting"
    expect(page.locator("[data-pay-button]")).to_be_enabled()

    buyer.pay(VISA)
    expect(page.locator(STATE)).to_have_attribute("data-order-state", "complete", timeout=SETTLE_MS)
    assert not_reloaded(page)


def test_an_unpaid_order_expires_at_its_deadline_and_the_ticket_is_for_sale_again(
    visitor: NewVisitor, screenshot: Screenshot
) -> None:
    seller = visitor().sign_up()
    title = unique("Derby")
    ticket = seller.sell(title, "55")
    buyer = visitor().sign_up()
    bought_at = time.monotonic()
    buyer.buy(ticket)
    page = buyer.page
    mark_page(page)
    assert title not in for_sale_titles(visitor())
    # Still awaiting payment shortly before the deadline.
    page.wait_for_timeout(max(0, (WINDOW_SECONDS - 3) - (time.monotonic() - bought_at)) * 1000)
    assert order_state(page) == "awaiting"
    # The countdown runs down to the end, then the page turns Expired by itself.
    expect(page.locator("[data-countdown]")).to_have_text(re.compile(r"^0:0[0-2]$"), timeout=5_000)
    expect(page.locator(STATE)).to_have_attribute("data-order-state", "expired", timeout=SETTLE_MS)
    assert time.monotonic() - bought_at >= WINDOW_SECONDS - 1
    expect(page.locator("#order-status")).to_contain_text("Expired")
    expect(page.locator("#pay-form")).to_have_count(0)
    assert not_reloaded(page)
    screenshot(page, "order-expired")

    assert title in for_sale_titles(buyer)
    assert ticket_status(buyer.go(ticket)) == "available"


def test_cancel_releases_the_ticket(visitor: NewVisitor) -> None:
    seller = visitor().sign_up()
    title = unique("Circus")
    ticket = seller.sell(title, "12")
    buyer = visitor().sign_up()
    buyer.buy(ticket)
    page = buyer.page
    mark_page(page)
    buyer.cancel_order()
    expect(page.locator(STATE)).to_have_attribute(
        "data-order-state", "cancelled", timeout=SETTLE_MS
    )
    expect(page.locator("#order-status")).to_contain_text("Cancelled")
    assert not_reloaded(page)

    def released() -> bool:
        return title in for_sale_titles(buyer)

    deadline = time.monotonic() + SETTLE_MS / 1000
    while not released():
        assert time.monotonic() < deadline, "the ticket was not released"
        buyer.page.wait_for_timeout(250)
    assert ticket_status(buyer.go(ticket)) == "available"


def test_the_sellers_edit_is_refused_while_reserved_and_succeeds_after_release(
    visitor: NewVisitor,
) -> None:
    seller = visitor().sign_up()
    title = unique("Comedy")
    ticket = seller.sell(title, "20")
    page = seller.go(ticket)  # the form, while the ticket is for sale
    buyer = visitor().sign_up()
    buyer.buy(ticket)

    page.get_by_label("Price (USD)").fill("25")
    page.get_by_role("button", name="Save changes").click()
    # Refused: the page says why editing waits, and the form shows the real price.
    expect(page.locator("[data-edit-waits]")).to_contain_text("A buyer is paying for this ticket")
    expect(page.get_by_label("Price (USD)")).to_have_value("20.00")
    expect(page.get_by_label("Price (USD)")).to_be_disabled()
    assert ticket_status(page) == "reserved"
    # My tickets says until when (the tickets service learns the deadline from order.created).
    deadline = time.monotonic() + SETTLE_MS / 1000
    while (
        "until" not in (row := seller.go("/my/tickets").locator("tr", has_text=title)).inner_text()
    ):
        assert time.monotonic() < deadline, "My tickets never says until when"
        seller.page.wait_for_timeout(250)
    expect(row).to_contain_text("Reserved")

    buyer.cancel_order()
    expect(buyer.page.locator(STATE)).to_have_attribute(
        "data-order-state", "cancelled", timeout=SETTLE_MS
    )
    deadline = time.monotonic() + SETTLE_MS / 1000
    while ticket_status(page := seller.go(ticket)) != "available":
        assert time.monotonic() < deadline, "the ticket was not released"
        page.wait_for_timeout(250)
    page.get_by_label("Title").fill(title + " (moved)")
    page.get_by_label("Price (USD)").fill("25")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.locator("[data-price]")).to_have_text("$25.00")
    expect(page.get_by_role("heading", level=1)).to_have_text(title + " (moved)")


def test_a_signed_out_visitor_who_clicks_buy_signs_in_and_comes_back_to_the_ticket(
    visitor: NewVisitor, shop: RunningStack
) -> None:
    seller = visitor().sign_up()
    ticket = seller.sell(unique("Theatre"), "15")
    account = visitor().sign_up()
    account.context.clear_cookies()

    stranger = visitor()
    page = stranger.go(ticket)
    expect(page.locator("header.site")).to_contain_text("Sign in")
    page.get_by_role("button", name="Buy for").click()
    page.wait_for_url(re.compile(r"/auth/signin\?next="))
    stranger.sign_in(account.email)
    page.wait_for_url(stranger.base + ticket)
    expect(page.locator("header.site")).to_contain_text(account.email)
    page.get_by_role("button", name="Buy for").click()
    page.wait_for_url(f"{stranger.base}/orders/*")
    assert order_state(page) == "awaiting"


def test_sign_up_errors_appear_beside_their_fields(
    visitor: NewVisitor, screenshot: Screenshot
) -> None:
    taken = visitor().sign_up()
    page = visitor().go("/auth/signup")
    page.get_by_label("Email").fill(taken.email)
    page.get_by_label("Password").fill(PASSWORD_OK)
    page.get_by_role("button", name="Create account").click()
    email_error = page.locator("[data-field-error='email']")
    expect(email_error).to_contain_text("in use")
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Email")).to_have_value(taken.email)

    page.get_by_label("Email").fill(f"{uuid4().hex[:10]}@example.com")
    page.get_by_label("Password").fill("ab")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("[data-field-error='password']")).to_contain_text("8 to 128 characters")
    expect(page.locator("[data-field-error='email']")).to_have_count(0)
    expect(page.get_by_label("Password")).to_have_attribute(
        "aria-describedby", "password-error password-hint"
    )
    screenshot(page, "sign-up-errors")


PASSWORD_OK = "longenough"


def test_with_javascript_off_a_visitor_browses_signs_in_and_sells(visitor: NewVisitor) -> None:
    account = visitor().sign_up()
    seller = visitor().sign_up()
    listed = unique("Quiet concert")
    ticket = seller.sell(listed, "9.99")

    plain = visitor(javascript=False)
    page = plain.go("/")
    expect(page.locator(".ticket-row", has_text=listed)).to_be_visible()
    page.locator(".ticket-row", has_text=listed).get_by_role("link").click()
    page.wait_for_url(plain.base + ticket)
    page.get_by_role("link", name="Sign in").click()
    plain.sign_in(account.email)
    page.wait_for_url(plain.base + "/")
    expect(page.locator("header.site")).to_contain_text(account.email)
    title = unique("Sold without scripts")
    path = plain.sell(title, "11")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    assert title in for_sale_titles(plain)

    # The order page still shows status and deadline, and refreshes itself.
    order = plain.buy(ticket)
    page = plain.page
    expect(page.locator("#order-status")).to_contain_text("Awaiting payment")
    expect(page.locator("[data-countdown]")).to_have_text(re.compile(r"\d+:\d\d"))
    expect(page.get_by_text("Paying needs JavaScript")).to_be_visible()
    expect(page.locator("#pay-form")).to_be_hidden()
    # It refreshes itself.
    with page.expect_event("load", timeout=8_000):
        pass
    expect(page.locator("#order-status")).to_contain_text("Awaiting payment")
    plain.cancel_order()
    page.wait_for_url(plain.base + order)
    assert path


def test_unknown_pages_and_missing_things_get_the_404_page(
    visitor: NewVisitor, shop: RunningStack
) -> None:
    someone = visitor()
    for path in ("/no/such/page", "/tickets/not-a-ticket", f"/tickets/{uuid4()}"):
        response = someone.page.goto(someone.base + path)
        assert response is not None and response.status == 404, path
        expect(someone.page.get_by_role("heading", level=1)).to_have_text("Page not found")
        expect(someone.page.locator("header.site .brand")).to_be_visible()
    api = httpx.get(shop.url("API_PORT") + "/api/nope")
    assert api.status_code == 404
    assert api.json() == {"errors": [{"message": "Not found"}]}


def test_the_front_page_fits_a_phone(visitor: NewVisitor, screenshot: Screenshot) -> None:
    phone = visitor(phone=True).sign_up()
    page = phone.go("/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    screenshot(page, "phone")
    # Last in the module, so the front page has the other tests' tickets on it.
    screenshot(visitor().go("/"), "tickets-for-sale")


def test_the_front_page_shows_twenty_tickets_a_page_with_next_and_previous(
    visitor: NewVisitor, shop: RunningStack
) -> None:
    seller = visitor().sign_up()
    token = next(c["value"] for c in seller.context.cookies() if c["name"] == "session")
    with httpx.Client(base_url=shop.url("API_PORT"), cookies={"session": token}) as api:
        for index in range(21):
            listed = api.post("/api/tickets", json={"title": f"Page {index}", "price": 5})
            assert listed.status_code == 201, listed.text
    page = visitor().go("/")
    first = page.locator(".tickets .title").all_inner_texts()
    assert len(first) == 20
    expect(page.get_by_role("link", name="← Previous")).to_have_count(0)
    page.get_by_role("link", name="Next →").click()
    page.wait_for_url(re.compile(r"/\?page=2$"))
    second = page.locator(".tickets .title").all_inner_texts()
    assert second and not set(second) & set(first)
    page.get_by_role("link", name="← Previous").click()
    page.wait_for_url(re.compile(r"/\?page=1$"))
    assert page.locator(".tickets .title").all_inner_texts() == first
