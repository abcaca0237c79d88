"""Does the inline SQLite driver pay? A paired bench of the purchase path with
``SQLITE_DRIVER=inline`` against ``SQLITE_DRIVER=aiosqlite``.

``python -m bench.sqlite_driver [--rounds 4] [--purchases 60] [--buyers 10]``: rounds
alternate the drivers (A B B A A B ...), each on a fresh embedded stack, so a drift of
the machine falls on both alike. Each round buys ``--purchases`` tickets with
``--buyers`` buyers at once and reports purchases per second and the stack's CPU seconds
per purchase (less sensitive than wall time to what else the machine runs). Writes
``bench/results/sqlite-driver.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.cpu import accounting
from bench.load import closed_loop, deal
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

DRIVERS = ("inline", "aiosqlite")
RESULTS = Path(__file__).parent / "results" / "sqlite-driver.json"


async def one_round(stack: BenchStack, purchases: int, buyers: int) -> dict[str, Any]:
    sellers = await sign_up_many(stack.api, 2)
    users = await sign_up_many(stack.api, buyers)
    sessions = [shopper(stack.api, user) for user in users]
    try:
        tickets = await list_tickets(sellers, purchases + buyers, title="Gig")
        methods = await payment_methods(stack.localstripe, purchases + buyers)
        await wait_for_replica(stack.orders_db, tickets)
        jobs = [Purchase(t, m) for t, m in zip(tickets, methods, strict=True)]
        warmup, timed = jobs[:buyers], jobs[buyers:]
        await closed_loop(deal(warmup, buyers), lambda i, p: buy(sessions[i], p))
        cpu: dict[str, float] = {}
        with accounting(stack.processes, cpu):
            run = await closed_loop(deal(timed, buyers), lambda i, p: buy(sessions[i], p))
        timings: list[Timing] = run.results
        stack_cpu = sum(seconds for name, seconds in cpu.items() if name != "bench")
        return {
            "purchases": len(timings),
            "failures": len(run.failures),
            "purchases_per_second": round(len(timings) / run.wall_seconds, 2),
            "stack_cpu_seconds_per_purchase": round(stack_cpu / max(len(timings), 1), 4),
            "order_p50": round(statistics.median(t.order for t in timings), 4),
            "payment_p50": round(statistics.median(t.payment for t in timings), 4),
        }
    finally:
        await asyncio.gather(*(session.close() for session in sessions))
        await close_all([*sellers, *users])


def run(rounds: int, purchases: int, buyers: int) -> dict[str, Any]:
    order = [DRIVERS[(i + i // 2) % 2] for i in range(rounds)]  # A B B A A B B A ...
    results: dict[str, list[dict[str, Any]]] = {driver: [] for driver in DRIVERS}
    for index, driver in enumerate(order, start=1):
        with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as scratch:
            stack = BenchStack(Path(scratch) / "var", SQLITE_DRIVER=driver)
            stack.start()
            try:
                figures = asyncio.run(one_round(stack, purchases, buyers))
            finally:
                stack.stop()
        print(f"round {index} ({driver}): {figures}", flush=True)
        results[driver].append(figures)
    summary = {
        driver: {
            key: round(statistics.median(r[key] for r in rows), 4)
            for key in ("purchases_per_second", "stack_cpu_seconds_per_purchase")
        }
        for driver, rows in results.items()
        if rows
    }
    return {"rounds": results, "median": summary, "purchases": purchases, "buyers": buyers}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sqlite_driver", description=__doc__)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--purchases", type=int, default=60)
    parser.add_argument("--buyers", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    report = run(args.rounds, args.purchases, args.buyers)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["median"], indent=2))


if __name__ == "__main__":
    main()
