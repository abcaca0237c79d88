"""The reliability harness's short version: load, expiry, faults and hostile input on a
real stack, then every invariant (no double sale, no double charge, replicas equal,
outbox drained, no purchase left running) holds: zero violations."""

from __future__ import annotations

from pathlib import Path

from tests.reliability.harness import SHORT, run


async def test_the_short_harness_finds_no_violation(tmp_path: Path) -> None:
    report = await run(SHORT, tmp_path / "var")
    assert report["violation_details"] == {name: [] for name in report["scenarios"]}
    assert report["violations"] == 0, report
    assert report["scenarios"]["contention"]["orders_won"] == SHORT.tickets
    assert report["scenarios"]["expiry"]["bought_again"] == SHORT.reservations
    assert len(report["faults_survived"]) == 4
    assert report["scenarios"]["schema_fuzz"]["schema_failures"] == []
    assert report["scenarios"]["schema_fuzz"]["schema_cases_tried"] > 100
    assert report["inputs_tried"] > 160
