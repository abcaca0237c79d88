"""Search over events and tickets: the same cases on every database the service runs on
(PostgreSQL's full-text index, SQLite's FTS5), through GET /api/events and GET /api/tickets."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.tickets.support import TicketsApi, create_event, error, start_event

# The database decides what a search finds: every case on every set-up.
pytestmark = pytest.mark.database_matrix


async def names(api: TicketsApi, path: str = "/api/events", **params: Any) -> list[str]:
    response = await api.client.get(path, params=params)
    assert response.status_code == 200, response.text
    return [item["name"] if "name" in item else item["title"] for item in response.json()]


@pytest.fixture
async def catalogue(api: TicketsApi) -> dict[str, dict[str, Any]]:
    """Four upcoming events and one that has started, with tickets."""
    events = {
        "beyonce": await create_event(
            api,
            name="Beyoncé: Renaissance",
            venue="Olympiastadion",
            city="München",
            startsAt="2099-07-10T20:00:00+02:00",
        ),
        "frahm": await create_event(
            api,
            name="Nils Frahm",
            venue="Funkhaus",
            city="Berlin",
            startsAt="2099-03-14T20:00:00+01:00",
        ),
        "derby": await create_event(
            api,
            name="Hertha - Union",
            venue="Olympiastadion",
            city="Berlin",
            startsAt="2099-05-02T15:30:00+02:00",
        ),
        "opera": await create_event(
            api,
            name="La Traviata",
            venue="Staatsoper",
            city="Berlin",
            startsAt="2099-04-01T19:00:00+02:00",
        ),
        "gone": await create_event(api, name="Beyoncé warm-up", city="München"),
    }
    for key, prices in {"beyonce": (250, 180), "frahm": (45,), "derby": (30, 60)}.items():
        for price in prices:
            await api.create(title=f"{key} ticket", price=price, eventId=events[key]["id"])
    await api.create(title="Beyoncé VIP", price=5, eventId=events["gone"]["id"])
    await start_event(api, events["gone"]["id"])
    return events


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("beyonce", ["Beyoncé: Renaissance"]),  # accents do not matter...
        ("BEYONCÉ", ["Beyoncé: Renaissance"]),  # ...nor case
        ("munchen", ["Beyoncé: Renaissance"]),  # the city
        ("olympia", ["Hertha - Union", "Beyoncé: Renaissance"]),  # a prefix of the venue
        ("berlin funk", ["Nils Frahm"]),  # every word must match
        ("renaissance tour", []),
        ("traviata", ["La Traviata"]),
        ('") OR 1=1 --*:&|!(', []),  # only letters and digits reach the index
        ("   ", ["Nils Frahm", "La Traviata", "Hertha - Union", "Beyoncé: Renaissance"]),
    ],
)
async def test_words_find_events_whatever_their_case_and_accents(
    api: TicketsApi, q: str, found: list[str]
) -> None:
    assert await names(api, q=q) == found


@pytest.mark.usefixtures("catalogue")
async def test_filters_by_city_dates_and_price(api: TicketsApi) -> None:
    assert await names(api, city="MÜNCHEN") == ["Beyoncé: Renaissance"]
    assert await names(api, city="Munich") == []
    assert await names(api, city="berlin", **{"from": "2099-04-01", "to": "2099-05-02"}) == [
        "La Traviata",
        "Hertha - Union",
    ]
    assert await names(api, **{"to": "2099-03-14T19:59:00+01:00"}) == []
    response = await api.client.get("/api/events", params={"minPrice": 40, "maxPrice": 200})
    priced = {event["name"]: event for event in response.json()}
    assert set(priced) == {"Beyoncé: Renaissance", "Nils Frahm", "Hertha - Union"}
    # Counted within the range: Beyoncé's 250 and the derby's 30 are out of it.
    assert (
        priced["Beyoncé: Renaissance"]["ticketsForSale"],
        priced["Beyoncé: Renaissance"]["lowestPrice"],
    ) == (1, 180)
    assert (
        priced["Hertha - Union"]["ticketsForSale"],
        priced["Hertha - Union"]["lowestPrice"],
    ) == (1, 60)


@pytest.mark.usefixtures("catalogue")
async def test_sorts_and_pages_by_cursor(api: TicketsApi) -> None:
    assert await names(api, sort="cheapest") == [
        "Hertha - Union",
        "Nils Frahm",
        "Beyoncé: Renaissance",
    ]
    assert await names(api, sort="newest") == [
        "La Traviata",
        "Hertha - Union",
        "Nils Frahm",
        "Beyoncé: Renaissance",
    ]
    for sort in ("soonest", "cheapest", "newest"):
        whole = await names(api, sort=sort)
        seen: list[str] = []
        url: str | None = f"/api/events?sort={sort}&limit=1"
        while url is not None:
            response = await api.client.get(url)
            assert response.status_code == 200, response.text
            seen.extend(event["name"] for event in response.json())
            link = response.headers.get("link")
            url = None if link is None else link[1 : link.index(">")]
            if url is not None:
                assert parse_qs(urlsplit(url).query)["sort"] == [sort]
        assert seen == whole


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"sort": "best"}, "sort", "Sort is one of soonest, cheapest, newest"),
        ({"from": "2099-05-01", "to": "2099-04-01"}, "from", "from must not be after to"),
        ({"from": "2099-05-01T10:00:00"}, "from", "from must give its UTC offset"),
        ({"to": "soon"}, "to", None),
        ({"cursor": "not-a-cursor"}, "cursor", "Cursor is not one this search gave"),
        ({"cursor": "x" * 401}, "cursor", None),
        ({"q": "a" * 101}, "q", "Search is at most 100 characters"),
        ({"minPrice": -1}, "minPrice", "minPrice must be between 0 and 1000000"),
        ({"minPrice": 50, "maxPrice": 10}, "minPrice", "minPrice must not be above maxPrice"),
        ({"maxPrice": "NaN"}, "maxPrice", None),
        ({"limit": 0}, "limit", None),
    ],
)
@pytest.mark.parametrize("path", ["/api/events", "/api/tickets"])
async def test_bad_input_names_the_field(
    api: TicketsApi, path: str, params: dict[str, Any], field: str, message: str | None
) -> None:
    response = await api.client.get(path, params=params)
    assert response.status_code == 400
    assert [entry.get("field") for entry in response.json()["errors"]] == [field]
    if message is not None:
        assert response.json() == error(message, field)


async def test_a_cursor_of_another_order_is_refused(api: TicketsApi) -> None:
    for n in range(3):
        await create_event(api, name=f"E{n}")
    first = await api.client.get("/api/events", params={"limit": 1, "sort": "newest"})
    cursor = parse_qs(urlsplit(first.headers["link"][1:-13]).query)["cursor"][0]
    other = await api.client.get("/api/events", params={"cursor": cursor, "sort": "soonest"})
    assert other.status_code == 400
    assert other.json() == error("Cursor is not one this search gave", "cursor")


async def test_tickets_search_the_event_and_their_title(
    api: TicketsApi, catalogue: dict[str, dict[str, Any]]
) -> None:
    undated = await api.create(title="Mystery gig Berlin", price=1)
    assert await names(api, "/api/tickets", q="beyonce") == ["beyonce ticket"] * 2
    assert await names(api, "/api/tickets", q="berlin", sort="cheapest") == [
        "Mystery gig Berlin",
        "derby ticket",
        "frahm ticket",
        "derby ticket",
    ]
    assert await names(api, "/api/tickets", city="berlin", sort="soonest", maxPrice=50) == [
        "frahm ticket",
        "derby ticket",
    ]
    # Nothing for the event that has started, however it is searched.
    assert await names(api, "/api/tickets", q="vip") == []
    response = await api.client.get("/api/tickets", params={"q": "mystery"})
    [ticket] = response.json()
    assert ticket["id"] == undated["id"] and ticket["event"] is None

    url: str | None = "/api/tickets?sort=cheapest&limit=2"
    prices: list[float] = []
    while url is not None:
        page = await api.client.get(url)
        prices.extend(item["price"] for item in page.json())
        link = page.headers.get("link")
        url = None if link is None else link[1 : link.index(">")]
    assert prices == [1, 30, 45, 60, 180, 250]
