"""Attempts counted by kind, and the ones answered wrongly: what the hostile-input
scenario reports for each kind of attack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx


class Tally:
    def __init__(self) -> None:
        self.kinds: dict[str, dict[str, int]] = {}
        self.wrong: list[str] = []

    def judge(self, kind: str, ok: bool, what: str) -> None:
        """One attempt of ``kind``, answered rightly or not (``what`` says which)."""
        counts = self.kinds.setdefault(kind, {"tried": 0, "answered_wrongly": 0})
        counts["tried"] += 1
        if not ok:
            counts["answered_wrongly"] += 1
            self.wrong.append(f"{kind}: {what}")

    def expect(
        self,
        kind: str,
        response: httpx.Response,
        statuses: set[int],
        what: str,
        *,
        retry_after: bool = False,
        check: Callable[[Any], bool] = lambda _body: True,
    ) -> None:
        """A refusal: one of ``statuses``, in the error shape (and with Retry-After)."""
        body = response.json() if response.content else None
        shaped = isinstance(body, dict) and isinstance(body.get("errors"), list)
        ok = (
            response.status_code in statuses
            and shaped
            and check(body)
            and (not retry_after or int(response.headers.get("retry-after", "0")) > 0)
        )
        self.judge(kind, ok, f"{what}: {response.status_code} {response.text[:120]}")

    def report(self) -> dict[str, Any]:
        return {"attempts": self.kinds, "answered_wrongly": self.wrong}
