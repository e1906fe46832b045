"""The stacks a model moves through, and what a stack file says about the model it serves.

dev -> staging -> prod. Each stack has its own model package group (named as the
registry component names it) and pins the package it serves in its stack file,
``mlops:serving: modelPackageArn:``. Every release operation reads those here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from infra.config import load_stack
from infra.naming import StackNames
from pipelines.registry import RegistryError

if TYPE_CHECKING:
    from infra.config import StackConfig

STACK_ORDER = ("dev", "staging", "prod")
SERVING_KEY = "mlops:serving"
ARN_KEY = "modelPackageArn"
PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/(?P<group>[A-Za-z0-9-]{1,63})/"
    r"(?P<version>\d+)$"
)


class PromotionError(RegistryError):
    """A release that must not happen (nothing pinned, unapproved package, bad target)."""


def known_stack(stack: str) -> str:
    """``stack`` itself, or a clear error naming the stacks there are."""
    if stack not in STACK_ORDER:
        raise PromotionError(f"unknown stack {stack!r}; use one of {', '.join(STACK_ORDER)}")
    return stack


def next_stack(stack: str) -> str | None:
    """The stack after ``stack``, or None for the last one."""
    index = STACK_ORDER.index(known_stack(stack))
    return STACK_ORDER[index + 1] if index + 1 < len(STACK_ORDER) else None


def source_stack(target: str) -> str:
    """The stack whose pinned model feeds ``target``."""
    if target not in STACK_ORDER:
        raise PromotionError(f"unknown stack {target!r}; promote to one of staging, prod")
    index = STACK_ORDER.index(target)
    if index == 0:
        raise PromotionError(
            "dev is the first stack; nothing promotes into it "
            "(serve dev's own model with 'mlops deploy --stack dev')"
        )
    return STACK_ORDER[index - 1]


def stack_path(stack: str, stack_file: Path | None = None) -> Path:
    """Where ``stack``'s file is read and written: ``stack_file``, or its environments file."""
    from infra.config.stack_file import stack_file as path_of

    return stack_file or path_of(stack)


def stack_config(stack: str, stack_file: Path | None = None) -> StackConfig:
    """The stack's config; a ``stack_file`` that does not exist yet reads as the stack's own."""
    path = stack_path(stack, stack_file)
    return load_stack(stack, path if path.is_file() else None)


def group_of(stack: str, stack_file: Path | None = None) -> str:
    """The model package group of a stack, named as the registry component names it."""
    return StackNames(stack_config(stack, stack_file)).model_group


def pinned_arn(stack: str, stack_file: Path | None = None) -> str | None:
    """The ``mlops:serving.modelPackageArn`` a stack file pins, or None."""
    return stack_config(stack, stack_file).serving.model_package_arn


def group_in_arn(arn: str) -> str:
    """The group a versioned model package ARN names; anything else is a clear error."""
    found = PACKAGE_ARN.match(arn)
    if found is None:
        raise PromotionError(
            f"{arn!r} is not a versioned model package ARN "
            "(arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>)"
        )
    return found.group("group")


def stack_of_group(group: str, stack_files: dict[str, Path] | None = None) -> str | None:
    """The stack whose model package group is ``group``, or None when no stack's is."""
    files = stack_files or {}
    for stack in STACK_ORDER:
        if group_of(stack, files.get(stack)) == group:
            return stack
    return None


def stack_of_package(arn: str, stack_files: dict[str, Path] | None = None) -> str:
    """The stack whose registry holds the package ``arn``."""
    group = group_in_arn(arn)
    stack = stack_of_group(group, stack_files)
    if stack is None:
        raise PromotionError(f"{arn} is in {group}, which is no stack's model package group")
    return stack
