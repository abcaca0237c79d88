"""Every committed history of the saga replays on today's workflow code: a change that
would break running purchases fails here (such a change needs ``workflow.patched``).
The histories at the top are today's shapes of every path, recorded on a real Temporal
server through the production path (``python -m tests.replay.record``). Those of an
earlier shape stay, in a folder named for the change that followed them, while purchases
of that shape may still run (``before_reissue_removal/``: with the deprecated
``reissue-on-sale`` marker); they go when their patch's call does (the patch ledger,
docs/saga.md)."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from services.common.temporal import data_converter
from tests.replay.record import HISTORIES, PATHS
from tests.support.payload_keys import TEST_CODEC
from workflows.purchase import PurchaseWorkflow


def test_every_path_has_a_committed_history() -> None:
    assert {path.stem for path in HISTORIES.glob("*.json")} >= set(PATHS)


def _histories() -> list[object]:
    return [
        pytest.param(name, path.read_text(), id=name)
        for path in sorted(HISTORIES.rglob("*.json"))
        for name in [str(path.relative_to(HISTORIES).with_suffix(""))]
    ]


@pytest.mark.parametrize(("name", "recorded"), _histories())
async def test_history_replays(name: str, recorded: str) -> None:
    history = WorkflowHistory.from_json(f"purchase-{name}", recorded)
    # As the workers decode: the codec lets these unencrypted histories through.
    replayer = Replayer(workflows=[PurchaseWorkflow], data_converter=data_converter(TEST_CODEC))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
