"""The orders worker's sandbox: every new workflow imports the saga's workflow module
afresh (isolated, under the sandbox's checks), and takes the saga's own deterministic
modules (contracts, models, steps, activity stubs) from the process, once."""

from __future__ import annotations

import sys
from typing import Any

from temporalio import workflow
from temporalio.api.common.v1 import Payloads
from temporalio.api.failure.v1 import Failure
from temporalio.converter import DataConverter
from temporalio.worker import WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _fake_info

from worker.main import SAGA_MODULES, WORKFLOW_RUNNER
from workflows.purchase import PurchaseWorkflow


def sandboxed_workflow_globals(runner: SandboxedWorkflowRunner) -> dict[str, Any]:
    """The module globals the workflow class sees inside a new instance's sandbox."""
    instance: Any = runner.create_instance(
        WorkflowInstanceDetails(
            payload_converter_factory=DataConverter.default._new_payload_converter,
            failure_converter_class=DataConverter.default.failure_converter_class,
            interceptor_classes=[],
            defn=workflow._Definition.must_from_class(PurchaseWorkflow),
            info=_fake_info,
            randomness_seed=-1,
            extern_functions={},
            disable_eager_activity_execution=False,
            worker_level_failure_exception_types=[],
            patch_activation_callback=None,
            last_completion_result=Payloads(),
            last_failure=Failure(),
        )
    )
    cls = instance.globals_and_locals["__temporal_workflow_class"]
    # The sandbox imported the workflow module afresh: not the class this process holds.
    assert cls is not PurchaseWorkflow
    globals_: dict[str, Any] = cls.run.__globals__
    return globals_


async def test_the_saga_modules_come_from_the_process_not_the_sandbox() -> None:
    seen = sandboxed_workflow_globals(WORKFLOW_RUNNER)
    assert seen["stubs"] is sys.modules["workflows.activity_stubs"]
    from_saga_modules = {
        name: value
        for name, value in seen.items()
        if getattr(value, "__module__", None) in SAGA_MODULES
    }
    assert from_saga_modules  # contracts, models and steps the workflow names
    for name, value in from_saga_modules.items():
        assert value is getattr(sys.modules[value.__module__], name, value), name


async def test_without_naming_them_the_stubs_were_imported_afresh() -> None:
    """What the worker's runner changes: the SDK's own runner re-executes the stubs."""
    seen = sandboxed_workflow_globals(SandboxedWorkflowRunner())
    assert seen["stubs"] is not sys.modules["workflows.activity_stubs"]
