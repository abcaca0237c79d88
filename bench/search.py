"""Search: GET /api/events for three typical queries against GET /healthz of the same
process, under the same load, on SQLite and on PostgreSQL.

A catalogue of 5,000 upcoming events and 100,000 tickets for sale is written straight
into a fresh tickets database (migrated by the service's own migrations; the full-text
index is the one the migrations build), then the tickets service is served alone
(`ticketing serve tickets`) and hammered by 10 clients per path, one path after another.

    .venv/bin/python -m bench.search            # both databases, 10 s per path
    .venv/bin/python -m bench.search --quick    # 2 s per path, fewer rows

The three queries: a word (an artist's name), a city and a date range, and a misspelled
word (the search matches words and their prefixes, not misspellings: it finds nothing,
fast). Results go to bench/results/search.json and search.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import psutil
from sqlalchemy import insert

from bench.read_path import hammer
from bench.stats import ratio
from services.common.data.db import Database
from services.common.data.migrations import upgrade
from services.tickets.models import Event, Ticket
from services.tickets.search import fold
from services.tickets.service import definition as tickets
from tests.support.polling import eventually
from tests.support.ports import free_port
from tests.support.postgres import PostgresCluster

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CONCURRENCY = 10

CITIES = [
    "Berlin", "München", "Köln", "Hamburg", "Zürich", "Wien", "Kraków", "Praha", "Paris",
    "Lyon", "Málaga", "Sevilla", "Lisboa", "Porto", "São Paulo", "Reykjavík", "Göteborg",
    "København", "Oslo", "Amsterdam", "Bruxelles", "Genève", "Milano", "Roma", "Dublin",
    "London", "Manchester", "Edinburgh", "New York", "Montréal", "Québec", "Toronto",
    "Chicago", "Austin", "Seattle", "Tokyo", "Osaka", "Sydney", "Melbourne", "Auckland",
]  # fmt: skip
FIRST = ["Nils", "Élodie", "Björk", "Sigur", "Anna", "Léa", "Jonas", "Zoë", "Mateo", "Ingrid",
         "Kai", "Renée", "Tomás", "Aurora", "Moby", "Ólafur", "Chloé", "Dario", "Yuki",
         "Noor"]  # fmt: skip
LAST = ["Frahm", "Arnalds", "Quartet", "Orchestra", "Trio", "Collective", "Ensemble",
        "Brothers", "Sisters", "Band", "Project", "Sound", "Choir", "Duo", "Revue"]  # fmt: skip
KINDS = ["Live", "Tour", "Festival", "Night", "Matinée", "Unplugged", "Gala", "Session"]
VENUES = ["Philharmonie", "Arena", "Stadion", "Funkhaus", "Opera", "Theatre", "Hall", "Club",
          "Kulturhaus", "Palais", "Garden", "Dome", "Forum", "Kesselhaus"]  # fmt: skip

# What the three typical queries look for: a word, a city and a month, a misspelling.
WORD_QUERY = "/api/events?q=arnalds"
CITY_QUERY = "/api/events?city=berlin&from={start}&to={end}"
TYPO_QUERY = "/api/events?q=arnlads"


def catalogue(
    events: int, tickets_per_event: int, seed: int = 7
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    chance = random.Random(seed)
    now = datetime.now(UTC)
    event_rows: list[dict[str, Any]] = []
    ticket_rows: list[dict[str, Any]] = []
    for _ in range(events):
        name = f"{chance.choice(FIRST)} {chance.choice(LAST)} {chance.choice(KINDS)}"
        venue = f"{chance.choice(CITIES)} {chance.choice(VENUES)}"
        city = chance.choice(CITIES)
        event_id = uuid4()
        event_rows.append(
            {
                "id": event_id,
                "name": name,
                "venue": venue,
                "city": city,
                "starts_at": now + timedelta(days=chance.uniform(1, 365)),
                "ends_at": None,
                "utc_offset_minutes": 60,
                "description": None,
                "user_id": uuid4(),
                "search_text": fold(name, venue, city),
                "city_key": fold(city),
                "created_at": now,
                "version": 1,
            }
        )
        for _ in range(chance.randint(tickets_per_event // 2, tickets_per_event * 3 // 2)):
            title = f"{name} ticket"
            ticket_rows.append(
                {
                    "id": uuid4(),
                    "title": title,
                    "price_cents": chance.randint(10, 400) * 100,
                    "user_id": uuid4(),
                    "status": "available",
                    "order_id": None,
                    "created_at": now,
                    "version": 1,
                    "event_id": event_id,
                    "section": chance.choice(["A", "B", "Stalls", "Balcony"]),
                    "row": str(chance.randint(1, 30)),
                    "seat": str(chance.randint(1, 40)),
                    "search_text": fold(title, name, venue, city),
                }
            )
    return event_rows, ticket_rows


async def seed(url: str, events: int, tickets_per_event: int) -> dict[str, int]:
    database = Database.connect(url, sqlite_driver="aiosqlite")
    try:
        await upgrade(database, tickets.migrations)
        event_rows, ticket_rows = catalogue(events, tickets_per_event)
        async with database.write_engine.begin() as connection:
            for start in range(0, len(event_rows), 1000):
                await connection.execute(insert(Event), event_rows[start : start + 1000])
            for start in range(0, len(ticket_rows), 5000):
                await connection.execute(insert(Ticket), ticket_rows[start : start + 5000])
        if not url.startswith("sqlite"):
            async with database.write_engine.begin() as connection:
                await connection.exec_driver_sql("ANALYZE")
    finally:
        await database.dispose()
    return {"events": len(event_rows), "tickets": len(ticket_rows)}


async def serve_and_measure(url: str, data_dir: Path, seconds: float) -> dict[str, Any]:
    port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "TICKETS_DATABASE_URL": url,
        # The service answers while NATS is away; search needs no bus.
        "NATS_URL": f"nats://127.0.0.1:{free_port()}",
        "LOG_LEVEL": "WARNING",
    }
    # Started once and left to run while the load goes on; its start blocks for microseconds.
    server = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", "services.cli", "serve", "tickets", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{port}"
    try:

        async def up() -> bool:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{api}/healthz")).status_code == 200

        await eventually(up, within=60, ignoring=(httpx.HTTPError,), what="the tickets service")
        month = datetime.now(UTC) + timedelta(days=60)
        queries = {
            "word": WORD_QUERY,
            "city_and_dates": CITY_QUERY.format(
                start=month.date().isoformat(), end=(month + timedelta(days=30)).date().isoformat()
            ),
            "misspelling": TYPO_QUERY,
        }
        found = {}
        async with httpx.AsyncClient(base_url=api) as client:
            for name, path in queries.items():
                found[name] = len((await client.get(path)).json())
        served = psutil.Process(server.pid)
        bare = await _hammer_counting_cpu(served, api, "/healthz", seconds)
        results: dict[str, Any] = {"bare": bare}
        for name, path in queries.items():
            measured = await _hammer_counting_cpu(served, api, path, seconds)
            measured["events_on_first_page"] = found[name]
            measured["ratio_to_bare"] = ratio(
                measured["requests_per_second"], bare["requests_per_second"]
            )
            results[name] = measured
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)


async def _hammer_counting_cpu(
    served: psutil.Process, api: str, path: str, seconds: float
) -> dict[str, Any]:
    """``hammer``, and the CPU the server spent per answer: unlike req/s, it barely moves
    when other work shares the machine (the load generator's own CPU is not in it)."""
    before = served.cpu_times()
    measured = await hammer(api, path, concurrency=CONCURRENCY, seconds=seconds)
    after = served.cpu_times()
    spent = after.user + after.system - before.user - before.system
    # hammer's first request warms the route and is counted nowhere else.
    answers = measured["latency"]["n"] + measured["errors"] + 1
    measured["server_cpu_ms_per_request"] = round(1000 * spent / answers, 3)
    return measured


async def run(databases: list[str], *, quick: bool) -> dict[str, Any]:
    events, per_event, seconds = (1000, 20, 2.0) if quick else (5000, 20, 10.0)
    report: dict[str, Any] = {"concurrency": CONCURRENCY, "seconds_each": seconds}
    with tempfile.TemporaryDirectory(prefix="bench-search-") as scratch:
        root = Path(scratch)
        for kind in databases:
            cluster = None
            if kind == "sqlite":
                url = f"sqlite+aiosqlite:///{root / 'tickets.db'}"
            else:
                cluster = PostgresCluster(port=free_port())
                cluster.start()
                url = cluster.new_database_url()
            try:
                seeded = await seed(url, events, per_event)
                report[kind] = {"seeded": seeded, **await serve_and_measure(url, root, seconds)}
            finally:
                if cluster is not None:
                    cluster.stop()
    return report


def table(report: dict[str, Any]) -> str:
    lines = [
        f"Search at {report['concurrency']} clients, {report['seconds_each']:g} s per path",
        "",
        "| database | path | req/s | p50 ms | p99 ms | ratio to /healthz | server CPU ms/req |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in ("sqlite", "postgresql"):
        if kind not in report:
            continue
        for name in ("bare", "word", "city_and_dates", "misspelling"):
            figures = report[kind][name]
            lines.append(
                f"| {kind} | {figures['path']} | {figures['requests_per_second']:.0f} "
                f"| {figures['latency']['p50_ms']:.1f} | {figures['latency']['p99_ms']:.1f} "
                f"| {figures.get('ratio_to_bare') or '-'} "
                f"| {figures.get('server_cpu_ms_per_request', '-')} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    arguments = parser.parse_args()
    databases = ["sqlite", "postgresql"] if arguments.database == "both" else [arguments.database]
    report = asyncio.run(run(databases, quick=arguments.quick))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "search.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (RESULTS / "search.md").write_text(table(report) + "\n")
    print(table(report))


if __name__ == "__main__":
    main()
