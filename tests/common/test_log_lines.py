"""Log lines: JSON objects outside development, each line about a purchase with its
order id and trace id; readable text in development."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from uuid import uuid4

import pytest
from opentelemetry.sdk.trace import TracerProvider
from temporalio import activity, workflow

from services.common.observability import tracing
from services.common.observability.logging import (
    about_order,
    configure_logging,
    log_handler,
    uses_json,
)
from services.common.settings import Environment, Settings
from workflows.contracts import order_of_workflow


@pytest.fixture
def traced() -> Iterator[TracerProvider]:
    provider = TracerProvider()
    tracing.install(provider)
    try:
        yield provider
    finally:
        tracing.uninstall()


def lines_of(settings: Settings) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    logger = logging.getLogger(f"test.{uuid4().hex}")
    logger.propagate = False
    logger.addHandler(log_handler(settings, out, order_of_workflow=order_of_workflow))
    logger.setLevel(logging.INFO)
    return logger, out


def production() -> Settings:
    # As a production process would have them, without the keys it would need to start.
    return Settings.model_construct(environment=Environment.PRODUCTION, log_format=None)


def test_json_outside_development_and_text_in_it() -> None:
    assert uses_json(production())
    assert not uses_json(Settings.model_construct(environment=Environment.DEVELOPMENT))
    assert uses_json(
        Settings.model_construct(environment=Environment.DEVELOPMENT, log_format="json")
    )


@pytest.mark.usefixtures("traced")
def test_a_line_about_an_order_is_json_with_its_order_id_and_trace_id() -> None:
    logger, out = lines_of(production())
    order_id = uuid4()
    with tracing.tracer().start_as_current_span("POST /api/orders") as span, about_order(order_id):
        logger.info("order %s locked its ticket", "x")
    logger.warning("not about an order")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert first["message"] == "order x locked its ticket"
    assert first["level"] == "INFO"
    assert first["logger"] == logger.name
    assert first["time"].endswith("+00:00")
    assert first["order_id"] == str(order_id)
    assert first["trace_id"] == trace_id
    assert second["level"] == "WARNING"
    assert "order_id" not in second
    assert "trace_id" not in second


def test_temporal_s_workflow_details_name_the_order() -> None:
    logger, out = lines_of(production())
    order_id = uuid4()
    # What Temporal's workflow logger passes in ``extra``.
    details = {"workflow_id": f"order-{order_id}", "workflow_type": "Purchase"}
    logger.warning("reserving failed; undoing", extra={"temporal_workflow": details})
    line = json.loads(out.getvalue())
    assert line["order_id"] == str(order_id)
    assert line["temporal_workflow"]["workflow_type"] == "Purchase"


def test_development_lines_are_readable() -> None:
    logger, out = lines_of(Settings.model_construct(environment=Environment.DEVELOPMENT))
    order_id = uuid4()
    with about_order(order_id):
        logger.info("charged")
    line = out.getvalue().rstrip("\n")
    assert f" INFO {logger.name} charged [order_id={order_id}]" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_configure_logging_gives_the_process_one_json_handler(
    capfd: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, workflow.logger.workflow_info_on_message)
    uvicorn_saved = {
        name: (list(logging.getLogger(name).handlers), logging.getLogger(name).propagate)
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
    }
    try:
        configure_logging(production())
        assert len(root.handlers) == 1
        assert not workflow.logger.workflow_info_on_message
        logging.getLogger("uvicorn.error").warning("server line")
        line = json.loads(capfd.readouterr().err.splitlines()[-1])
        assert line["logger"] == "uvicorn.error"
        assert line["message"] == "server line"
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        workflow.logger.workflow_info_on_message = saved[2]
        activity.logger.activity_info_on_message = True
        for name, (handlers, propagate) in uvicorn_saved.items():
            logging.getLogger(name).handlers[:] = handlers
            logging.getLogger(name).propagate = propagate


@pytest.mark.parametrize("access_log", [False, True])
def test_uvicorns_access_log_setting_holds_after_configure_logging(access_log: bool) -> None:
    """`ticketing up` runs uvicorn with --no-access-log and the app module configures
    logging afterwards: the access log stays off (a line per request is CPU spent on
    every request); where uvicorn keeps it on, its lines go through our handler."""
    import uvicorn

    root = logging.getLogger()
    saved = (list(root.handlers), root.level, workflow.logger.workflow_info_on_message)
    uvicorn_saved = {
        name: (list(logging.getLogger(name).handlers), logging.getLogger(name).propagate)
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
    }
    try:
        uvicorn.Config("devstack.gateway.main:app", access_log=access_log).configure_logging()
        configure_logging(production())
        access = logging.getLogger("uvicorn.access")
        assert access.hasHandlers() is access_log
        assert access.handlers == []
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        workflow.logger.workflow_info_on_message = saved[2]
        activity.logger.activity_info_on_message = True
        for name, (handlers, propagate) in uvicorn_saved.items():
            logging.getLogger(name).handlers[:] = handlers
            logging.getLogger(name).propagate = propagate
