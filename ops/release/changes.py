"""What a push to main changes, per stack: its code, its config, only its served model, or nothing.

The deploy workflow deploys what a push changed. A change to anything but the
stack files (code, the lock, the schema, the workflows) deploys every stack in
order, each behind its environment's reviewers. A change to stack files only
deploys those stacks: behind their reviewers (``config``), or, when the one
thing that changed is ``mlops:serving: modelPackageArn``, as a model change
(``pin``) whose review was the pull request that changed the pin; the deploy
job checks again that the package is Approved before ``pulumi up``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml

from ops.git import GitError, git_output
from ops.release.stacks import ARN_KEY, SERVING_KEY, STACK_ORDER

Change = Literal["code", "config", "pin", "none"]
STACK_FILE = re.compile(r"^environments/Pulumi\.(?P<stack>[a-z0-9-]+)\.yaml$")
NO_COMMIT = re.compile(r"^0+$")  # the "before" of a branch's first push
GIT_SECONDS = 60


class ChangesError(Exception):
    """git could not compare the two commits."""


def _git(repo: Path, *args: str) -> str:
    try:
        return git_output(repo, *args, timeout=GIT_SECONDS)
    except GitError as error:
        raise ChangesError(str(error)) from None


def stack_changes(repo: Path, base: str | None, head: str) -> dict[str, Change]:
    """Per stack, what the commits after ``base`` up to ``head`` change; no base: everything."""
    if not base or NO_COMMIT.match(base):
        return dict.fromkeys(STACK_ORDER, "code")
    try:
        names = _git(repo, "diff", "--name-only", base, head).split()
    except ChangesError:
        return dict.fromkeys(STACK_ORDER, "code")  # a base git cannot compare: deploy everything
    stacks = {}
    for name in names:
        found = STACK_FILE.match(name)
        if found is None or found.group("stack") not in STACK_ORDER:
            return dict.fromkeys(STACK_ORDER, "code")
        stacks[found.group("stack")] = name
    changes: dict[str, Change] = dict.fromkeys(STACK_ORDER, "none")
    for stack, name in stacks.items():
        before, after = _config(repo, base, name), _config(repo, head, name)
        changes[stack] = "pin" if _only_the_pin_moved(before, after) else "config"
    return changes


def _config(repo: Path, commit: str, name: str) -> dict[str, Any] | None:
    try:
        text = _git(repo, "show", f"{commit}:{name}")
    except ChangesError:
        return None  # the file is new or deleted: not a pin change
    document = yaml.safe_load(text) or {}
    return document if isinstance(document, dict) else None


def _only_the_pin_moved(before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool:
    """One pinned package replaced by another, nothing else changed (removing a pin is not one)."""
    if before is None or after is None:
        return False  # a new or removed stack file
    old, new = _pin(before), _pin(after)
    return (
        old is not None
        and new is not None
        and old != new
        and (_without_pin(before) == _without_pin(after))
    )


def _pin(document: dict[str, Any]) -> Any:
    serving = (document.get("config") or {}).get(SERVING_KEY) or {}
    return serving.get(ARN_KEY) if isinstance(serving, dict) else None


def _without_pin(document: dict[str, Any]) -> dict[str, Any]:
    config = dict(document.get("config") or {})
    serving = dict(config.get(SERVING_KEY) or {})
    serving.pop(ARN_KEY, None)
    config[SERVING_KEY] = serving
    return {**document, "config": config}


def as_outputs(changes: dict[str, Change]) -> str:
    """``stack=change`` lines, for ``$GITHUB_OUTPUT``."""
    return "".join(f"{stack}={change}\n" for stack, change in changes.items())
