"""The pull request a pin change goes through: branch, title and a body a reviewer can judge.

The workflows open it with ``gh pr create`` from what ``mlops deploy`` and
``mlops rollback`` write to ``$GITHUB_OUTPUT`` (``--github-output``). The
branch name is a function of the change, so a duplicate event finds the pull
request its first delivery opened: ``serve/<stack>/<group>-<version>`` for an
approval, ``rollback/<stack>/<group>-<from>-to-<to>`` for a rollback.

Step outputs, multi-line values included:
https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/workflow-commands-for-github-actions#setting-an-output-parameter
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from infra.config.stack_file import REPO_ROOT
from ops.release.deploy import Deployment
from ops.release.stacks import PACKAGE_ARN, stack_config


@dataclass(frozen=True)
class PullRequest:
    """What the workflow commits (one stack file) and the pull request it opens for it."""

    branch: str
    title: str
    body: str
    stack_file: str  # relative to the repository when inside it


def serve_request(deployment: Deployment) -> PullRequest:
    """The pull request that serves an approved package in its stack."""
    package, stack = deployment.package, deployment.stack
    return PullRequest(
        branch=f"serve/{stack}/{package.group}-{package.version}",
        title=f"Serve {package.group} version {package.version} in {stack}",
        body=_body(deployment, f"Serve the approved model `{package.arn}` in **{stack}**."),
        stack_file=_relative(deployment.stack_file),
    )


# A rollback's pull request title, and so its commit's subject (rollback.yml commits with it):
# ``ops.release.rollback`` tells a rollback's commit by it.
ROLLBACK_SUBJECT = "Roll {stack} back to "


def rollback_request(deployment: Deployment, found_in: str) -> PullRequest:
    """The pull request that serves the previous package again."""
    package, stack = deployment.package, deployment.stack
    before = (deployment.previous_arn or "").rsplit("/", 1)[-1]
    return PullRequest(
        branch=f"rollback/{stack}/{package.group}-{before}-to-{package.version}",
        title=ROLLBACK_SUBJECT.format(stack=stack) + f"{package.group} version {package.version}",
        body=_body(
            deployment,
            f"Roll **{stack}** back to `{package.arn}`, the package it served before "
            f"(found in the {found_in}).",
        ),
        stack_file=_relative(deployment.stack_file),
    )


def _body(deployment: Deployment, headline: str) -> str:
    package = deployment.package
    metadata = package.metadata
    older = _older_than_served(deployment)
    if older:
        headline += (
            f"\n\n**Note:** version {package.version} is older than the version it "
            f"replaces ({older}): a late approval, or a rollback."
        )
    rows = [
        ("package", f"`{package.arn}` ({package.status})"),
        ("approval", package.approval_description or "-"),
        ("replaces", f"`{deployment.previous_arn}`" if deployment.previous_arn else "nothing"),
        ("PR AUC", metadata.get("PrAuc", "-")),
        ("recall at 90% precision", metadata.get("RecallAtPrecision90", "-")),
        ("dataset version", metadata.get("DatasetVersion", "-")),
        ("promoted from", metadata.get("PromotedFrom", "-")),
    ]
    table = "\n".join(["| | |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)])
    return "\n\n".join(
        [
            headline,
            table,
            f"Merging deploys **{deployment.stack}** {rollout_summary(deployment)}. "
            "The deploy workflow checks in the registry that the package is Approved "
            "(`mlops deploy --check`) before `pulumi up`.",
        ]
    )


def _older_than_served(deployment: Deployment) -> int | None:
    """The version served now, when it is newer than the package served next (same group)."""
    found = PACKAGE_ARN.match(deployment.previous_arn or "")
    if found is None or found.group("group") != deployment.package.group:
        return None
    served = int(found.group("version"))
    return served if served > deployment.package.version else None


def rollout_summary(deployment: Deployment) -> str:
    """How the stack's endpoint moves to a new model, in one phrase."""
    serving = stack_config(deployment.stack, deployment.stack_file).serving
    rollout = serving.rollout
    if serving.serverless is not None or rollout.strategy == "all_at_once":
        how = "all at once"
    elif rollout.strategy == "canary":
        how = (
            f"with a {rollout.canary_percent}% canary baked {rollout.wait_seconds} s, "
            "then all traffic"
        )
    elif rollout.strategy == "linear":
        how = f"in {rollout.linear_step_percent}% steps of {rollout.wait_seconds} s"
    else:
        how = f"in rolling batches of {rollout.rolling_batch_percent}%"
    return f"{how}, rolled back automatically by the new fleet's alarms"


def _relative(path: Path) -> str:
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        try:
            return resolved.relative_to(REPO_ROOT).as_posix()
        except ValueError:
            return str(resolved)


def write_github_output(path: Path, changed: bool, request: PullRequest) -> None:
    """Append the step outputs: ``changed``, ``branch``, ``title``, ``stack_file``, ``body``."""
    delimiter = f"EOF_{secrets.token_hex(8)}"
    lines = [
        f"changed={'true' if changed else 'false'}",
        f"branch={request.branch}",
        f"title={request.title}",
        f"stack_file={request.stack_file}",
        f"body<<{delimiter}",
        request.body,
        delimiter,
    ]
    with path.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
