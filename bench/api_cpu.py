"""CPU seconds per request and per purchase, by process, on one embedded stack.

``python -m bench.api_cpu [--requests 1000] [--purchases 40] [--buyers 10] [--rounds 2]``
starts ``ticketing up`` (as the bench does), sets a shop up, then runs, ``--rounds``
times, each of these with ``--buyers`` clients at once, counting the CPU each process
of the stack spent (``bench.cpu``):

- ``healthz``: ``GET /healthz``, the cheapest request the API answers;
- ``noop``: ``GET /api/users/currentuser`` signed in (a Bearer token), the cheapest
  signed-in request;
- ``loser``: ``POST /api/orders`` for a ticket another buyer's order holds (409), what
  each of a rush's losers costs;
- ``purchase``: whole purchases (``bench.purchase.buy``: order, payment, following the
  order until complete).

CPU seconds rather than wall time: the machine may be shared, and time spent waiting
for a core is not counted against the process. Figures are per unit (request or
purchase), the median of the rounds. With ``--profile DIR``, py-spy records the API
process during each phase (and the worker during purchases) into DIR as collapsed
stacks, for ``bench.profile_top`` or a flame graph tool. For a change, run this on the
commit before it and on the change, one right after the other.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from bench.cpu import accounting
from bench.footprint import label
from bench.load import closed_loop, deal
from bench.purchase import Purchase, buy
from bench.shop import (
    close_all,
    list_tickets,
    payment_methods,
    shopper,
    sign_up_many,
    wait_for_replica,
)
from bench.stack import BenchStack

API = "uvicorn devstack.gateway.main:app"
WORKER = "services.cli worker"
PY_SPY = Path(sys.executable).with_name("py-spy")
PHASES = ("healthz", "noop", "loser", "purchase")


class UnexpectedAnswer(RuntimeError):
    pass


async def _expect(
    session: aiohttp.ClientSession, method: str, path: str, status: int, **kwargs: Any
) -> None:
    async with session.request(method, path, **kwargs) as response:
        await response.read()
        if response.status != status:
            raise UnexpectedAnswer(f"{method} {path} answered {response.status}, not {status}")


async def _requests(
    sessions: Sequence[aiohttp.ClientSession],
    count: int,
    request: Callable[[aiohttp.ClientSession], Awaitable[None]],
) -> int:
    """``count`` requests from the sessions at once, each session one after another."""
    run = await closed_loop(
        deal(range(count), len(sessions)), lambda index, _: request(sessions[index])
    )
    if run.failures:
        raise run.failures[0]
    return len(run.results)


@contextlib.contextmanager
def _profiled(
    directory: Path | None, name: str, processes: Sequence[psutil.Process]
) -> Iterator[None]:
    """py-spy on each process while the block runs (nothing without a directory)."""
    if directory is None:
        yield
        return
    recorders = [
        subprocess.Popen(
            [
                str(PY_SPY),
                "record",
                "--pid",
                str(process.pid),
                "--rate",
                "200",
                "--nonblocking",
                "--gil",
                "--format",
                "raw",
                "--output",
                str(directory / f"{name}-{_short(process)}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for process in processes
    ]
    time.sleep(1)  # py-spy attaches
    try:
        yield
    finally:
        for recorder in recorders:
            recorder.send_signal(2)  # SIGINT: py-spy writes what it sampled and exits
        for recorder in recorders:
            recorder.wait(timeout=60)


def _short(process: psutil.Process) -> str:
    return {API: "api", WORKER: "worker"}.get(label(process), str(process.pid))


def _by_label(stack: BenchStack, wanted: str) -> list[psutil.Process]:
    return [process for process in stack.processes() if label(process) == wanted]


async def one_round(
    stack: BenchStack,
    sessions: Sequence[aiohttp.ClientSession],
    held_ticket: str,
    purchases: Sequence[Purchase],
    requests: int,
    profile: Path | None,
    round_index: int,
) -> dict[str, dict[str, float]]:
    api = _by_label(stack, API)
    worker = _by_label(stack, WORKER)
    phases: dict[str, tuple[Callable[[], Awaitable[int]], list[psutil.Process]]] = {
        "healthz": (
            lambda: _requests(sessions, requests, lambda s: _expect(s, "GET", "/healthz", 200)),
            api,
        ),
        "noop": (
            lambda: _requests(
                sessions, requests, lambda s: _expect(s, "GET", "/api/users/currentuser", 200)
            ),
            api,
        ),
        "loser": (
            lambda: _requests(
                sessions,
                requests,
                lambda s: _expect(s, "POST", "/api/orders", 409, json={"ticketId": held_ticket}),
            ),
            api,
        ),
        "purchase": (lambda: _purchases(sessions, purchases), api + worker),
    }
    figures: dict[str, dict[str, float]] = {}
    for name, (work, profiled) in phases.items():
        cpu: dict[str, float] = {}
        with (
            _profiled(profile, f"{name}-{round_index}", profiled),
            accounting(stack.processes, cpu),
        ):
            units = await work()
        figures[name] = _per_unit(cpu, units)
        print(f"round {round_index} {name}: {figures[name]}", flush=True)
    return figures


async def _purchases(
    sessions: Sequence[aiohttp.ClientSession], purchases: Sequence[Purchase]
) -> int:
    run = await closed_loop(deal(purchases, len(sessions)), lambda i, p: buy(sessions[i], p))
    if run.failures:
        raise run.failures[0]
    return len(run.results)


def _per_unit(cpu: dict[str, float], units: int) -> dict[str, float]:
    stack_total = sum(seconds for name, seconds in cpu.items() if name != "bench")
    figures = {name: seconds / units for name, seconds in cpu.items()}
    figures["stack"] = stack_total / units
    return {name: round(seconds, 5) for name, seconds in figures.items()}


async def measure(
    stack: BenchStack,
    requests: int,
    purchases: int,
    buyers: int,
    rounds: int,
    profile: Path | None,
) -> dict[str, Any]:
    sellers = await sign_up_many(stack.api, 2)
    # One more buyer than the clients: it holds the ticket the losers ask for.
    users = await sign_up_many(stack.api, buyers + 1)
    sessions = [shopper(stack.api, user) for user in users]
    try:
        wanted = rounds * purchases + buyers + 1
        tickets = await list_tickets(sellers, wanted, title="Show")
        methods = await payment_methods(stack.localstripe, wanted - 1)
        await wait_for_replica(stack.orders_db, tickets)
        held, tickets = tickets[0], tickets[1:]
        await _expect(sessions[-1], "POST", "/api/orders", 201, json={"ticketId": held})
        clients = sessions[:-1]
        jobs = [Purchase(t, m) for t, m in zip(tickets, methods, strict=True)]
        warmup, jobs = jobs[:buyers], jobs[buyers:]
        await _purchases(clients, warmup)
        await _requests(clients, buyers * 10, lambda s: _expect(s, "GET", "/healthz", 200))
        results = []
        for index in range(rounds):
            mine = jobs[index * purchases : (index + 1) * purchases]
            results.append(
                await one_round(stack, clients, held, mine, requests, profile, index + 1)
            )
    finally:
        await asyncio.gather(*(session.close() for session in sessions))
        await close_all([*sellers, *users])
    median = {
        phase: {
            key: round(statistics.median(r[phase].get(key, 0.0) for r in results), 5)
            for key in results[0][phase]
        }
        for phase in PHASES
    }
    return {
        "plan": {"requests": requests, "purchases": purchases, "buyers": buyers, "rounds": rounds},
        "rounds": results,
        "median": median,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.api_cpu", description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--purchases", type=int, default=40)
    parser.add_argument("--buyers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-api-cpu-") as scratch:
        stack = BenchStack(Path(scratch) / "var")
        stack.start()
        try:
            report = asyncio.run(
                measure(
                    stack, args.requests, args.purchases, args.buyers, args.rounds, args.profile
                )
            )
        finally:
            stack.shutdown()
    text = json.dumps(report, indent=2) + "\n"
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(json.dumps(report["median"], indent=2))


if __name__ == "__main__":
    main()
