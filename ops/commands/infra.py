"""``mlops synth``, ``mlops scan`` and ``mlops cost``: the stack, planned offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ops.commands.options import EndpointUrlOption, RegionOption, StackOption

ConfigFileOption = Annotated[
    Path | None,
    typer.Option(
        "--config-file", help="Stack file to read instead of environments/Pulumi.<stack>.yaml."
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Override a dotted key of the mlops namespace: KEY=VALUE (repeatable)."
    ),
]


def register(app: typer.Typer) -> None:
    app.command("synth")(synth)
    app.command("scan")(scan)
    app.command("cost")(cost)


def synth(
    stack: StackOption,
    config_file: ConfigFileOption = None,
    set_: SetOption = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the plan JSON here.")
    ] = None,
    tfplan: Annotated[
        Path | None,
        typer.Option("--tfplan", help="Write the Terraform-plan JSON (for scanners) here."),
    ] = None,
    k8s_dir: Annotated[
        Path | None,
        typer.Option("--k8s-dir", help="Write the Kubernetes manifests into this folder."),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the summary line.")
    ] = False,
) -> None:
    """Run the Pulumi program offline for a stack and print what it would create."""
    from ops.plan_report import print_plan, synthesize_with_progress, write_outputs

    plan = synthesize_with_progress(stack, config_file, set_ or [])
    print_plan(plan, quiet=quiet)
    write_outputs(plan, json_out=json_out, tfplan=tfplan, k8s_dir=k8s_dir)


def scan(
    stack: StackOption,
    config_file: ConfigFileOption = None,
    set_: SetOption = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write every check result as JSON here.")
    ] = None,
    registry: Annotated[
        bool,
        typer.Option(
            "--registry",
            help="Also ask the model registry that every pinned package is Approved.",
        ),
    ] = False,
    region: RegionOption = None,
    endpoint_url: EndpointUrlOption = None,
) -> None:
    """Synthesise a stack, then run checkov and the project's own policies on it.

    The packages the stack file pins are checked too: offline, that each is in the
    stack's own group; with --registry, also that each is Approved.
    """
    from infra.plan.scan import scan_plan
    from ops.plan_report import print_scan, synthesize_with_progress

    plan = synthesize_with_progress(stack, config_file, set_ or [])
    result = scan_plan(plan)
    result.results.extend(_pin_checks(stack, config_file, registry, region, endpoint_url))
    print_scan(result)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    if not result.passed:
        raise typer.Exit(1)


def _pin_checks(
    stack: str,
    config_file: Path | None,
    registry: bool,
    region: str | None,
    endpoint_url: str | None,
) -> list[Any]:
    """The release checks of the pinned packages (``ops.release.pin_check``)."""
    from ops.commands.registry import aws_errors, client_for
    from ops.release.pin_check import check_pins

    if not registry:
        return check_pins(stack, config_file)
    with aws_errors():
        return check_pins(stack, config_file, client_for(stack, region, endpoint_url))


def cost(
    stack: StackOption,
    config_file: ConfigFileOption = None,
    set_: SetOption = None,
) -> None:
    """Estimate the stack's monthly cost, item by item (list prices, us-east-1)."""
    from infra.plan.cost import estimate_cost
    from ops.plan_report import print_cost, synthesize_with_progress

    plan = synthesize_with_progress(stack, config_file, set_ or [])
    print_cost(estimate_cost(plan))
