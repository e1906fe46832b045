"""Console output of the offline plan: progress while it runs, tables when it is done."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from infra.plan.engine import Plan

# Wide enough for resource names when the output is a file or a pipe, not a terminal.
console = Console(width=None if sys.stdout.isatty() else 160)


def synthesize_with_progress(stack: str, config_file: Path | None, overrides: list[str]) -> Plan:
    """Import the program and run it under mocks, with a spinner (imports take a second)."""
    with console.status(f"synthesising stack [bold]{stack}[/] offline", spinner="dots"):
        from infra.plan.engine import synthesize

        return synthesize(stack, config_file, overrides)


def print_plan(plan: Plan, *, quiet: bool = False) -> None:
    """Resources grouped by component, then a count per type."""
    custom = [r for r in plan.resources if r["custom"]]
    if not quiet:
        table = Table(title=f"stack {plan.stack}: resources", show_lines=False)
        table.add_column("component")
        table.add_column("type")
        table.add_column("name")
        table.add_column("protected", justify="center")
        for resource in custom:
            table.add_row(
                _component_of(plan, resource),
                resource["type"],
                resource["name"],
                "yes" if resource["protect"] else "",
            )
        console.print(table)
        if plan.outputs:
            outputs = Table(title=f"stack {plan.stack}: outputs")
            outputs.add_column("output")
            outputs.add_column("value", overflow="fold")
            for name, value in sorted(plan.outputs.items()):
                outputs.add_row(name, value if isinstance(value, str) else json.dumps(value))
            console.print(outputs)
    for note in plan.notes:
        console.print(f"[yellow]offline stand-in[/]: {note}")
    types = Counter(r["type"] for r in custom)
    console.print(
        f"[bold]{plan.stack}[/]: {len(custom)} resources of {len(types)} types, "
        f"{sum(1 for r in custom if r['protect'])} protected"
    )


def _component_of(plan: Plan, resource: dict[str, Any]) -> str:
    parent = resource.get("parent") or ""
    for candidate in plan.resources:
        if candidate["urn"] == parent and not candidate["custom"]:
            return str(candidate["type"]).removeprefix("mlops:")
    return "-"


def write_outputs(
    plan: Plan, *, json_out: Path | None, tfplan: Path | None, k8s_dir: Path | None
) -> None:
    """The files ``synth`` was asked for."""
    if json_out is not None:
        _write_json(json_out, plan.to_dict())
        console.print(f"plan JSON written to {json_out}")
    if tfplan is not None:
        from infra.plan.tfplan import to_terraform_plan

        _write_json(tfplan, to_terraform_plan(plan))
        console.print(f"Terraform-plan JSON written to {tfplan}")
    if k8s_dir is not None:
        from infra.plan.kubernetes import write_manifests

        written = write_manifests(plan, k8s_dir)
        console.print(f"{len(written)} Kubernetes manifests written to {k8s_dir}")


def _write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if TYPE_CHECKING:
    from infra.plan.cost import CostEstimate
    from infra.plan.scan import ScanResult


def print_scan(result: ScanResult) -> None:
    """Failures (and skips with their reasons) as tables, then one line per source."""
    if result.failures:
        failed = Table(title=f"stack {result.stack}: failed checks", show_lines=False)
        for column in ("source", "check", "resource", "what failed"):
            failed.add_column(column, overflow="fold")
        for item in result.failures:
            failed.add_row(item.source, item.check_id, item.resource, item.detail or item.name)
        console.print(failed)
    if result.skipped:
        skipped = Table(
            title=f"stack {result.stack}: skipped (security/checkov-skips.yaml, "
            "security/validator-allowlist.yaml)"
        )
        for column in ("check", "resources", "reason"):
            skipped.add_column(column, overflow="fold")
        grouped: dict[tuple[str, str], list[str]] = {}
        for item in result.skipped:
            grouped.setdefault((item.check_id, item.detail), []).append(item.resource)
        for (check_id, reason), resources in sorted(grouped.items()):
            skipped.add_row(check_id, "\n".join(sorted(resources)), reason)
        console.print(skipped)
    if result.unused_skips:
        unused = ", ".join(f"{skip.check} ({skip.resource})" for skip in result.unused_skips)
        console.print(f"[dim]skips this stack does not need: {unused}[/]")
    if result.validation is not None:
        console.print(f"[bold]{result.stack}[/] {result.validation.summary()}")
        if result.validation.unused:
            unused = ", ".join(f"{a.check} ({a.resource})" for a in result.validation.unused)
            console.print(f"[dim]allow-list entries this stack does not need: {unused}[/]")
    for source, counts in result.counts().items():
        colour = "red" if counts["failed"] else "green"
        console.print(
            f"[bold]{result.stack}[/] {source}: [{colour}]{counts['failed']} failed[/], "
            f"{counts['passed']} passed, {counts['skipped']} skipped"
        )
    verdict = "[green]scan passed[/]" if result.passed else "[red]scan failed[/]"
    console.print(f"[bold]{result.stack}[/]: {verdict}")


def print_cost(estimate: CostEstimate) -> None:
    """Each priced item with its basis and assumption, then the monthly total."""
    table = Table(title=f"stack {estimate.stack}: monthly cost (USD, us-east-1 list prices)")
    table.add_column("service")
    table.add_column("resource", overflow="fold")
    table.add_column("basis", overflow="fold")
    table.add_column("USD/month", justify="right")
    table.add_column("assumption", overflow="fold")
    for item in sorted(estimate.items, key=lambda i: (i.service, i.resource)):
        price = "n/a" if item.monthly_usd is None else f"{item.monthly_usd:,.2f}"
        table.add_row(item.service, item.resource, item.basis, price, item.assumption)
    console.print(table)
    unpriced = len(estimate.unpriced)
    missing = f" ({unpriced} item(s) without a list price)" if unpriced else ""
    total = f"${estimate.total:,.2f}"
    console.print(f"[bold]{estimate.stack}[/]: about [bold]{total}[/] a month{missing}")
