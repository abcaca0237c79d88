"""The import rules of docs/architecture.md, checked by reading every module's imports
(each ``import`` statement, at the top, inside a function or under TYPE_CHECKING).

Imports run downhill: ``worker/`` assembles the saga and the activities; ``activities/``
adapt Temporal to one service's operations; a service imports the shared library, its own
modules and the saga's contracts; ``services/common`` imports no service, workflow or
activity; ``workflows/`` imports nothing of ours but itself. No module is part of an import
cycle. A new back arrow or a new cycle fails here, naming the import.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("services", "workflows", "activities", "worker", "devstack", "web", "bench")
SERVICES = ("auth", "tickets", "orders", "payments", "notifications")

# What a module may import of ours, by the most specific prefix of its name that is listed.
# Nothing here names tests/: no shipped code imports the tests.
ALLOWED: dict[str, tuple[str, ...]] = {
    # The saga: deterministic code, its messages and its contracts.
    "workflows": ("workflows",),
    # The package itself (its __init__).
    "services": ("services.common",),
    # The shared library: it knows no service, no workflow and no activity.
    "services.common": ("services.common",),
    # The Temporal Web UI's codec endpoint.
    "services.codec_server": ("services.common",),
    # Every service's definition by name (each service's own service.py).
    "services.definitions": ("services.common", *(f"services.{s}" for s in SERVICES)),
    # The `ticketing` command: the composition root, above every layer (it starts the
    # stack, an API, a worker or a migration, as asked).
    "services.cli": PACKAGES,
    **{
        # A service: the shared library, its own modules, and the saga's contracts and
        # messages (the orders and payments services start and pay through the saga).
        f"services.{s}": ("services.common", f"services.{s}", "workflows")
        for s in SERVICES
    },
    **{
        # One service's activities: that service, the saga's contracts and messages.
        f"activities.{s}": ("activities", "services.common", f"services.{s}", "workflows")
        for s in SERVICES
    },
    "activities": ("activities", "services.common", "workflows"),
    # The worker assembles: which workflows and activities run on which task queue.
    "worker": ("worker", "activities", "services", "workflows"),
    # The web shop: a client of the API over HTTP; the shared library's plumbing only.
    "web": ("web", "services.common"),
    # Development machinery: the embedded servers and the one-URL gateway of `ticketing up`.
    "devstack": ("devstack", "services", "web", "workflows"),
    # Benchmarks drive everything, and nothing imports them.
    "bench": PACKAGES,
}

# What the saga's deterministic code may not import (no I/O, no database).
NOT_IN_WORKFLOWS = (
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "fastapi",
    "starlette",
    "httpx",
    "nats",
    "stripe",
)
# Below the routes nothing speaks HTTP.
HTTP = ("fastapi", "starlette", "services.common.http")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            # Alembic revisions are scripts run by Alembic, frozen once written.
            if "migrations" in path.relative_to(ROOT).parts:
                continue
            found[_module_name(path)] = path
    return found


def _imported_names(name: str, path: Path) -> Iterator[str]:
    """Every module name an import statement of the module names (``from a import b``
    gives ``a.b`` and ``a``: b may be a module or a name in a)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                if not is_package:
                    base.pop()
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def _ours(imported: str) -> str | None:
    """The module of ours an imported name is (or is in), if any."""
    known = modules()
    while imported:
        if imported in known:
            return imported
        imported = imported.rpartition(".")[0]
    return None


@cache
def imports() -> dict[str, dict[str, set[str]]]:
    """Per module: ``ours`` (our modules it imports) and ``outside`` (the top-level
    names of everything else it imports)."""
    graph: dict[str, dict[str, set[str]]] = {}
    for name, path in modules().items():
        ours: set[str] = set()
        outside: set[str] = set()
        for imported in _imported_names(name, path):
            target = _ours(imported)
            if target is not None:
                ours.add(target)
            elif imported.split(".")[0] not in PACKAGES:
                outside.add(imported)
        ours.discard(name)
        graph[name] = {"ours": ours, "outside": outside}
    return graph


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _rule_for(name: str) -> tuple[str, tuple[str, ...]]:
    matching = [prefix for prefix in ALLOWED if _within(name, prefix)]
    assert matching, f"{name}: no import rule covers it; add one to ALLOWED"
    prefix = max(matching, key=len)
    return prefix, ALLOWED[prefix]


def test_every_import_runs_downhill() -> None:
    back_arrows = [
        f"{name} imports {target} (rule {prefix!r} allows {', '.join(allowed)})"
        for name, found in sorted(imports().items())
        for prefix, allowed in [_rule_for(name)]
        for target in sorted(found["ours"])
        if not any(_within(target, allowed_prefix) for allowed_prefix in allowed)
    ]
    assert not back_arrows, "imports against the layers:\n" + "\n".join(back_arrows)


def test_no_import_cycle() -> None:
    graph = {name: found["ours"] for name, found in imports().items()}
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_saga_does_no_io() -> None:
    offending = [
        f"{name} imports {imported}"
        for name, found in sorted(imports().items())
        if _within(name, "workflows")
        for imported in sorted(found["outside"])
        if any(_within(imported, banned) for banned in NOT_IN_WORKFLOWS)
    ]
    assert not offending, "\n".join(offending)


def test_operations_and_purchase_clients_speak_no_http() -> None:
    """An operation (or a purchase client) raises its service's domain errors; the
    routes map them to HTTP."""
    offending = [
        f"{name} imports {imported}"
        for name, found in sorted(imports().items())
        if name.split(".")[-1] in ("operations", "purchase_client") and _within(name, "services")
        for imported in sorted(found["ours"] | found["outside"])
        if any(_within(imported, banned) for banned in HTTP)
    ]
    assert not offending, "\n".join(offending)


def test_operations_never_commit() -> None:
    """Whoever opens a unit of work commits it: a route (its dependency's), an activity,
    a consumer or a command (ordering a ticket: services/orders/purchasing.py, which the
    route calls). An operation is handed one and neither opens nor commits."""
    offending = []
    for name, path in modules().items():
        if not (_within(name, "services") and name.endswith(".operations")):
            continue
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and _commits_or_opens(node.func):
                    offending.append(f"{name}.{function.name}, line {node.lineno}")
    assert not offending, "operations that commit or open a unit of work:\n" + "\n".join(
        sorted(set(offending))
    )


def _commits_or_opens(called: ast.expr) -> bool:
    if isinstance(called, ast.Attribute):
        return called.attr in ("commit", "unit_of_work")
    if isinstance(called, ast.Name):
        return called.id in ("UnitOfWork", "units_of_work")
    return False


def test_the_rules_see_a_back_arrow_and_a_cycle() -> None:
    """The checks themselves: a made-up service importing an activity is refused, and
    two modules importing each other are a cycle."""
    assert _rule_for("services.orders.operations")[1] == ALLOWED["services.orders"]
    assert not any(_within("activities.orders", p) for p in ALLOWED["services.orders"])
    assert not any(_within("workflows.contracts", p) for p in ALLOWED["services.common"])
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph) + 100))

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_web_shop_spells_the_order_statuses_as_the_contract_does() -> None:
    """The shop keeps the API's words as any client does (importing the contracts would
    load Temporal's SDK into it); they must stay the contract's."""
    from web import rendering
    from workflows.contracts import OrderStatus

    shop = {rendering.CREATED, rendering.AWAITING_PAYMENT, rendering.COMPLETE, rendering.CANCELLED}
    assert shop == {status.value for status in OrderStatus}
