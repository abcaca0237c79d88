"""The pre-deploy replay (``ticketing replay``): purchases fetched from a real server's
namespace replay on today's code, and a change that would break them is named."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.testing import WorkflowEnvironment

from tests.support.polling import eventually
from tests.workflows.support import Shop, running_purchases
from worker.replay import ReplayReport, replay_recent


@workflow.defn(name="Purchase", sandboxed=False)
class ChangedPurchase:
    """A deploy that forgot a patch: it no longer locks the ticket first."""

    @workflow.run
    async def run(self, purchase: object) -> None:
        await workflow.sleep(timedelta(seconds=1))


async def test_recent_purchases_replay_and_a_breaking_change_is_named(
    temporal_dev_env: WorkflowEnvironment,
) -> None:
    async with running_purchases(temporal_dev_env.client, Shop()) as purchases:
        paid = await purchases.order()
        await purchases.pay(paid)
        await paid.result()
    async with running_purchases(temporal_dev_env.client, Shop()) as purchases:
        waiting = await purchases.order()  # still running: it replays what it has
        ours = f'WorkflowId = "{paid.id}" OR WorkflowId = "{waiting.id}"'

        async def both_listed() -> ReplayReport:
            return await replay_recent(purchases.client, timedelta(minutes=5), query=ours)

        report = await eventually(both_listed, lambda found: found.replayed == 2, within=20)
        assert report.failures == {}

        broken = await replay_recent(
            purchases.client, timedelta(minutes=5), query=ours, workflows=[ChangedPurchase]
        )
        assert set(broken.failures) == {paid.id, waiting.id}
        assert all("ondeterminism" in failure for failure in broken.failures.values())
