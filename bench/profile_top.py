"""The functions that take the most samples in a py-spy profile (``--format raw``: one
collapsed stack per line with its count), inclusive and self, as shares of all samples.

``python -m bench.profile_top PROFILE [--top 30] [--match TEXT]``: with ``--match``, only
the stacks that pass through a frame containing TEXT (a route's function, say) count.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def read(path: Path, match: str | None) -> tuple[Counter[str], Counter[str], int]:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = stack.split(";")
        if match is not None and not any(match in frame for frame in frames):
            continue
        count = int(count_text)
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    return inclusive, own, total


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_top", description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--match", default=None)
    args = parser.parse_args()
    inclusive, own, total = read(args.profile, args.match)
    print(f"{total} samples")
    for title, counts in (("inclusive", inclusive), ("self", own)):
        print(f"\n{title}:")
        for frame, count in counts.most_common(args.top):
            print(f"{100 * count / max(total, 1):5.1f} %  {frame}")


if __name__ == "__main__":
    main()
