"""The shop's rough edges a newcomer met, each walked through in a real browser: long titles,
the password rule, the test cards, a reserved ticket's edit, form errors, a ticket someone
else is paying for, why one is signing in, confirmations, throttles, the phone header and
the first visit."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import httpx
from playwright.sync_api import Page, ViewportSize, expect

from services.common.identity.passwords import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from tests.support.cards import VISA
from tests.support.stack import RunningStack
from tests.web.conftest import PASSWORD, PHONE, WINDOW_SECONDS, Visitor
from tests.web.test_shop import SETTLE_MS, STATE, order_state, unique

Screenshot = Callable[[Page, str], Path]
NewVisitor = Callable[..., Visitor]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


def scrolls_sideways(page: Page) -> int:
    """How far the page scrolls sideways (0: it fits)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def focused_id(page: Page) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def wait_until(check: Callable[[], bool], what: str, seconds: float = SETTLE_MS / 1000) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.25)


def test_a_200_character_title_without_spaces_wraps_on_every_page_and_width(
    visitor: NewVisitor,
) -> None:
    title = "W" * 190 + uuid4().hex[:10]
    assert len(title) == 200
    seller = visitor().sign_up()
    ticket = seller.sell(title, "10")
    for phone in (False, True):
        someone = visitor(phone=phone)
        someone.page.set_viewport_size(PHONE if phone else DESKTOP)
        for path in ("/", ticket):
            page = someone.go(path)
            expect(page.get_by_text(title).first).to_be_visible()
            assert scrolls_sideways(page) == 0, f"{path} scrolls sideways (phone: {phone})"
    # The seller's own views of it, too.
    for path in ("/my/tickets", ticket):
        assert scrolls_sideways(seller.go(path)) == 0, path


def test_the_password_hint_is_the_rule_the_api_enforces(
    visitor: NewVisitor, shop: RunningStack
) -> None:
    page = visitor().go("/auth/signup")
    rule = f"{PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters"
    expect(page.locator("#password-hint")).to_have_text(rule)

    with httpx.Client(base_url=shop.url("API_PORT")) as api:
        short = api.post(
            "/api/users/signup",
            json={"email": f"{uuid4().hex[:10]}@example.com", "password": "x" * 7},
        )
        assert short.status_code == 400
        assert str(PASSWORD_MIN_LENGTH) in short.text

    page.get_by_label("Email").fill(f"{uuid4().hex[:10]}@example.com")
    page.get_by_label("Password").fill("x" * (PASSWORD_MIN_LENGTH - 1))
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("[data-field-error='password']")).to_contain_text(rule)
    page.get_by_label("Password").fill("x" * PASSWORD_MIN_LENGTH)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(re.compile(r"/\?done=signed-up$"))


def test_the_test_cards_are_taken_as_shown_and_a_providers_error_is_a_sentence(
    visitor: NewVisitor,
) -> None:
    seller = visitor().sign_up()
    ticket = seller.sell(unique("Cards"), "14")
    buyer = visitor().sign_up()
    buyer.buy(ticket)
    page = buyer.page
    shown = page.locator(".test-cards code").first.inner_text()
    assert shown == "4242 4242 4242 4242"

    number = page.get_by_label("Card number")
    # Too short: the stand-in's answer is "Bad request"; the buyer reads a sentence.
    number.fill("4242")
    page.get_by_label("Expiry month").fill("12")
    page.get_by_label("Expiry year").fill("34")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Pay").click()
    said = page.locator("#pay-message [data-pay-outcome='declined']")
    expect(said).to_contain_text("Check its number, expiry and CVC", timeout=SETTLE_MS)
    assert "Bad request" not in said.inner_text()

    # Typed as shown, spaces and all: the digits stay in the number field.
    number.fill("")
    number.press_sequentially(shown)
    expect(number).to_have_value(VISA)
    expect(page.get_by_label("Expiry month")).to_have_value("12")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator(STATE)).to_have_attribute("data-order-state", "complete", timeout=SETTLE_MS)

    # Pasted as shown, on another order.
    ticket = seller.sell(unique("Cards again"), "15")
    buyer.buy(ticket)
    page = buyer.page
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    expect(page.get_by_label("Card number")).to_have_value(VISA)
    page.get_by_label("Expiry month").fill("12")
    page.get_by_label("Expiry year").fill("34")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator(STATE)).to_have_attribute("data-order-state", "complete", timeout=SETTLE_MS)


def test_a_reserved_tickets_seller_sees_why_editing_waits_and_until_when(
    visitor: NewVisitor, screenshot: Screenshot
) -> None:
    seller = visitor().sign_up()
    ticket = seller.sell(unique("Stand-up"), "20")
    buyer = visitor().sign_up()
    buyer.buy(ticket)

    def says_until() -> bool:
        return seller.go(ticket).locator("[data-edit-waits] time").count() == 1

    wait_until(says_until, "the seller's page never says until when")
    page = seller.page
    expect(page.locator("[data-edit-waits]")).to_contain_text("A buyer is paying for this ticket")
    expect(page.locator("[data-edit-waits]")).to_contain_text("payment window ends at")
    expect(page.get_by_label("Price (USD)")).to_have_value("20.00")
    expect(page.get_by_label("Price (USD)")).to_be_disabled()
    expect(page.get_by_role("button", name="Save changes")).to_be_disabled()
    screenshot(page, "ticket-reserved")


def test_form_errors_are_sentences_with_an_example_and_focus_the_first_field_in_error(
    visitor: NewVisitor,
) -> None:
    seller = visitor().sign_up()
    page = seller.go("/tickets/new")
    page.get_by_label("Title").fill(unique("Gig"))
    page.get_by_label("Price (USD)").fill("25,50")
    page.get_by_role("button", name="Sell ticket").click()
    price_error = page.locator("[data-field-error='price']")
    expect(price_error).to_have_text(
        "Write the cents after a point, not a comma, e.g. 25 or 25.50."
    )
    assert focused_id(page) == "price"

    page.get_by_label("Title").fill("")
    page.get_by_label("Price (USD)").fill("cheap")
    page.get_by_role("button", name="Sell ticket").click()
    expect(page.locator("[data-field-error='title']")).to_contain_text("Enter a title, e.g.")
    expect(price_error).to_contain_text("e.g. 25 or 25.50")
    assert focused_id(page) == "title"
    for said in page.locator("[data-field-error]").all_inner_texts():
        assert said.endswith(".") and "Input should" not in said, said

    # A dollar sign is fine: the field is in dollars.
    title = unique("Gig")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Price (USD)").fill("$25")
    page.get_by_role("button", name="Sell ticket").click()
    page.wait_for_url(re.compile(r"/tickets/[^/?]+\?done=listed$"))
    expect(page.locator("[data-price]")).to_have_text("$25.00")

    # The edit form says the same.
    page.get_by_label("Price (USD)").fill("0")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("[data-field-error='price']")).to_have_text(
        "The price must be more than $0, e.g. 25 or 25.50."
    )
    assert focused_id(page) == "price"


def test_a_ticket_someone_else_is_paying_for_says_until_when_and_the_way_back(
    visitor: NewVisitor, shop: RunningStack
) -> None:
    seller = visitor().sign_up()
    ticket = seller.sell(unique("Final"), "40")
    late = visitor().sign_up()
    page = late.go(ticket)  # Buy on screen, before the other buyer's
    visitor().sign_up().buy(ticket)

    def announced() -> bool:
        shown = httpx.get(shop.url("API_PORT") + "/api" + ticket).json()
        return bool(shown.get("reservedUntil"))

    wait_until(announced, "the ticket's window never reached the tickets service")
    page.get_by_role("button", name="Buy for").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Someone else is paying for this ticket")
    expect(alert).to_contain_text(re.compile(r"If they have not paid by \d\d:\d\d:\d\d UTC"))
    page.get_by_role("link", name="See the tickets for sale").click()
    page.wait_for_url(late.base + "/")


def test_the_sign_in_page_says_which_ticket_the_visitor_is_buying(visitor: NewVisitor) -> None:
    seller = visitor().sign_up()
    title = unique("Matinee")
    ticket = seller.sell(title, "12")
    stranger = visitor()
    page = stranger.go(ticket)
    page.get_by_role("button", name="Buy for").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Sign in to buy {title}")
    page.get_by_role("link", name="Sign up").last.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Sign up to buy {title}")
    # Signing in from the header is just signing in.
    expect(stranger.go("/auth/signin").get_by_role("heading", level=1)).to_have_text("Sign in")


def test_signing_up_listing_and_signing_out_each_say_so(visitor: NewVisitor) -> None:
    someone = visitor().sign_up()
    page = someone.page
    expect(page.locator("[data-notice]")).to_contain_text("Welcome")
    someone.sell(unique("Noticed"), "8")
    expect(page.locator("[data-notice]")).to_contain_text("Your ticket is listed")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/\?done=signed-out$"))
    expect(page.locator("[data-notice]")).to_have_text("You are signed out. See you soon.")
    expect(page.locator("header.site")).to_contain_text("Sign in")


def test_cancel_asks_first_with_and_without_javascript(
    visitor: NewVisitor, screenshot: Screenshot
) -> None:
    seller = visitor().sign_up()
    ticket = seller.sell(unique("Maybe"), "9")
    buyer = visitor().sign_up()
    order = buyer.buy(ticket)
    page = buyer.page
    page.get_by_role("button", name="Cancel order").click()
    dialog = page.get_by_role("dialog", name="Cancel this order?")
    expect(dialog).to_be_visible()
    screenshot(page, "order-cancel-asks")
    dialog.get_by_role("button", name="Keep my order").click()
    expect(dialog).to_be_hidden()
    page.wait_for_timeout(500)
    assert order_state(page) == "awaiting"
    buyer.cancel_order()
    expect(page.locator(STATE)).to_have_attribute(
        "data-order-state", "cancelled", timeout=SETTLE_MS
    )

    plain = visitor(javascript=False)
    plain.go("/auth/signin?next=/")
    plain.sign_in(buyer.email, PASSWORD)
    plain.page.wait_for_url(plain.base + "/")
    ticket = seller.sell(unique("Maybe not"), "9")
    order = plain.buy(ticket)
    page = plain.page
    page.get_by_role("button", name="Cancel order").click()
    page.wait_for_url(re.compile(re.escape(plain.base + order) + r"/cancel\??$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel this order?")
    page.get_by_role("link", name="Keep my order").click()
    page.wait_for_url(plain.base + order)
    assert order_state(page) == "awaiting"
    plain.cancel_order()
    page.wait_for_url(plain.base + order)
    expect(page.locator("#order-status")).to_contain_text("Cancelled", timeout=SETTLE_MS)


def test_a_throttled_sign_in_says_when_to_try_again(visitor: NewVisitor) -> None:
    account = visitor().sign_up()
    someone = visitor()
    page = someone.go("/auth/signin")
    for _ in range(5):  # SIGNIN_FAILURES_PER_ACCOUNT: 5 in 15 minutes
        someone.sign_in(account.email, "not-the-password")
        expect(page.get_by_role("alert")).to_contain_text("do not match an account")
    someone.sign_in(account.email, "not-the-password")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Too many failed sign-ins for this account.")
    expect(alert).to_contain_text(re.compile(r"Try again in 1[45] minutes \(at \d\d:\d\d UTC\)\."))
    assert "later" not in alert.inner_text()


def test_the_phone_header_is_one_row_with_a_menu_button(
    visitor: NewVisitor, screenshot: Screenshot
) -> None:
    phone = visitor(phone=True).sign_up()
    page = phone.go("/")
    header = page.locator("header.site")
    box = header.bounding_box()
    assert box is not None and box["height"] <= 64, f"the header is {box} tall on a phone"
    menu = page.get_by_role("button", name="Menu")
    expect(page.get_by_role("link", name="My orders")).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("link", name="My orders")).to_be_visible()
    screenshot(page, "phone-menu")
    page.get_by_role("link", name="My orders").click()
    page.wait_for_url(phone.base + "/orders")

    desktop = visitor().sign_up()
    page = desktop.go("/")
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("link", name="My orders")).to_be_visible()


def test_a_first_visit_says_what_ticketing_is_and_how_buying_works(
    visitor: NewVisitor, screenshot: Screenshot
) -> None:
    page = visitor().go("/")
    intro = page.locator(".intro")
    expect(intro).to_contain_text("Ticketing is where people resell tickets")
    expect(intro).to_contain_text(f"locked for you for {WINDOW_SECONDS} seconds while you pay")
    expect(intro).to_contain_text("goes back on sale")
    screenshot(page, "first-visit")
    signed_in = visitor().sign_up()
    expect(signed_in.go("/").locator(".intro")).to_have_count(0)
