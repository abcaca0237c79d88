"""What the workflow sandbox costs per purchase: a new workflow instance, as the orders
worker makes one for every saga it starts (or takes back into its cache).

``python -m bench.sandbox [--instances 300]`` creates instances of the purchase workflow
with each runner below and reports CPU milliseconds per instance:

- ``sdk_default``: the SDK's runner as it comes: what the workflow's own
  ``imports_passed_through`` passes through, no more;
- ``worker``: the orders worker's runner (``worker.main.WORKFLOW_RUNNER``: the saga's
  contracts, models, steps and activity stubs named as passed through);
- ``workflow_passed_through``: the workflow module itself passed through too, the one
  module the sandbox still executes per instance. Not what the worker does (the module
  would then run outside the sandbox's import checks): it bounds what is left to save.

With ``--sagas N``, it also runs N null sagas (``bench.null_saga``, 10 at once) on a
Temporal dev server of its own, its workers in this process, in turn with the worker's
runner, with the workflow module passed through, and with no sandbox at all
(``UnsandboxedWorkflowRunner``), twice each,
and reports this process's CPU milliseconds per saga: what the sandbox costs a purchase
in all, every workflow task included, not only its new instance.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import uvloop
from temporalio import workflow
from temporalio.worker import UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from bench import null_saga
from devstack.temporal import TemporalDevServer
from tests.support.ports import free_port
from worker.main import WORKFLOW_RUNNER
from workflows.purchase import PurchaseWorkflow

WINDOW_SECONDS = 900
WARMUP_SAGAS = 10
SAGAS_AT_ONCE = 10


async def per_instance(runner: SandboxedWorkflowRunner, instances: int) -> float:
    """CPU milliseconds per instance created (the process's own CPU time)."""
    definition = workflow._Definition.must_from_class(PurchaseWorkflow)
    runner.prepare_workflow(definition)  # warm: the first one imports what is passed through
    started = time.process_time()
    for _ in range(instances):
        runner.prepare_workflow(definition)
    return (time.process_time() - started) * 1000 / instances


async def run(instances: int) -> dict[str, float]:
    variants: dict[str, Callable[[], SandboxedWorkflowRunner]] = {
        "sdk_default": SandboxedWorkflowRunner,
        "worker": lambda: WORKFLOW_RUNNER,
        "workflow_passed_through": lambda: SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows")
        ),
    }
    # On an event loop, as in the worker: an instance binds itself to the running one.
    return {
        name: round(await per_instance(make(), instances), 3) for name, make in variants.items()
    }


async def per_saga(temporal_address: str, runner: WorkflowRunner, sagas: int) -> float:
    """CPU milliseconds of this process (client and workers) per null saga."""
    async with null_saga.running(temporal_address, runner) as client:
        await null_saga.wait_until_serving(client, WINDOW_SECONDS)
        for _ in range(WARMUP_SAGAS):
            await null_saga.one_saga(client, WINDOW_SECONDS)
        at_once = asyncio.Semaphore(SAGAS_AT_ONCE)

        async def one() -> None:
            async with at_once:
                await null_saga.one_saga(client, WINDOW_SECONDS)

        started = time.process_time()
        await asyncio.gather(*(one() for _ in range(sagas)))
        return (time.process_time() - started) * 1000 / sagas


def run_sagas(sagas: int) -> dict[str, list[float]]:
    runners: dict[str, WorkflowRunner] = {
        "worker": WORKFLOW_RUNNER,
        "workflow_passed_through": SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows")
        ),
        "unsandboxed": UnsandboxedWorkflowRunner(),
    }
    figures: dict[str, list[float]] = {name: [] for name in runners}
    with tempfile.TemporaryDirectory(prefix="ticketing-sandbox-") as scratch:
        server = TemporalDevServer(
            port=free_port(), ui_port=free_port(), db_path=Path(scratch) / "temporal.db"
        )
        server.start()
        try:
            for _ in range(2):
                for name, runner in runners.items():
                    # The worker's own loop: uvloop, as worker.main runs it.
                    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as loop:
                        cpu = loop.run(per_saga(server.address, runner, sagas))
                    figures[name].append(round(cpu, 1))
        finally:
            server.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sandbox", description=__doc__)
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--sagas", type=int, default=0, help="null sagas per round (0: none)")
    args = parser.parse_args()
    report: dict[str, object] = {"ms_per_instance": asyncio.run(run(args.instances))}
    if args.sagas:
        report["ms_per_saga"] = run_sagas(args.sagas)
    print(json.dumps(report, indent=2))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
