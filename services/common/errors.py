"""Domain errors: how an operation refuses. Each service declares its own (its
``errors.py``), each a kind of refusal below with the message its users read, written
once. The edges map them: the HTTP apps to a status and the documented error shape
(``services.common.http.errors``), the activities to non-retryable Temporal failures,
the command line to a line of text. Nothing here knows HTTP."""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """A refusal of an operation, with what to tell the user (and the field at fault,
    where one is)."""

    # Each error's own words, written here once (a few pass their own, e.g. a count).
    default_message: ClassVar[str] = "The operation was refused"
    default_field: ClassVar[str | None] = None

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or self.default_message
        self.field = field or self.default_field
        super().__init__(self.message)


class Missing(DomainError):
    """What the operation was asked about does not exist."""


class NotPermitted(DomainError):
    """The caller may not do this (not the owner, their own ticket, ...)."""


class StateConflict(DomainError):
    """Not in the state the operation needs (reserved, paid, taken, ...)."""


class InvalidInput(DomainError):
    """The input is well-formed but wrong (a wrong password, ...)."""


class PaymentDeclined(DomainError):
    """The card was declined."""


class Limited(DomainError):
    """Not now: a limit of the caller's is spent for ``retry_after_seconds`` more."""

    def __init__(self, retry_after_seconds: float, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = max(1, int(retry_after_seconds + 0.999))
