"""Log lines: one JSON object a line outside development (``time``, ``level``,
``logger``, ``message``, and ``order_id`` and ``trace_id`` on every line about a
purchase), readable text in development; ``configure_logging`` sets a process up.

A line is about a purchase when it is logged inside one of its activities or by its
workflow (Temporal's loggers name the workflow, whose id names the order: the process
says how, ``order_of_workflow``), or inside ``about_order`` (a consumer applying an
order's event); its trace id is the current span's, when tracing is on.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import IO, Any, Literal, Protocol
from uuid import UUID

from pythonjsonlogger.json import JsonFormatter
from temporalio import activity, workflow

from services.common.observability.tracing import current_trace_id


class LogSettings(Protocol):
    """What the log lines' shape depends on: a service's settings, or the web shop's."""

    @property
    def log_format(self) -> Literal["json", "text"] | None: ...

    @property
    def log_level(self) -> str: ...

    @property
    def is_development(self) -> bool: ...


# The order a workflow id names, if any (``workflows.contracts.order_of_workflow``).
OrderOfWorkflow = Callable[[str], str | None]
# Loud on the payment path (three lines per charge) and of no use to an operator.
_CHATTY = ("httpx", "stripe")

_order_id: ContextVar[str | None] = ContextVar("order_id", default=None)


@contextlib.contextmanager
def about_order(order_id: UUID | str | None) -> Iterator[None]:
    """Every line logged in the block is about this order (None: no order)."""
    token = _order_id.set(str(order_id) if order_id is not None else None)
    try:
        yield
    finally:
        _order_id.reset(token)


class PurchaseContext(logging.Filter):
    """Puts ``order_id`` and ``trace_id`` on a record about a purchase (neither when
    unknown, so other lines carry no empty keys)."""

    def __init__(self, order_of_workflow: OrderOfWorkflow | None = None) -> None:
        super().__init__()
        self.order_of_workflow = order_of_workflow

    def filter(self, record: logging.LogRecord) -> bool:
        fields = record.__dict__
        if fields.get("order_id") is None:
            order_id = _order_id.get() or self._order_of(fields)
            if order_id is not None:
                record.order_id = order_id
        if fields.get("trace_id") is None:
            trace_id = current_trace_id()
            if trace_id is not None:
                record.trace_id = trace_id
        return True

    def _order_of(self, fields: Mapping[str, Any]) -> str | None:
        if self.order_of_workflow is None:
            return None
        # Temporal's workflow and activity loggers say which workflow in ``extra``; a
        # plain logger inside an activity is still in its context.
        details = fields.get("temporal_workflow") or fields.get("temporal_activity")
        if isinstance(details, Mapping):
            workflow_id = details.get("workflow_id")
        elif activity.in_activity():
            workflow_id = activity.info().workflow_id
        else:
            return None
        return self.order_of_workflow(workflow_id) if isinstance(workflow_id, str) else None


class ReadableFormatter(logging.Formatter):
    """``time level logger message [order_id=... trace_id=...]``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = [
            f"{key}={record.__dict__[key]}"
            for key in ("order_id", "trace_id")
            if record.__dict__.get(key) is not None
        ]
        return f"{line} [{' '.join(context)}]" if context else line


def json_formatter() -> JsonFormatter:
    # Everything passed in ``extra`` (Temporal's workflow and activity details among
    # them) comes along as a field of its own.
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
        json_ensure_ascii=False,
    )


def uses_json(settings: LogSettings) -> bool:
    if settings.log_format is not None:
        return settings.log_format == "json"
    return not settings.is_development


def log_handler(
    settings: LogSettings,
    stream: IO[str] | None = None,
    *,
    order_of_workflow: OrderOfWorkflow | None = None,
) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(PurchaseContext(order_of_workflow))
    formatter = json_formatter() if uses_json(settings) else ReadableFormatter()
    handler.setFormatter(RedactingFormatter(formatter))
    return handler


# scheme://userinfo@ in a URL: the user and password (or token) that NATS_URL, a
# database URL or a Redis URL may carry.
_USERINFO = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.\-]*://)[^\s/@'\"]+@")


def redact_credentials(text: str) -> str:
    """Every URL in ``text`` without its credentials: ``nats://***@nats:4222``."""
    return _USERINFO.sub(r"\1***@", text)


class RedactingFormatter(logging.Formatter):
    """A line as ``inner`` writes it, exception and all, with every URL's credentials
    taken out: whatever a library puts in an error message, no password reaches the log."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return redact_credentials(self.inner.format(record))


def configure_logging(
    settings: LogSettings, *, order_of_workflow: OrderOfWorkflow | None = None
) -> None:
    """The process's one handler on the root logger; uvicorn's loggers hand their lines
    to it instead of printing them their own way. ``order_of_workflow`` reads the order
    out of a workflow id (a process that runs workflows or activities passes it)."""
    if uses_json(settings):
        # The workflow's and activity's details are fields of their own (``extra``); a
        # copy of them on the end of every message is noise there.
        workflow.logger.workflow_info_on_message = False
        activity.logger.activity_info_on_message = False
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(log_handler(settings, order_of_workflow=order_of_workflow))
    root.setLevel(settings.log_level.upper())
    for chatty in _CHATTY:
        logging.getLogger(chatty).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        server_logger = logging.getLogger(name)
        if name == "uvicorn.access" and not server_logger.handlers and not server_logger.propagate:
            # uvicorn's --no-access-log left it so (an app module configured after the
            # server's own set-up, as `ticketing up`'s): a line per request stays off.
            continue
        server_logger.handlers.clear()
        server_logger.propagate = True
