"""The full reliability harness: `.venv/bin/python -m tests.reliability [--short]`.

Prints the figures and writes them to bench/results/reliability.json (the short profile
only prints)."""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

from tests.reliability.harness import FULL, SHORT, run

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "reliability.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--short", action="store_true", help="the version the test suite runs")
    profile = SHORT if parser.parse_args().short else FULL
    with tempfile.TemporaryDirectory(prefix="ticketing-reliability-") as scratch:
        report = asyncio.run(run(profile, Path(scratch) / "var"))
    print(json.dumps(report, indent=2))
    if profile is FULL:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    raise SystemExit(1 if report["violations"] else 0)


if __name__ == "__main__":
    main()
