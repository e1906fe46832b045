"""The delivery path: the repository's stack file, its pull requests, and the workflows' commands.

The simulation keeps the repository's main branch as one file (the stack file
in the work directory) and plays GitHub's part for it: a workflow that reacts
to an approval event pins exactly the event's package on a branch and opens a
pull request, unless main already pins it or a pull request from that branch is
open (so duplicate deliveries change nothing); merging the pull request is what
starts the deploy workflow. The pinning and the checks are the release
library's own (``ops.release``), as the workflows call them through ``mlops``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.config.atomic import write_atomically

if TYPE_CHECKING:
    from ops.simulate.clients import SimClients


@dataclass
class PullRequest:
    """A pull request that changes the stack file: which package it pins, and its fate."""

    number: int
    branch: str
    arn: str
    purpose: str
    opened: datetime
    text: str
    merged: datetime | None = None
    reviews: int = 0


@dataclass
class Repository:
    """Main's stack file and the pull requests against it."""

    main: Path
    branches: Path
    pulls: list[PullRequest] = field(default_factory=list)

    def open_pull(self, branch: str) -> PullRequest | None:
        return next((p for p in self.pulls if p.branch == branch and p.merged is None), None)

    def propose(
        self, branch: str, arn: str, purpose: str, now: datetime, pin: Any
    ) -> PullRequest | None:
        """Pin ``arn`` on ``branch``, a copy of main; a pull request if anything changed."""
        if self.open_pull(branch) is not None:
            return None
        path = self.branches / branch / self.main.name
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.main, path)
        if not pin(path, arn) or path.read_text(encoding="utf-8") == self.main.read_text(
            encoding="utf-8"
        ):
            return None
        pull = PullRequest(
            len(self.pulls) + 1, branch, arn, purpose, now, path.read_text(encoding="utf-8")
        )
        self.pulls.append(pull)
        return pull

    def merge(self, pull: PullRequest, now: datetime, pin: Any) -> bool:
        """Review and merge; a branch behind main is rebased (the pin applied to main again)."""
        pull.reviews += 1
        if pull.merged is not None:
            return False
        rebased = self.branches / pull.branch / f"rebased-{self.main.name}"
        shutil.copy2(self.main, rebased)
        pin(rebased, pull.arn)
        write_atomically(self.main, rebased.read_text(encoding="utf-8"))
        pull.merged = now
        return True


def branch_name(stack: str, arn: str) -> str:
    """``deploy/<stack>/<group>-<version>``, as the approval workflow names its branch."""
    group, _, version = arn.rpartition("/")
    return f"deploy/{stack}/{group.rsplit('/', 1)[-1]}-{version}"


def pin_approved(clients: SimClients, stack: str, template: Path) -> Any:
    """The approval workflow's command: pin a package of the stack's group that is Approved."""
    from ops.release.promote import PromotionError, group_of, pin_model_package
    from pipelines.registry import APPROVED, describe

    def pin(path: Path, arn: str) -> bool:
        package = describe(clients.sagemaker, arn)
        group = group_of(stack, path)
        if package.group != group:
            raise PromotionError(f"{arn} is not in {group}, the group of stack {stack}")
        if package.status != APPROVED:
            raise PromotionError(f"{arn} is {package.status}; only Approved packages are pinned")
        return pin_model_package(path, arn, template=template)

    return pin


def approval_from(event: dict[str, Any]) -> tuple[str, str, str]:
    """(group, ARN, status) of the approval event the workflow receives."""
    from pipelines.registry import state_change

    return state_change(event)
