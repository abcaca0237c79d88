"""Before a deploy, replay the saga's recent histories from the live namespace on the code
about to be deployed: a change that would break running purchases fails here, before a
worker meets them. ``ticketing replay --since 30m`` (the namespace and server are the
settings'; ``--query`` narrows the selection). samples-python's replay/replayer.py, with
the services' converter and codec."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from temporalio.client import Client
from temporalio.worker import Replayer

from workflows.purchase import PurchaseWorkflow

# Every Purchase that started since, closed or running (a running one replays what it has).
QUERY = 'WorkflowType = "Purchase" AND StartTime > "{since}"'


@dataclass
class ReplayReport:
    replayed: int = 0
    failures: dict[str, str] = field(default_factory=dict)


async def replay_recent(
    client: Client,
    since: timedelta,
    *,
    query: str | None = None,
    limit: int = 1000,
    workflows: Sequence[type] = (PurchaseWorkflow,),
) -> ReplayReport:
    """Replays at most ``limit`` histories of purchases started within ``since``, on
    ``workflows`` (the code about to be deployed)."""
    start = (datetime.now(UTC) - since).isoformat(timespec="seconds").replace("+00:00", "Z")
    selection = QUERY.format(since=start) + (f" AND ({query})" if query else "")
    converter = client.data_converter
    replayer = Replayer(workflows=list(workflows), data_converter=converter)
    report = ReplayReport()
    histories = client.list_workflows(selection, limit=limit).map_histories()
    async with replayer.workflow_replay_iterator(histories) as results:
        async for result in results:
            report.replayed += 1
            if result.replay_failure is not None:
                report.failures[result.history.workflow_id] = str(result.replay_failure)
    return report
