"""The delivery path: the repository, its pull requests, and the commands the workflows run.

The repository is a git repository in the work directory holding the stack
file, so ``mlops rollback`` reads the file's history as it does in CI. The
simulation plays GitHub and the workflows' shell around the release library
(``ops.release``), calling what the workflows call through ``mlops``:

- ``promote.yml`` on an approval: ``deploy --stack S --arn ARN`` in the
  working tree (the package must be Approved and of the stack's group), then a
  pull request from the branch ``pull_request.serve_request`` names, unless the
  file already pinned it or a pull request from that branch exists; then
  ``promote --arn ARN`` (prod is the last stack: nothing to promote);
- ``rollback.yml``: ``rollback --stack S`` in the working tree, and its pull
  request the same way;
- ``deploy.yml`` after a merge: ``deploy --check`` (every pin Approved) before
  ``pulumi up``.

Merging commits the pull request's file on main; a pull request whose base
moved is rebased by running its command again on main, as its author would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.config.atomic import write_atomically
from ops.git import git_output, identity

if TYPE_CHECKING:
    from ops.simulate.clients import SimClients

SIMULATION_AUTHOR = identity("mlops simulate", "simulate@mlops.invalid")
Pin = Callable[[Path], Any]  # a release command that edits the stack file at the path


@dataclass
class PullRequest:
    """A pull request that changes the stack file: which package it pins, and its fate."""

    number: int
    branch: str
    title: str
    arn: str
    purpose: str
    opened: datetime
    base: str
    text: str
    command: Pin
    merged: datetime | None = None
    reviews: int = 0


@dataclass
class Repository:
    """A git repository with the stack file on main, and the pull requests against it."""

    root: Path
    main: Path
    pulls: list[PullRequest] = field(default_factory=list)

    def init(self) -> None:
        """A repository whose first commit is the stack file as the simulation starts."""
        self.git("init", "-q", "-b", "main")
        self.commit("The stack file as the simulation starts")

    def commit(self, message: str) -> None:
        self.git("add", str(self.main.relative_to(self.root)))
        self.git("commit", "-q", "--allow-empty", "-m", message)

    def git(self, *args: str) -> str:
        """Run git in the repository; its output."""
        return git_output(self.root, *args, author=SIMULATION_AUTHOR)

    def propose(
        self,
        command: Pin,
        branch_of: Callable[[Any], tuple[str, str, str]],
        purpose: str,
        now: datetime,
    ) -> tuple[PullRequest | None, Any]:
        """Run ``command`` on main's working tree; a pull request if the file changed.

        ``branch_of`` names the branch, title and pinned ARN from what the command
        returned. No pull request when nothing changed or one from that branch exists
        (merged or not); the working tree is left as main has it either way.
        """
        base = self.main.read_text(encoding="utf-8")
        try:
            outcome = command(self.main)
            text = self.main.read_text(encoding="utf-8")
        finally:
            write_atomically(self.main, base)
        branch, title, arn = branch_of(outcome)
        if text == base or any(p.branch == branch for p in self.pulls):
            return None, outcome
        pull = PullRequest(
            len(self.pulls) + 1, branch, title, arn, purpose, now, base, text, command
        )
        self.pulls.append(pull)
        return pull, outcome

    def merge(self, pull: PullRequest, now: datetime) -> bool:
        """Review and merge: the pull request's file on main (its command again if main moved)."""
        pull.reviews += 1
        if pull.merged is not None:
            return False
        if self.main.read_text(encoding="utf-8") == pull.base:
            write_atomically(self.main, pull.text)
        else:
            pull.command(self.main)
        self.commit(pull.title)
        pull.merged = now
        return True


def serve_command(clients: SimClients, stack: str, arn: str) -> tuple[Pin, Callable[[Any], Any]]:
    """``mlops deploy --stack S --arn ARN``, and the pull request it names."""
    from ops.release.deploy import deploy
    from ops.release.pull_request import serve_request

    def command(path: Path) -> Any:
        return deploy(clients.sagemaker, stack, path, arn=arn)

    def branch_of(deployment: Any) -> tuple[str, str, str]:
        request = serve_request(deployment)
        return request.branch, request.title, deployment.package.arn

    return command, branch_of


def rollback_command(clients: SimClients, stack: str) -> tuple[Pin, Callable[[Any], Any]]:
    """``mlops rollback --stack S``, and the pull request it names."""
    from ops.release.pull_request import rollback_request
    from ops.release.rollback import rollback

    def command(path: Path) -> Any:
        return rollback(clients.sagemaker, stack, path)

    def branch_of(done: Any) -> tuple[str, str, str]:
        request = rollback_request(done.deployment, done.found_in)
        return request.branch, request.title, done.deployment.package.arn

    return command, branch_of


def promote_next(clients: SimClients, arn: str, stack_files: dict[str, Path]) -> str:
    """``mlops promote --arn ARN``: the next stack's copy, or why there is none."""
    from ops.release.promote import NotPromoted, promote_package

    done = promote_package(clients.promotion, arn, stack_files)
    if isinstance(done, NotPromoted):
        return done.reason
    return f"registered {done.target.arn} in {done.stack}"


def pins_problems(clients: SimClients, stack: str, path: Path) -> list[str]:
    """``mlops deploy --check``: every pin of the stack file Approved and of the stack's group."""
    from ops.release.pin_check import check_pins

    return [
        f"{result.check_id}: {result.detail}"
        for result in check_pins(stack, path, clients.sagemaker)
        if result.status == "failed"
    ]
