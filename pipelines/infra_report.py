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
