"""``python -m bench``: one full benchmark run; writes bench/results/latest.{json,md}."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.report import write
from bench.run import FULL, QUICK, run

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run with few samples (not for the record)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the report")
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the stack data here")
    args = parser.parse_args()
    command = "python -m bench" + (" --quick" if args.quick else "")
    results = run(QUICK if args.quick else FULL, command, keep=args.data_dir)
    print()
    print(write(results, args.out))
    sys.exit(0)


if __name__ == "__main__":
    main()
