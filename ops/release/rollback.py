"""Rollback: serve again the package a stack served before the one it serves now.

The stack file is the record of what a stack served, so the previous package is
read from its git history: the pins of the commits that changed the file, newest
first, from before today's pin was last put there; the newest of them still
Approved is served again (a package rejected since is passed over, and said so).
Rolling back again goes further back, never forward to a package rolled back
from: a pin replaced by a rollback's commit (its subject is the rollback pull
request's title, ``Roll <stack> back to ...``, as ``rollback.yml`` commits it)
is never served again by a rollback. A package pinned again by hand later rolls
back to what served just before that. A file with no history (not in a
repository, or never committed) falls back to the registry: the newest
Approved package of the stack's group older than today's pin. The pin is then
written by ``deploy`` with its checks and lock, and reaches the endpoint by the
same pull request and ``pulumi up`` as any other pin.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ops.git import GitError, git_output
from ops.release.deploy import Deployment, deploy
from ops.release.pull_request import ROLLBACK_SUBJECT
from ops.release.stacks import (
    ARN_KEY,
    PACKAGE_ARN,
    SERVING_KEY,
    PromotionError,
    group_of,
    known_stack,
    pinned_arn,
    stack_path,
)
from pipelines.registry import APPROVED, Package, RegistryError, describe, list_packages

GIT_SECONDS = 30


@dataclass(frozen=True)
class Rollback:
    """The deployment that pinned the previous package, where it was found, and what was passed."""

    deployment: Deployment
    found_in: str  # "git history (<commit>)" or "registry"
    passed_over: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PinChange:
    """A commit that changed the stack file, the package it pinned, and its subject line."""

    commit: str
    arn: str
    subject: str


def pin_changes(path: Path) -> list[PinChange]:
    """Each commit that changed ``path`` and pins a package, newest first; [] without git."""
    path = path.resolve()
    top = _git(path.parent, "rev-parse", "--show-toplevel")
    if top is None:
        return []
    root = Path(top.strip()).resolve()
    relative = path.relative_to(root).as_posix()
    log = _git(root, "log", "--format=%H%x00%s", "--", relative)
    history: list[PinChange] = []
    for line in (log or "").splitlines():
        commit, _, subject = line.partition("\0")
        text = _git(root, "show", f"{commit}:{relative}")
        arn = _pinned_in(text) if text is not None else None
        if arn is not None:
            history.append(PinChange(commit, arn, subject))
    return history


def pin_history(path: Path) -> list[tuple[str, str]]:
    """(commit, pinned ARN) of each commit that changed ``path``, newest first; [] without git."""
    return [(change.commit, change.arn) for change in pin_changes(path)]


def _git(folder: Path, *args: str) -> str | None:
    try:
        return git_output(folder, *args, timeout=GIT_SECONDS)
    except (GitError, FileNotFoundError):
        return None


def _pinned_in(text: str) -> str | None:
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return None
    config = document.get("config") if isinstance(document, dict) else None
    serving = config.get(SERVING_KEY) if isinstance(config, dict) else None
    arn = serving.get(ARN_KEY) if isinstance(serving, dict) else None
    return arn if isinstance(arn, str) else None


def previous_package(
    client: Any, stack: str, stack_file: Path | None = None
) -> tuple[Package, str, list[str]]:
    """(the package to serve again, where it was found, ARNs passed over as no longer Approved)."""
    current = pinned_arn(stack, stack_file)
    if current is None:
        raise PromotionError(
            f"stack {stack} pins no model in {stack_path(stack, stack_file)}: nothing to roll back"
        )
    passed: list[str] = []
    history = pin_changes(stack_path(stack, stack_file))
    for commit, arn in served_before(history, current, ROLLBACK_SUBJECT.format(stack=stack)):
        if arn in passed:
            continue
        package = _approved_or_none(client, arn)
        if package is not None:
            return package, f"git history ({commit[:12]})", passed
        passed.append(arn)
    approved = list_packages(client, group_of(stack, stack_file), APPROVED)
    older = [p for p in approved if p.version < _version(current) and p.arn not in passed]
    if older:
        return older[0], "registry", passed
    raise PromotionError(
        f"no package served before {current} in {stack} is still Approved (neither in the "
        "stack file's git history nor older in the registry); pin one with "
        f"'mlops deploy --stack {stack} --arn ARN'"
    )


def served_before(
    history: list[PinChange], current: str, rollback_subject: str
) -> list[tuple[str, str]]:
    """The pins from before ``current`` was last put in the file, newest first, leaving out
    ``current`` and every package a rollback replaced (``rollback_subject`` starts its
    commits' subjects).

    After 1 -> 2 -> 3 and a rollback to 2, the next rollback serves 1, not 3; after
    1 -> 2 -> 3 and 2 pinned again by hand, a rollback serves 3.
    """
    rolled_back_from = {
        older.arn
        for newer, older in itertools.pairwise(history)
        if newer.subject.startswith(rollback_subject) and newer.arn != older.arn
    }
    latest = next((i for i, change in enumerate(history) if change.arn != current), None)
    if latest is None:
        return []
    return [
        (change.commit, change.arn)
        for change in history[latest:]
        if change.arn != current and change.arn not in rolled_back_from
    ]


def _approved_or_none(client: Any, arn: str) -> Package | None:
    try:
        package = describe(client, arn)
    except RegistryError:
        return None
    return package if package.status == APPROVED else None


def _version(arn: str) -> int:
    found = PACKAGE_ARN.match(arn)
    return int(found.group("version")) if found else 0


def rollback(client: Any, stack: str, stack_file: Path | None = None) -> Rollback:
    """Pin the package ``stack`` served before its current one.

    Run twice, it rolls back twice: each run reads the pin the file holds and
    goes to what was served before that package was first served.
    """
    known_stack(stack)
    package, found_in, passed = previous_package(client, stack, stack_file)
    deployment = deploy(client, stack, stack_file, arn=package.arn)
    return Rollback(deployment, found_in, passed)
