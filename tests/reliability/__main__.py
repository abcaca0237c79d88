"""The full reliability harness:
`.venv/bin/python -m tests.reliability [--short] [--database sqlite|postgresql]`.

Prints the figures and writes them to bench/results/reliability.json, or
reliability-postgresql.json for PostgreSQL (the short profile only prints)."""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

from tests.reliability.databases import BACKENDS, throwaway_databases
from tests.reliability.run import COPIES, FULL, SHORT, run

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--short", action="store_true", help="the version the test suite runs")
    parser.add_argument(
        "--copies",
        action="store_true",
        help="two API and two worker processes, one of each killed mid-rush (PostgreSQL)",
    )
    parser.add_argument(
        "--database",
        choices=BACKENDS,
        default="sqlite",
        help="what the services run on; postgresql starts a throwaway cluster",
    )
    arguments = parser.parse_args()
    profile = SHORT if arguments.short else COPIES if arguments.copies else FULL
    with (
        tempfile.TemporaryDirectory(prefix="ticketing-reliability-") as scratch,
        throwaway_databases(arguments.database) as urls,
    ):
        report = asyncio.run(run(profile, Path(scratch) / "var", urls))
    print(json.dumps(report, indent=2))
    if profile is not SHORT:
        # One file per engine and profile, so that no run overwrites another's figures.
        name = "reliability" + ("" if arguments.database == "sqlite" else f"-{arguments.database}")
        name += "-copies" if profile is COPIES else ""
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    raise SystemExit(1 if report["violations"] else 0)


if __name__ == "__main__":
    main()
