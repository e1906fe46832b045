"""What an approval event leads to: its package served in its own stack, and offered to the next.

The approval rule of each stack's registry sends ``SageMaker Model Package
State Change`` events with status Approved to GitHub, where the promotion
workflow runs ``mlops deploy --stack S --arn ARN`` (pin exactly that package in
S's file, then a pull request) and ``mlops promote --arn ARN`` (register it in
the next stack, pending a person's approval there). ``on_approval`` is the same
two steps as one call, for callers that receive the event itself. Events come at
least once and in any order: a duplicate finds the pin and the copy in place and
changes nothing, and an event whose package is no longer Approved is refused by
the registry check.

Event: https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.release.deploy import Deployment, deploy
from ops.release.image_copy import LayerFetch
from ops.release.promote import NotPromoted, Promotion, PromotionClients, promote_package
from ops.release.stacks import stack_of_group
from pipelines.registry import APPROVED, state_change


@dataclass(frozen=True)
class ApprovalOutcome:
    """The pin in the package's own stack, and its registration in the next stack (or why not)."""

    deployment: Deployment
    promotion: Promotion | NotPromoted


def on_approval(
    clients: PromotionClients,
    event: dict[str, Any],
    stack_files: dict[str, Path] | None = None,
    fetch: LayerFetch | None = None,
) -> ApprovalOutcome | None:
    """Serve and promote the package ``event`` approves; None for any other event."""
    group, arn, status = state_change(event)
    if status != APPROVED:
        return None
    files = stack_files or {}
    stack = stack_of_group(group, files)
    if stack is None:
        return None
    deployment = deploy(clients.sagemaker, stack, files.get(stack), arn=arn)
    promotion = promote_package(clients, arn, files, fetch)
    return ApprovalOutcome(deployment, promotion)
