"""The reliability harness's short version: load, expiry, faults and hostile input on a
real stack, then every invariant (no double sale, no double charge, replicas equal,
outbox drained, no purchase left running) holds: zero violations. Once on SQLite, and a
reduced profile on PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.reliability.databases import postgres_urls
from tests.reliability.run import SHORT, SHORT_POSTGRESQL, run
from tests.support.postgres import PostgresCluster

# A whole stack put through load and faults: about 80 s alone, and up to twice that while
# the other harness test and the rest of the suite share the two cores. The suite-wide
# 120 s limit is for ordinary tests.
HARNESS_TIMEOUT = pytest.mark.timeout(360)


def assert_checked_what_the_services_wrote(report: dict[str, Any]) -> None:
    # Checks of empty databases would find nothing wrong, whatever the services did.
    paid = report["scenarios"]["contention"]["paid"]
    assert paid > 0 and report["rows"]["payments.payments"] >= paid, report["rows"]
    assert report["rows"]["orders.orders"] >= report["scenarios"]["contention"]["orders_won"]


@HARNESS_TIMEOUT
async def test_the_short_harness_finds_no_violation(tmp_path: Path) -> None:
    report = await run(SHORT, tmp_path / "var")
    assert report["database"] == "sqlite"
    assert report["violation_details"] == {name: [] for name in report["scenarios"]}
    assert report["violations"] == 0, report
    assert report["scenarios"]["contention"]["orders_won"] == SHORT.tickets
    assert report["scenarios"]["expiry"]["bought_again"] == SHORT.reservations
    endings = report["scenarios"]["three_d_secure"]["outcomes"]
    assert sum(endings.values()) == SHORT.authentications
    assert endings["never_confirmed: cancelled"] == SHORT.authentications // 4
    kinds = report["scenarios"]["hostile_input"]["attempts_by_kind"]
    for kind in (
        "unicode account spelling",
        "hold and recycle",
        "cross-site form post",
        "card testing through 3-D Secure",
        "forged forwarding header",
        "card testing across accounts",
    ):
        assert kinds[kind]["tried"] > 0 and kinds[kind]["answered_wrongly"] == 0, kinds
    assert len(report["faults_survived"]) == 4
    assert report["scenarios"]["schema_fuzz"]["schema_failures"] == []
    assert report["scenarios"]["schema_fuzz"]["schema_cases_tried"] > 100
    assert report["inputs_tried"] > 160
    identity = report["scenarios"]["hostile_input"]["attempts_by_kind"]
    assert {"revoked token reuse", "forged admin", "cross-origin cookie request"} <= set(identity)
    assert all(kind["tried"] > 0 and kind["answered_wrongly"] == 0 for kind in identity.values())
    kinds = report["scenarios"]["hostile_input"]["attempts_by_kind"]
    assert set(kinds) >= {
        "throttle bypass",
        "oversized body",
        "wait flood",
        "price changed under the buyer",
    }
    assert all(kind["tried"] > 0 and kind["answered_wrongly"] == 0 for kind in kinds.values())
    assert_checked_what_the_services_wrote(report)


# With the edges (about 100 s of outages, slow answers and restarts on their own).
@pytest.mark.timeout(600)
async def test_the_harness_finds_no_violation_on_postgresql(
    tmp_path: Path, postgres: PostgresCluster
) -> None:
    report = await run(SHORT_POSTGRESQL, tmp_path / "var", postgres_urls(postgres))
    assert report["database"] == "postgresql"
    assert list(report["violation_details"]) == list(SHORT_POSTGRESQL.scenarios)
    assert report["violation_details"] == {name: [] for name in SHORT_POSTGRESQL.scenarios}
    assert report["violations"] == 0, report
    assert report["scenarios"]["contention"]["orders_won"] == SHORT_POSTGRESQL.tickets
    assert report["faults_survived"] == [
        "workers SIGKILL",
        "nats-server down",
        "API restart",
        "orders table locked (ACCESS EXCLUSIVE)",
    ]
    assert report["scenarios"]["hostile_input"]["inputs_tried"] > 60
    # The saga's edges: the tickets database refusing connections for longer than any
    # bounded retry after payment, workers killed mid-step, Stripe slow with the workers
    # killed mid-charge. Every paid order completed; the invariants held.
    assert report["edges_survived"] == [
        "tickets database refusing connections for 20 s after payment",
        "workers SIGKILL during the order while the tickets database refusing connections",
        "workers SIGKILL during the payment while the tickets database refusing connections",
        "workers SIGKILL during the payment while the orders database refusing connections",
        "Stripe 15 s slow, workers SIGKILL mid-charge",
    ]
    after_payment = report["scenarios"]["edges"]["edges"][0]
    assert after_payment["paid"] == SHORT_POSTGRESQL.edge_purchases
    assert after_payment["outcomes"] == {"complete": SHORT_POSTGRESQL.edge_purchases}
    assert_checked_what_the_services_wrote(report)
