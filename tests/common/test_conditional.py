"""Reading If-None-Match and Prefer: wait, and looking again until something is there."""

from __future__ import annotations

import pytest

from services.common.http.conditional import LONGEST_WAIT_SECONDS, etag_of, matches, requested_wait
from services.common.polling import poll_until


@pytest.mark.parametrize(
    ("prefer", "seconds"),
    [
        (None, 0),
        ("wait=5", 5),
        ("WAIT = 7", 7),
        ("respond-async, wait=3", 3),
        ("wait=3; ignored=1", 3),
        (f"wait={LONGEST_WAIT_SECONDS * 10}", LONGEST_WAIT_SECONDS),
        ("wait=-1", 0),
        ("wait=1.5", 0),
        ("wait=soon", 0),
        ("handling=lenient", 0),
    ],
)
def test_prefer_wait_is_read_capped_and_otherwise_ignored(prefer: str | None, seconds: int) -> None:
    assert requested_wait(prefer) == seconds


def test_if_none_match_compares_tags_weakly() -> None:
    etag = etag_of(b'{"status":"complete"}')
    assert etag != etag_of(b'{"status":"cancelled"}')
    assert matches(etag, etag)
    assert matches(f'"other", W/{etag}', etag)
    assert matches("*", etag)
    assert not matches(None, etag)
    assert not matches('"other"', etag)
    assert not matches(etag.strip('"'), etag)  # an unquoted tag is not the tag


async def test_poll_until_stops_at_the_first_found_look() -> None:
    looks = iter([None, None, "there", "later"])

    async def look() -> str | None:
        return next(looks)

    found = await poll_until(
        look, lambda seen: seen is not None, within=5, first_pause=0.001, longest_pause=0.002
    )
    assert found == "there"
    assert next(looks) == "later"


async def test_poll_until_returns_the_last_look_when_time_runs_out() -> None:
    count = 0

    async def look() -> int:
        nonlocal count
        count += 1
        return count

    last = await poll_until(
        look, lambda _seen: False, within=0.2, first_pause=0.01, longest_pause=0.02
    )
    assert last == count and 3 <= count <= 25
