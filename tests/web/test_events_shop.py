"""Events in the shop, in a real browser against the real stack: a seller adds an event and
lists tickets for it (picking the event as they type), a buyer finds it from the front
page's search and filters, with and without JavaScript, and reads dates naturally."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from playwright.sync_api import Page, expect

from tests.web.conftest import Visitor
from web.pages.events import this_weekend

Screenshot = Callable[[Page, str], Path]
NewVisitor = Callable[..., Visitor]
# 14 March 2099 is a Saturday.
STARTS = "2099-03-14T20:00"


def add_event(seller: Visitor, name: str, city: str) -> str:
    """Adds an event through the form, on the way to selling; answers its id."""
    page = seller.go("/tickets/new")
    page.get_by_role("link", name="Add the event").click()
    page.get_by_label("Event name").fill(name)
    page.get_by_label("Venue").fill("Philharmonie")
    page.get_by_label("City").fill(city)
    page.get_by_label("Starts (local time)").fill(STARTS)
    page.get_by_label("Local time is UTC").select_option("+01:00")
    page.get_by_role("button", name="Add event").click()
    page.wait_for_url(re.compile(r".*/tickets/new\?eventId="))
    event_id = page.url.rsplit("eventId=", 1)[1]
    # Back on the sell form, with the new event chosen.
    expect(page.locator("#eventId")).to_have_value(event_id)
    return event_id


def sell_for_event(seller: Visitor, price: str, seat: tuple[str, str, str]) -> None:
    page = seller.page
    page.get_by_label("Title").fill("Concert ticket")
    page.get_by_label("Price (USD)").fill(price)
    for label, value in zip(("Section", "Row", "Seat"), seat, strict=True):
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Sell ticket").click()
    page.wait_for_url(f"{seller.base}/tickets/*")


def test_a_seller_adds_an_event_and_a_buyer_finds_it(
    visitor: NewVisitor, screenshot: Screenshot
) -> None:
    word = f"zephyr{uuid4().hex[:6]}"
    name = f"Élodie {word.capitalize()} Quartet"
    city = f"Köln{uuid4().hex[:4]}"
    seller = visitor().sign_up()
    event_id = add_event(seller, name, city)
    sell_for_event(seller, "80", ("A", "3", "12"))
    page = seller.page
    expect(page.locator("[data-ticket-event]")).to_have_text(name)
    expect(page.locator("[data-ticket-when]")).to_have_text("Sat 14 Mar 2099, 20:00")
    expect(page.locator("[data-ticket-seat]")).to_have_text("12")
    screenshot(page, "ticket-for-event")

    # The second ticket: the seller types, htmx narrows the events to pick from.
    page = seller.go("/tickets/new")
    page.get_by_placeholder("Type to find the event").fill(word.upper())
    options = page.locator("#eventId option[value]:not([value=''])")
    expect(options).to_have_count(1)
    expect(options).to_contain_text("Sat 14 Mar 2099, 20:00")
    page.locator("#eventId").select_option(event_id)
    sell_for_event(seller, "25", ("Stalls", "K", "7"))

    # A buyer without JavaScript searches without the accents, and filters.
    buyer = visitor(javascript=False)
    home = buyer.go("/")
    home.get_by_label("Search events").fill(word.lower().replace("e", "é", 1))
    home.get_by_role("button", name="Search").click()
    row = home.locator(".event-row", has_text=name)
    expect(row).to_contain_text(f"Sat 14 Mar 2099, 20:00, {city}")
    expect(row).to_contain_text("2 tickets from $25.00")
    screenshot(home, "events-search")

    home = buyer.go("/?" + f"city={city.upper().replace('Ö', 'O')}&from=2099-03-14&to=2099-03-14")
    expect(home.locator(".event-row")).to_have_count(1)
    expect(home.get_by_label("City", exact=True)).to_have_value(city.upper().replace("Ö", "O"))
    home = buyer.go(f"/?q={word}&from=2099-03-15&to=2099-03-14")
    expect(home.locator("[data-field-error='from']")).to_have_text("from must not be after to")
    expect(home.locator(".event-row")).to_have_count(0)

    event_page = buyer.go(f"/events/{event_id}")
    expect(event_page.get_by_role("heading", level=1)).to_have_text(name)
    expect(event_page.locator("[data-event-where]")).to_have_text(f"Philharmonie, {city}")
    rows = event_page.locator(".ticket-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Section Stalls, Row K, Seat 7")
    expect(rows.nth(0)).to_contain_text("$25.00")
    expect(rows.nth(1)).to_contain_text("Section A, Row 3, Seat 12")

    on_phone = visitor(phone=True)
    screenshot(on_phone.go(f"/events/{event_id}"), "event-phone")


def test_this_weekend_and_a_ticket_without_an_event(visitor: NewVisitor) -> None:
    buyer = visitor(javascript=False)
    home = buyer.go("/")
    home.get_by_role("link", name="This weekend").click()
    saturday, sunday = this_weekend(datetime.now(UTC).date())
    expect(home.get_by_label("From", exact=True)).to_have_value(saturday.isoformat())
    expect(home.get_by_label("To", exact=True)).to_have_value(sunday.isoformat())

    # The course's way of selling, without an event: no date given.
    seller = visitor().sign_up()
    title = f"Undated {uuid4().hex[:6]}"
    path = seller.sell(title, "10")
    expect(seller.page.locator("[data-ticket-when]")).to_have_text("Date not given")
    home = buyer.go("/")
    expect(home.locator(".ticket-row", has_text=title)).to_contain_text("Date not given")
    assert path.startswith("/tickets/")
