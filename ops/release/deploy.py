"""Deployment: dev serves the newest approved model of its own registry.

dev is where models are trained and approved automatically; ``mlops deploy``
pins the newest approved package of dev's own group in dev's stack file, so
the next ``pulumi up`` of dev creates (or updates) its endpoint. staging and
prod serve only what the stack before them served: they get their model from
``mlops promote``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.config import load_stack
from infra.naming import StackNames
from ops.release.promote import STACK_ORDER, PromotionError, pin_model_package
from pipelines.registry import Package, latest_approved

DEPLOYABLE = STACK_ORDER[0]


@dataclass(frozen=True)
class Deployment:
    """What a deployment pinned, where, and whether the file changed."""

    package: Package
    stack: str
    stack_file: Path
    file_changed: bool


def deploy(client: Any, stack: str = DEPLOYABLE, stack_file: Path | None = None) -> Deployment:
    """Pin the newest approved package of ``stack``'s group in its stack file; safe to repeat.

    ``stack_file`` is where the pinned file is written (default: the stack's
    environments file; a path that does not exist yet starts as a copy of it).
    """
    from infra.config.stack_file import stack_file as path_of

    if stack != DEPLOYABLE:
        if stack not in STACK_ORDER:
            raise PromotionError(f"unknown stack {stack!r}; deploy to {DEPLOYABLE}")
        raise PromotionError(
            f"{stack} serves what the stack before it served; "
            f"use 'mlops promote --to {stack}' (deploy is for {DEPLOYABLE})"
        )
    path = stack_file or path_of(stack)
    group = StackNames(load_stack(stack, path if path.is_file() else None)).model_group
    package = latest_approved(client, group)
    if package is None:
        raise PromotionError(
            f"no approved model in {group}; run the pipeline ('mlops pipeline start --stack "
            f"{stack}') or approve one with 'mlops registry approve ARN --reason ...'"
        )
    changed = pin_model_package(path, package.arn, template=path_of(stack))
    return Deployment(package, stack, path, changed)
