"""A history encrypted with one key replays after the keys rotate, as long as the old key
stays among them: recorded here on the test server with key A, replayed with [B, A] (B
encrypting from now on), as a worker deployed after the rotation replays it."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from services.common.payload_codec import EncryptionCodec
from services.common.temporal import data_converter
from tests.replay.record import PATHS
from tests.support.payload_keys import KEY_A, KEY_B
from tests.workflows.support import Shop, running_purchases
from workflows.purchase import PurchaseWorkflow


async def _recorded_with_key_a(temporal_env: WorkflowEnvironment, path: str) -> WorkflowHistory:
    codec = EncryptionCodec([KEY_A])
    async with running_purchases(temporal_env.client, Shop(), codec=codec) as purchases:
        handle, _ = await PATHS[path](purchases)
        await handle.result()
        history = await handle.fetch_history()
    # As a committed history is kept: JSON, read back.
    return WorkflowHistory.from_json(history.workflow_id, history.to_json())


def _replayer(*keys: tuple[str, bytes]) -> Replayer:
    codec = EncryptionCodec(list(keys))
    return Replayer(workflows=[PurchaseWorkflow], data_converter=data_converter(codec))


@pytest.mark.parametrize("path", ["paid", "declined_then_paid"])
async def test_a_history_replays_after_its_key_is_rotated_out_of_first_place(
    temporal_env: WorkflowEnvironment, path: str
) -> None:
    history = await _recorded_with_key_a(temporal_env, path)
    result = await _replayer(KEY_B, KEY_A).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


async def test_a_history_does_not_replay_once_its_key_is_gone(
    temporal_env: WorkflowEnvironment,
) -> None:
    history = await _recorded_with_key_a(temporal_env, "paid")
    result = await _replayer(KEY_B).replay_workflow(history, raise_on_replay_failure=False)
    assert "UndecryptablePayload" in str(result.replay_failure)
