"""How the shop says an event's date, and which days "this weekend" means."""

from __future__ import annotations

from datetime import date

import pytest

from web.pages.events import this_weekend, when


@pytest.mark.parametrize(
    ("today", "saturday"),
    [
        (date(2027, 3, 8), date(2027, 3, 13)),  # a Monday: the coming weekend
        (date(2027, 3, 12), date(2027, 3, 13)),  # a Friday
        (date(2027, 3, 13), date(2027, 3, 13)),  # Saturday: this one
        (date(2027, 3, 14), date(2027, 3, 13)),  # Sunday: still this one
    ],
)
def test_this_weekend_is_the_coming_saturday_and_sunday(today: date, saturday: date) -> None:
    assert this_weekend(today) == (saturday, date.fromordinal(saturday.toordinal() + 1))


def test_dates_read_naturally_in_the_events_own_time() -> None:
    event = {"startsAt": "2027-03-14T20:00:00+01:00", "city": "Berlin"}
    assert when(event) == "Sun 14 Mar 2027, 20:00, Berlin"
    assert when({**event, "startsAt": "2027-03-05T09:30:00-05:00"}, city=False) == (
        "Fri 5 Mar 2027, 09:30"
    )
    assert when(None) == "Date not given"
    assert when({"startsAt": "soon"}) == "Date not given"
