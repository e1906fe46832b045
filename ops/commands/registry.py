"""``mlops registry ...``: the model registry from the command line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ops.commands.options import EndpointUrlOption, RegionOption

if TYPE_CHECKING:
    from pipelines.registry import Package

registry_app = typer.Typer(
    help="Model registry: list packages, find the champion, approve or reject.",
    no_args_is_help=True,
)

StackOption = Annotated[
    str, typer.Option("--stack", "-s", help="Stack whose model package group to use.")
]
GroupOption = Annotated[
    str | None, typer.Option("--group", help="Model package group (default: the stack's).")
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why; recorded on the package.")]


def register(app: typer.Typer) -> None:
    app.add_typer(registry_app, name="registry")


@contextmanager
def aws_errors() -> Iterator[None]:
    """AWS failures (unreachable endpoint, denied call) as one line instead of a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError

    from pipelines.registry import RegistryError

    try:
        yield
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message") or str(error)
        raise RegistryError(f"{error.operation_name} failed: {message}") from None
    except BotoCoreError as error:
        raise RegistryError(str(error)) from None


def region_of(stack: str, region: str | None) -> str:
    """``--region``, or the region of the stack's file."""
    from infra.config import load_stack

    return region if region is not None else load_stack(stack).region


def client_for(stack: str, region: str | None, endpoint_url: str | None) -> Any:
    from ops.aws import sagemaker_client

    return sagemaker_client(region_of(stack, region), endpoint_url)


def _group(stack: str, group: str | None) -> str:
    from ops.release.stacks import group_of

    return group or group_of(stack)


def _print_packages(title: str, packages: list[Package]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("version", "status", "pr_auc", "recall@p90", "data sha256", "arn"):
        table.add_column(column, overflow="fold")
    for package in packages:
        table.add_row(
            str(package.version),
            package.status,
            _metric(package, "PrAuc"),
            _metric(package, "RecallAtPrecision90"),
            package.metadata.get("DataSha256", "")[:12],
            package.arn,
        )
    Console().print(table)


def _metric(package: Package, name: str) -> str:
    value = package.metric(name)
    return "" if value is None else f"{value:.3f}"


@registry_app.command("list")
def list_command(
    stack: StackOption,
    group: GroupOption = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Approved, Rejected or PendingManualApproval.")
    ] = None,
    region: RegionOption = None,
    endpoint_url: EndpointUrlOption = None,
) -> None:
    """List the packages of a stack's group, newest first."""
    from pipelines.registry import list_packages

    name = _group(stack, group)
    with aws_errors():
        packages = list_packages(client_for(stack, region, endpoint_url), name, status)
    _print_packages(f"{name}: {len(packages)} packages", packages)


@registry_app.command("latest")
def latest_command(
    stack: StackOption,
    group: GroupOption = None,
    status: Annotated[
        str,
        typer.Option("--status", help="Approved (the champion) or PendingManualApproval."),
    ] = "Approved",
    region: RegionOption = None,
    endpoint_url: EndpointUrlOption = None,
) -> None:
    """Print the ARN of the newest package with the status (the champion); exit 1 if none."""
    from pipelines.registry import RegistryError, list_packages

    name = _group(stack, group)
    with aws_errors():
        newest = list_packages(client_for(stack, region, endpoint_url), name, status)
    if not newest:
        label = "approved" if status == "Approved" else status
        raise RegistryError(f"no {label} model in {name}")
    typer.echo(newest[0].arn)


def _decide(
    stack: str, arn: str, reason: str, region: str | None, endpoint_url: str | None, approve: bool
) -> None:
    from pipelines import registry

    with aws_errors():
        client = client_for(stack, region, endpoint_url)
        change = (registry.approve if approve else registry.reject)(client, arn, reason)
    state = change.package.status
    typer.echo(f"{arn}: {state}" + ("" if change.changed else " (unchanged)"))


@registry_app.command("approve")
def approve_command(
    arn: Annotated[str, typer.Argument(help="Model package ARN.")],
    reason: ReasonOption,
    stack: StackOption = "dev",
    region: RegionOption = None,
    endpoint_url: EndpointUrlOption = None,
) -> None:
    """Approve a package: it becomes the champion of its group. Repeating it changes nothing."""
    _decide(stack, arn, reason, region, endpoint_url, approve=True)


@registry_app.command("reject")
def reject_command(
    arn: Annotated[str, typer.Argument(help="Model package ARN.")],
    reason: ReasonOption,
    stack: StackOption = "dev",
    region: RegionOption = None,
    endpoint_url: EndpointUrlOption = None,
) -> None:
    """Reject a package with a reason; a rejected package is never promoted."""
    _decide(stack, arn, reason, region, endpoint_url, approve=False)
