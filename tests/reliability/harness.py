"""Runs the scenarios against one stack and checks the invariants after each."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from services.common.settings import Settings
from services.common.temporal import connect_temporal
from tests.reliability import scenarios, schema_fuzz
from tests.reliability.invariants import Invariants
from tests.reliability.market import Market
from tests.reliability.stack import running_stack


@dataclass(frozen=True)
class Profile:
    name: str
    # Long enough that no order of the rush expires before the rush ends.
    contention_window_seconds: int
    buyers: int
    tickets: int
    reservations: int
    window_seconds: int
    fault_purchases: int
    outage_seconds: float
    schema_examples: int
    # Fixed in the suite so that a failure reproduces; random in the full run.
    schema_seed: int | None


SHORT = Profile(
    "short",
    contention_window_seconds=120,
    buyers=40,
    tickets=4,
    reservations=12,
    # Longer than an outage, so that purchases hit by one can still be paid in time.
    window_seconds=8,
    fault_purchases=3,
    outage_seconds=3,
    schema_examples=10,
    schema_seed=1,
)
FULL = Profile(
    "full",
    contention_window_seconds=900,
    buyers=1000,
    tickets=100,
    reservations=300,
    window_seconds=20,
    fault_purchases=12,
    outage_seconds=10,
    schema_examples=100,
    schema_seed=None,
)


async def schema_fuzz_as_someone(
    market: Market, api_url: str, examples: int, seed: int | None
) -> dict[str, Any]:
    return await schema_fuzz.fuzz(api_url, await market.sign_up(), examples=examples, seed=seed)


async def run(profile: Profile, data_dir: Path) -> dict[str, Any]:
    started = time.monotonic()
    report: dict[str, Any] = {"profile": asdict(profile), "scenarios": {}, "violation_details": {}}
    with running_stack(data_dir, window_seconds=profile.contention_window_seconds) as stack:
        assert stack.localstripe is not None
        temporal = await connect_temporal(
            Settings(_env_file=None, temporal_address=stack.temporal.address)
        )
        invariants = Invariants(
            stack.data_dir,
            nats_url=stack.nats.url,
            temporal=temporal,
            stripe_url=stack.localstripe.url,
            stream=stack.settings.events_stream,
        )
        market = Market(stack.api_url, stack.localstripe.url)
        # A purchase may legitimately run a little past its window while it compensates.
        slack = timedelta(seconds=10)
        within = profile.window_seconds + 90
        try:
            # Each step starts only when the one before it is checked.
            steps: list[tuple[str, Callable[[], Awaitable[dict[str, Any]]]]] = [
                (
                    "contention",
                    lambda: scenarios.contention(
                        market, buyers=profile.buyers, tickets=profile.tickets
                    ),
                ),
                (
                    "expiry",
                    lambda: scenarios.expiry_at_scale(
                        stack,
                        market,
                        reservations=profile.reservations,
                        window=profile.window_seconds,
                    ),
                ),
                (
                    "faults",
                    lambda: scenarios.faults(
                        market,
                        stack,
                        purchases=profile.fault_purchases,
                        outage=profile.outage_seconds,
                    ),
                ),
                ("hostile_input", lambda: scenarios.hostile_input(market, stack)),
                (
                    "schema_fuzz",
                    lambda: schema_fuzz_as_someone(
                        market, stack.api_url, profile.schema_examples, profile.schema_seed
                    ),
                ),
            ]
            for name, scenario in steps:
                report["scenarios"][name] = await scenario()
                violations = await invariants.converged(within=within, slack=slack)
                report["violation_details"][name] = violations
        finally:
            await market.aclose()
    hostile = report["scenarios"].get("hostile_input", {})
    fuzzed = report["scenarios"].get("schema_fuzz", {})
    report["violations"] = (
        sum(len(found) for found in report["violation_details"].values())
        + len(hostile.get("refused_wrongly", []))
        + len(fuzzed.get("schema_failures", []))
    )
    report["inputs_tried"] = hostile.get("inputs_tried", 0) + fuzzed.get("schema_cases_tried", 0)
    report["faults_survived"] = report["scenarios"].get("faults", {}).get("faults_survived", [])
    report["seconds"] = round(time.monotonic() - started, 1)
    return report
