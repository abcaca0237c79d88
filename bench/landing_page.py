"""The web shop's landing page (``/``, a visitor without a session) against the API's
``GET /api/tickets`` in the same run, same load, with the catalogue for sale.

The page asks the API for one page of tickets over HTTP and renders it, so it costs the
API's read plus one hop and a template: the shop's goal is at least half the API's rate
(``ratio_to_api`` >= 0.5).
"""

from __future__ import annotations

from typing import Any

from bench.read_path import hammer
from bench.stats import ratio

GOAL = 0.5


async def measure(api: str, *, concurrency: int, seconds: float) -> dict[str, Any]:
    tickets = await hammer(api, "/api/tickets", concurrency=concurrency, seconds=seconds)
    landing = await hammer(api, "/", concurrency=concurrency, seconds=seconds)
    share = ratio(landing["requests_per_second"], tickets["requests_per_second"])
    return {
        "concurrency": concurrency,
        "seconds_each": seconds,
        "landing_page": landing,
        "api_tickets": tickets,
        "ratio_to_api": share,
        "goal": GOAL,
        "meets_goal": share is not None and share >= GOAL,
    }
