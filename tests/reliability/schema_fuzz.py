"""schemathesis against every service's OpenAPI document on the running stack: no 5xx,
every status documented, every body matching its schema."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any

from tests.reliability.market import User

DOCUMENTS = ["users", "tickets", "orders", "payments"]
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"


async def fuzz(api_url: str, user: User, *, examples: int, seed: int | None) -> dict[str, Any]:
    tried = 0
    failures: list[str] = []
    for document in DOCUMENTS:
        command = [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{api_url}/api/{document}/openapi.json",
            "--checks",
            CHECKS,
            "--max-examples",
            str(examples),
            "--header",
            f"Authorization: {user.headers['Authorization']}",
            *(["--seed", str(seed)] if seed is not None else []),
        ]
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        output = (await process.communicate())[0].decode(errors="replace")
        generated = re.search(r"(\d+) generated", output)
        tried += int(generated.group(1)) if generated else 0
        if process.returncode != 0:
            failures.append(f"/api/{document}: {_failures(output)}")
    return {"schema_cases_tried": tried, "schema_failures": failures}


def _failures(output: str) -> str:
    """The summary lines that name each failure, e.g. 'ST101 Server error: 1'."""
    return "; ".join(re.findall(r"❌ (ST\d+[^\n]*)", output)) or output[-500:]
