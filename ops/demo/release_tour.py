"""The release half of ``mlops demo``: train in dev, serve it, promote it to prod.

Everything runs against one moto server on 127.0.0.1 that the tour starts
and stops, standing in for the account: the stacks' buckets, keys, registry
groups and image repositories are made as ``pulumi up`` names them, the
training pipeline runs locally for dev and registers a model, ``deploy`` pins
it in dev, and ``promote`` carries it to staging and then prod, each copy
approved with a reason as a person would. The pinned stack files are written
to the work directory (``environments/`` is never edited), so the demo can plan
and scan every stack with its endpoint.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ops.release.promote import STACK_ORDER

DEMO_STACK = "dev"


@dataclass
class Release:
    """What the tour pinned: one stack file per stack, and the package each serves."""

    stack_files: dict[str, Path] = field(default_factory=dict)
    packages: dict[str, Any] = field(default_factory=dict)
    trained_arn: str | None = None
    run: Any = None  # the dev pipeline's LocalRun


def run_release(work_dir: Path, up_to: str = "prod", console: Console | None = None) -> Release:
    """Train in dev, deploy to dev, and promote stack by stack until ``up_to``."""
    from infra.config import load_stack
    from ops.local.emulator import moto_server
    from ops.release.promote import promotion_clients

    console = console or Console()
    with moto_server() as endpoint:
        console.print(f"AWS emulator: moto server at {endpoint}")
        clients = promotion_clients(load_stack(DEMO_STACK).region, endpoint)
        return release(clients, endpoint, work_dir, up_to, console)


def release(
    clients: Any,
    endpoint: str,
    work_dir: Path,
    up_to: str = "prod",
    console: Console | None = None,
    input_path: Path | None = None,
) -> Release:
    """:func:`run_release` against an emulator already running; ``input_path`` is dev's data."""
    from infra.config import load_stack
    from ops.local.pipeline_runner import run_local
    from ops.local.stack_emulation import provision_stack
    from ops.release.deploy import deploy
    from ops.release.promote import promote
    from pipelines.registry import approve

    console = console or Console()
    stacks = STACK_ORDER[: STACK_ORDER.index(up_to) + 1]
    release = Release({stack: work_dir / "stacks" / f"Pulumi.{stack}.yaml" for stack in stacks})
    configs = {stack: load_stack(stack) for stack in stacks}
    for config in configs.values():
        provision_stack(clients, config)
    console.rule(f"training pipeline, run locally for stack {DEMO_STACK}")
    run = run_local(
        DEMO_STACK,
        input_path=input_path,
        work_dir=work_dir / "pipeline",
        endpoint_url=endpoint,
        console=console,
    )
    release.trained_arn = run.package_arn
    release.run = run
    console.print(f"registered [bold]{run.package_arn}[/] ({run.approval_status})")
    fetch = _project_image(clients, run.package_arn, configs[DEMO_STACK])
    console.rule("serving: deploy dev, promote to the next stacks")
    deployed = deploy(clients.sagemaker, DEMO_STACK, release.stack_files[DEMO_STACK])
    release.packages[DEMO_STACK] = deployed.package
    console.print(f"deploy --stack {DEMO_STACK}: pinned {deployed.package.arn}")
    for previous, stack in itertools.pairwise(stacks):
        done = promote(
            clients, stack, release.stack_files[stack], release.stack_files[previous], fetch
        )
        console.print(f"promote --to {stack}: registered {done.target.arn} ({done.target.status})")
        approved = approve(
            clients.sagemaker,
            done.target.arn,
            f"demo: {previous} served it; approved for {stack} by the operator",
        )
        # What the approval event leads to: the workflow pins exactly that package there.
        pinned = deploy(clients.sagemaker, stack, release.stack_files[stack], arn=done.target.arn)
        release.packages[stack] = pinned.package
        console.print(f"registry approve: {approved.package.arn} is {approved.package.status}")
        console.print(f"deploy --stack {stack} --arn: pinned {pinned.package.arn}")
    console.print(_release_table(release))
    return release


def _project_image(clients: Any, package_arn: str | None, config: Any) -> Any:
    """The image's blobs for promotion, when the local run only referenced the project image.

    The local run registers the image the stack would build; the emulator holds
    no such image and moto cannot hand out layer downloads, so a small
    stand-in is pushed under the same digest and its blobs are served from here.
    """
    from infra.naming import StackNames
    from ops.local.stack_emulation import push_image
    from ops.release.image_copy import parse_image_uri

    if package_arn is None:
        return None
    described = clients.sagemaker.describe_model_package(ModelPackageName=package_arn)
    containers = described.get("InferenceSpecification", {}).get("Containers", [])
    image = parse_image_uri(containers[0].get("Image", "")) if containers else None
    if image is None or image.repository != StackNames(config).image_repository:
        return None  # not the stack's own image: promotion leaves it as it is
    found = clients.ecr.batch_get_image(
        repositoryName=image.repository, imageIds=[{"imageDigest": image.digest}]
    )
    if found.get("images"):
        return None
    return push_image(clients.ecr, image.repository, [b"stand-in layer"], image.digest).fetch


def _release_table(release: Release) -> Table:
    table = Table(title="what each stack serves (pinned in its stack file)")
    for column in ("stack", "model package", "status", "model artifact", "stack file"):
        table.add_column(column, overflow="fold")
    for stack, package in release.packages.items():
        table.add_row(
            stack,
            package.arn,
            package.status,
            package.model_data_url or "",
            str(release.stack_files[stack]),
        )
    return table
