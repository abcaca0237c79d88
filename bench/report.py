"""The run's report: JSON (every figure) and a Markdown table (the headline figures)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _ms(figure: dict[str, Any]) -> str:
    if not figure or figure.get("n", 0) == 0:
        return "-"
    return f"{figure['p50_ms']:.0f} / {figure['p99_ms']:.0f}"


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _p50(figure: dict[str, Any] | None) -> str:
    if not figure or not figure.get("n"):
        return "-"
    return f"{figure['p50_ms']:.0f}"


def _timeline(timeline: dict[str, Any] | None) -> list[str]:
    if not timeline:
        return []
    ceiling, purchase = timeline["ceiling"]["steps"], timeline["purchase"]["steps"]
    lines = [
        "",
        f"## Where a saga's time goes ({timeline['concurrency']} buyers, p50 ms, "
        "from Temporal's histories)",
        "",
        "| step | null saga | purchase |",
        "|---|---:|---:|",
    ]
    for step in sorted(set(ceiling) | set(purchase)):
        lines.append(f"| {step} | {_p50(ceiling.get(step))} | {_p50(purchase.get(step))} |")
    return lines


def _floor_and_rush(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if results.get("floor"):
        lines += [
            "",
            "## The floor: one no-op activity per workflow, same server and workers",
            "",
            "| concurrent | runs/s | p50 / p99 ms | purchases/s | ratio_to_floor |",
            "|---:|---:|---:|---:|---:|",
        ]
        for level, figure in results["floor"].items():
            purchase = results["purchase"].get(level, {})
            lines.append(
                f"| {level} | {_num(figure['runs_per_second'])} | {_ms(figure['run'])} "
                f"| {_num(purchase.get('purchases_per_second'))} "
                f"| {_num(purchase.get('ratio_to_floor'), 2)} |"
            )
    if results.get("rush"):
        rush = results["rush"]
        lines += [
            "",
            f"## The rush (rush_ratio {_num(rush['rush_ratio'], 2)})",
            "",
            "| run | buyers on tickets | wall s | answers | winners p50 / p99 ms "
            "| losers p50 / p99 ms | Purchase workflows |",
            "|---|---:|---:|---|---:|---:|---:|",
        ]
        for name in ("winners_alone", "rush"):
            run = rush[name]
            answers = ", ".join(f"{count} x {status}" for status, count in run["answers"].items())
            lines.append(
                f"| {name.replace('_', ' ')} | {run['buyers']} on {run['tickets']} "
                f"| {_num(run['wall_seconds'], 2)} | {answers} | {_ms(run['winners'])} "
                f"| {_ms(run['losers'])} | {run['purchase_workflows']} |"
            )
        if rush.get("bare_burst"):
            bare = rush["bare_burst"]
            lines += [
                "",
                f"Bare burst: {bare['requests']} signed-in `GET /api/users/currentuser` at once, "
                f"p50 / p99 {_ms(bare['latency'])} ms; loser_cost_ratio (losers' p99 / bare "
                f"p99) {_num(rush.get('loser_cost_ratio'), 2)}.",
            ]
    return lines


def _shape(results: dict[str, Any]) -> list[str]:
    """CPU, events and actions per paid purchase: what the saga's shape costs."""
    lines = ["", "## What a purchase costs", "", "| buyers | CPU s per purchase, all processes |"]
    lines.append("|---:|---:|")
    for level, purchase in results["purchase"].items():
        lines.append(f"| {level} | {_num(purchase.get('cpu_seconds_per_purchase_total'), 3)} |")
    shape = (results.get("timeline") or {}).get("shape")
    if shape:
        kinds = ", ".join(f"{kind} {n:g}" for kind, n in shape["actions_by_kind"].items())
        lines += [
            "",
            f"Per paid purchase (n={shape['sagas']}): events_per_purchase "
            f"{_num(shape['events_per_purchase'])}, actions_per_purchase "
            f"{_num(shape['actions_per_purchase'])} ({kinds}).",
        ]
    return lines


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        "# Benchmark: latest run",
        "",
        f"{meta['started_at']} · commit `{meta['commit']}` · {meta['cpus']} CPUs · "
        f"Python {meta['python']} · `{meta['command']}`",
        "",
        "## Purchase path against the null-saga ceiling",
        "",
        "| buyers | ceiling sagas/s | ceiling p50 / p99 ms | purchases/s | ratio_to_ceiling "
        "| order p50 / p99 ms | payment p50 / p99 ms | order→complete p50 / p99 ms "
        "| failed |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level, purchase in results["purchase"].items():
        ceiling = results["ceiling"][level]
        lines.append(
            f"| {level} | {_num(ceiling['sagas_per_second'])} "
            f"| {_ms(ceiling['saga'])} | {_num(purchase['purchases_per_second'])} "
            f"| {_num(purchase['ratio_to_ceiling'], 2)} | {_ms(purchase['order'])} "
            f"| {_ms(purchase['payment'])} | {_ms(purchase['order_to_complete'])} "
            f"| {purchase['failures'] + ceiling['failures']} |"
        )
    lag = results["event_lag"]
    read = results["read_path"]
    footprint = results["footprint"]
    lines += [
        "",
        "## Event lag, read path, footprint",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| event lag `ticket.updated` → orders replica, p50 / p99 ms "
        f"(n={lag['lag']['n']}) | {_ms(lag['lag'])} |",
        f"| GET /api/tickets?limit={read['page_size']} req/s "
        f"({meta['catalogue_tickets']} tickets for sale, {read['concurrency']} clients) "
        f"| {_num(read['tickets']['requests_per_second'])} |",
        f"| GET /healthz req/s (same process, same load) "
        f"| {_num(read['bare']['requests_per_second'])} |",
        f"| read path ratio tickets / bare | {_num(read['ratio_to_bare'], 2)} |",
        f"| resident memory at idle, whole stack (MiB) | {_num(footprint['idle']['rss_mib'])} |",
        f"| resident memory under load, peak (MiB) "
        f"| {_num(footprint['under_load_peak']['rss_mib'])} |",
        f"| resident memory at idle after the load (MiB) "
        f"| {_num(footprint['idle_after_load']['rss_mib'])} |",
        f"| cold start, `ticketing up` to /readyz 200 (s) "
        f"| {_num(results['cold_start_seconds'], 2)} |",
    ]
    lines += _floor_and_rush(results)
    lines += _shape(results)
    lines += _timeline(results.get("timeline"))
    lines += [
        "",
        f"Samples: {meta['samples']}.",
    ]
    if meta.get("note"):
        lines += ["", f"Note: {meta['note']}"]
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (directory / "latest.md").write_text(table)
    return table
