"""One benchmark run: start the stack, set the shop up over HTTP, measure, report."""

from __future__ import annotations

import asyncio
import platform
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from temporalio.client import Client

from bench import event_lag, floor, landing_page, null_saga, read_path, rush, shape, timeline
from bench.cpu import accounting
from bench.footprint import PeakSampler, snapshot
from bench.load import Run, closed_loop, deal
from bench.purchase import Purchase, Timing, buy
from bench.shop import (
    close_all,
    list_tickets,
    payment_methods,
    shopper,
    sign_up_many,
    wait_for_replica,
)
from bench.stack import BenchStack
from bench.stats import latency, rate, ratio
from services.common.settings import Settings
from services.common.temporal import connect_temporal
from tests.support.stack import ROOT

SETTLE_SECONDS = 3.0


@dataclass(frozen=True)
class Plan:
    """How much of everything one run does (purchases and null sagas per concurrency)."""

    levels: dict[int, int]
    catalogue: int = 1000
    lag_samples: int = 100
    read_seconds: float = 8.0
    read_concurrency: int = 10
    page: int = 50
    sellers: int = 5
    warmup: int = 5
    # The level whose sagas' histories are read for where their time goes.
    timeline_level: int = 10
    # The rush: this many tickets, wanted by this many buyers each (and the winners alone).
    rush_tickets: int = 100
    rush_buyers_per_ticket: int = 10
    # The floor: one-activity workflows, how many at each concurrency.
    floor_levels: tuple[tuple[int, int], ...] = ((1, 30), (10, 300), (50, 500))

    def describe(self) -> str:
        levels = ", ".join(f"{n} at {c} concurrent" for c, n in self.levels.items())
        return (
            f"purchases and null sagas: {levels} (after {self.warmup} warm-up purchases); "
            f"event lag: {self.lag_samples} edits; read path: {self.read_seconds:g} s per "
            f"endpoint at {self.read_concurrency} clients; rush: "
            f"{self.rush_tickets * self.rush_buyers_per_ticket} buyers on {self.rush_tickets} "
            f"tickets; floor: " + ", ".join(f"{n} at {c} concurrent" for c, n in self.floor_levels)
        )


FULL = Plan(levels={1: 30, 10: 150, 50: 250})
QUICK = Plan(
    levels={1: 5, 10: 20, 50: 50},
    catalogue=200,
    lag_samples=20,
    read_seconds=2.0,
    warmup=2,
    rush_tickets=20,
    rush_buyers_per_ticket=5,
    floor_levels=((1, 5), (10, 40), (50, 100)),
)


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _meta(plan: Plan, command: str) -> dict[str, Any]:
    changed = _git("status", "--porcelain")
    commit = _git("rev-parse", "--short", "HEAD")
    return {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit + ("+uncommitted" if changed and changed != "unknown" else ""),
        "cpus": _cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "command": command,
        "plan": asdict(plan),
        "samples": plan.describe(),
        "catalogue_tickets": plan.catalogue,
    }


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


async def _null_sagas(
    stack: BenchStack, client: Client, level: int, count: int, window: int
) -> tuple[Run[tuple[float, float, float]], dict[str, float]]:
    cpu: dict[str, float] = {}
    with accounting(stack.processes, cpu):
        run = await closed_loop(
            deal(range(count), level), lambda _client, _job: null_saga.one_saga(client, window)
        )
    return run, cpu


def _ceiling(
    level: int, halves: list[tuple[Run[tuple[float, float, float]], dict[str, float]]]
) -> dict[str, Any]:
    """The null saga's figures over both of its halves (before and after the purchases)."""
    results = [result for run, _ in halves for result in run.results]
    failures = [failure for run, _ in halves for failure in run.failures]
    wall = sum(run.wall_seconds for run, _ in halves)
    cpu: dict[str, float] = {}
    for _, spent in halves:
        for name, seconds in spent.items():
            cpu[name] = cpu.get(name, 0.0) + seconds
    done = len(results)
    return {
        "concurrency": level,
        "sagas_per_second": rate(done, wall),
        "wall_seconds": round(wall, 2),
        "saga": latency([completed for _, _, completed in results]),
        "order": latency([reserved for reserved, _, _ in results]),
        "payment": latency([paid for _, paid, _ in results]),
        "failures": len(failures),
        "first_failure": repr(failures[0]) if failures else None,
        # The null saga's workers run in the bench process ("bench").
        "cpu_seconds_per_saga": _per_unit(cpu, done),
    }


def _per_unit(cpu: dict[str, float], done: int) -> dict[str, float]:
    """CPU seconds per saga or purchase, by process, the busiest first."""
    if not done:
        return {}
    ranked = sorted(cpu.items(), key=lambda item: -item[1])
    return {name: round(seconds / done, 4) for name, seconds in ranked}


async def _purchases(
    stack: BenchStack, buyers: list[aiohttp.ClientSession], level: int, purchases: list[Purchase]
) -> dict[str, Any]:
    cpu: dict[str, float] = {}
    with accounting(stack.processes, cpu):
        run = await closed_loop(
            deal(purchases, level), lambda index, purchase: buy(buyers[index], purchase)
        )
    timings: list[Timing] = run.results
    done = len(timings)
    return {
        "concurrency": level,
        "purchases_per_second": rate(done, run.wall_seconds),
        "wall_seconds": round(run.wall_seconds, 2),
        "order": latency([t.order for t in timings]),
        "payment": latency([t.payment for t in timings]),
        "order_to_complete": latency([t.order_to_complete for t in timings]),
        "lag_retries": sum(t.retries for t in timings),
        "status_polls": sum(t.polls for t in timings),
        "failures": len(run.failures),
        "first_failure": repr(run.failures[0]) if run.failures else None,
        "cpu_seconds_per_purchase": _per_unit(cpu, done),
        "cpu_seconds_per_purchase_total": round(sum(cpu.values()) / done, 4) if done else None,
    }


@dataclass(frozen=True)
class Phases:
    """When one level ran: null sagas from ``started`` to ``ended``, around the purchases."""

    started: datetime
    purchases_started: datetime
    purchases_ended: datetime
    ended: datetime


async def _timeline(
    stack: BenchStack, null_client: Client, level: int, phases: Phases
) -> dict[str, Any]:
    # The stack's payload key: the histories read are its purchases'.
    purchase_client = await connect_temporal(
        Settings(temporal_address=stack.temporal_address, data_dir=stack.data_dir)
    )
    return {
        "concurrency": level,
        "shape": await shape.paid_purchases(
            purchase_client, phases.purchases_started, phases.purchases_ended
        ),
        # The null saga's namespace holds only null sagas: its window may span the level.
        "ceiling": await timeline.steps(null_client, phases.started, phases.ended),
        "purchase": await timeline.steps(
            purchase_client, phases.purchases_started, phases.purchases_ended
        ),
    }


async def measure(stack: BenchStack, plan: Plan) -> dict[str, Any]:
    results: dict[str, Any] = {}
    await asyncio.sleep(SETTLE_SECONDS)
    footprint: dict[str, Any] = {"idle": await asyncio.to_thread(snapshot, stack.processes())}
    results["footprint"] = footprint
    window = int(stack.env.get("ORDER_EXPIRATION_SECONDS", Settings().order_expiration_seconds))

    print("setting the shop up: users, tickets, cards ...", flush=True)
    setup_started = time.perf_counter()
    sellers = await sign_up_many(stack.api, plan.sellers)
    rush_buyers = plan.rush_tickets * plan.rush_buyers_per_ticket
    users = await sign_up_many(stack.api, max(*plan.levels, rush_buyers))
    buyers = [shopper(stack.api, user) for user in users]
    try:
        wanted = plan.warmup + sum(plan.levels.values())
        for_purchase = await list_tickets(sellers, wanted, title="Gig")
        catalogue = await list_tickets(sellers, plan.catalogue)
        alone_tickets = await list_tickets(sellers, plan.rush_tickets, title="Alone")
        rush_tickets = await list_tickets(sellers, plan.rush_tickets, title="Rush")
        methods = await payment_methods(stack.localstripe, wanted)
        await wait_for_replica(
            stack.orders_db, for_purchase + catalogue + alone_tickets + rush_tickets
        )
        results["setup_seconds"] = round(time.perf_counter() - setup_started, 1)

        print("event lag ...", flush=True)
        # catalogue[0] was listed by sellers[0] (tickets are dealt over sellers in order).
        results["event_lag"] = await event_lag.measure(
            sellers[0], catalogue[0], stack.orders_db, plan.lag_samples
        )

        purchases = [Purchase(t, m) for t, m in zip(for_purchase, methods, strict=True)]
        warmup, purchases = purchases[: plan.warmup], purchases[plan.warmup :]
        sampler = PeakSampler(stack.processes)
        results["ceiling"], results["purchase"] = {}, {}
        async with null_saga.running(stack.temporal_address) as client:
            await null_saga.wait_until_serving(client, window)
            for purchase in warmup:
                await buy(buyers[0], purchase)
            for _ in range(plan.warmup):
                await null_saga.one_saga(client, window)
            # Level by level: half the null sagas, the purchases, the other half. The
            # stack drifts as it runs (Temporal's store grows): this way the drift falls
            # on both sides alike, on average.
            phases: dict[int, Phases] = {}
            for level, count in plan.levels.items():
                print(f"{level} concurrent: null sagas, purchases, null sagas ...", flush=True)
                key = str(level)
                level_started = datetime.now(UTC)
                halves = [await _null_sagas(stack, client, level, count // 2, window)]
                purchases_started = datetime.now(UTC)
                mine, purchases = purchases[:count], purchases[count:]
                async with sampler.sampling():
                    results["purchase"][key] = await _purchases(stack, buyers, level, mine)
                purchases_ended = datetime.now(UTC)
                halves.append(await _null_sagas(stack, client, level, count - count // 2, window))
                results["ceiling"][key] = _ceiling(level, halves)
                phases[level] = Phases(
                    level_started, purchases_started, purchases_ended, datetime.now(UTC)
                )
                ceiling = results["ceiling"][key]["sagas_per_second"]
                results["purchase"][key]["ratio_to_ceiling"] = ratio(
                    results["purchase"][key]["purchases_per_second"], ceiling
                )
            if plan.timeline_level in phases:
                print("where the time goes ...", flush=True)
                results["timeline"] = await _timeline(
                    stack, client, plan.timeline_level, phases[plan.timeline_level]
                )
                paid = results["timeline"]["shape"]
                results["events_per_purchase"] = paid["events_per_purchase"]
                results["actions_per_purchase"] = paid["actions_per_purchase"]
        footprint["under_load_peak"] = sampler.peak

        print("read path ...", flush=True)
        results["read_path"] = await read_path.measure(
            stack.api,
            concurrency=plan.read_concurrency,
            seconds=plan.read_seconds,
            page=plan.page,
        )

        print("the web shop's landing page ...", flush=True)
        results["landing_page"] = await landing_page.measure(
            stack.api, concurrency=plan.read_concurrency, seconds=plan.read_seconds
        )

        print("the floor: one-activity workflows ...", flush=True)
        results["floor"] = await floor.measure(stack.temporal_address, dict(plan.floor_levels))
        for key, purchase in results["purchase"].items():
            floor_rate = results["floor"].get(key, {}).get("runs_per_second")
            purchase["ratio_to_floor"] = (
                ratio(purchase["purchases_per_second"], floor_rate) if floor_rate else None
            )

        print("the rush ...", flush=True)
        temporal = await connect_temporal(
            Settings(temporal_address=stack.temporal_address, data_dir=stack.data_dir)
        )
        results["rush"] = await rush.measure(buyers, alone_tickets, rush_tickets, temporal)
    finally:
        await close_all([*sellers, *users])
        await asyncio.gather(*(buyer.close() for buyer in buyers))
    await asyncio.sleep(SETTLE_SECONDS)
    footprint["idle_after_load"] = await asyncio.to_thread(snapshot, stack.processes())
    return results


def run(plan: Plan, command: str, *, keep: Path | None = None) -> dict[str, Any]:
    meta = _meta(plan, command)
    with tempfile.TemporaryDirectory(prefix="ticketing-bench-") as scratch:
        data_dir = keep or Path(scratch) / "var"
        stack = BenchStack(data_dir)
        try:
            print("starting ticketing up ...", flush=True)
            stack.start()
            if not stack.runs_workers():
                raise RuntimeError("`ticketing up` started no Temporal worker")
            results = {"meta": meta, "cold_start_seconds": round(stack.cold_start_seconds or 0, 2)}
            results |= asyncio.run(measure(stack, plan))
        finally:
            stack.shutdown()
    return results
