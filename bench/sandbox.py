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
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable

from temporalio import workflow
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from worker.main import WORKFLOW_RUNNER
from workflows.purchase import PurchaseWorkflow


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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sandbox", description=__doc__)
    parser.add_argument("--instances", type=int, default=300)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.instances)), indent=2))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
