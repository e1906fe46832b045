"""Promotion: an approved package of one stack becomes the pinned model of the next stack.

dev -> staging -> prod. The package is copied into the target stack's group
(once: a copy is found again by its ``PromotedFrom`` metadata) and its ARN is
written to ``mlops:serving: modelPackageArn:`` in ``environments/Pulumi.<stack>.yaml``,
so what a stack serves is pinned in git and reviewed like any other change.
The stack file is edited as text (comments and layout stay) and re-parsed to
check that nothing but that one value changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipelines.registry import (
    APPROVED,
    MODEL_GROUP_SUFFIX,
    Package,
    RegistryError,
    describe,
    latest_approved,
    list_packages,
    state_change,
)

STACK_ORDER = ("dev", "staging", "prod")
SERVING_KEY = "mlops:serving"
ARN_KEY = "modelPackageArn"


class PromotionError(RegistryError):
    """A promotion that must not happen (unapproved package, no approved model, bad target)."""


@dataclass(frozen=True)
class Promotion:
    """What a promotion did: source, target package, and whether anything was new."""

    source: Package
    target: Package
    stack: str
    stack_file: Path
    created: bool
    file_changed: bool


def source_stack(target: str) -> str:
    """The stack whose approved models feed ``target``."""
    if target not in STACK_ORDER:
        raise PromotionError(f"unknown stack {target!r}; promote to one of staging, prod")
    index = STACK_ORDER.index(target)
    if index == 0:
        raise PromotionError("dev is the first stack; nothing promotes into it (use staging, prod)")
    return STACK_ORDER[index - 1]


def group_of(stack: str, stack_file: Path | None = None) -> str:
    """The model package group of a stack, named as the registry component names it."""
    from infra.stack_config import namespace_values, read_stack_file, resolve
    from infra.stack_config import stack_file as path_of

    config = resolve(stack, namespace_values(read_stack_file(stack_file or path_of(stack))))
    return config.resource_name(MODEL_GROUP_SUFFIX)


def choose_source(client: Any, group: str, package_arn: str | None) -> Package:
    """The package to promote: the one named (if approved) or the group's newest approved."""
    if package_arn is None:
        champion = latest_approved(client, group)
        if champion is None:
            raise PromotionError(
                f"no approved model in {group}; approve one with 'mlops registry approve ARN'"
            )
        return champion
    package = describe(client, package_arn)
    if package.status != APPROVED:
        reason = f" ({package.approval_description})" if package.approval_description else ""
        raise PromotionError(
            f"model package {package_arn} is {package.status}{reason}; only approved "
            "packages are promoted"
        )
    return package


def copy_into(
    client: Any, source: Package, target_group: str, source_stack_name: str
) -> tuple[Package, bool]:
    """The source's copy in ``target_group``: found if it exists, registered if not."""
    for existing in list_packages(client, target_group):
        if existing.metadata.get("PromotedFrom") == source.arn:
            return existing, False
    metadata = {
        **source.metadata,
        "PromotedFrom": source.arn,
        "PromotedFromStack": source_stack_name,
    }
    request: dict[str, Any] = {
        "ModelPackageGroupName": target_group,
        "ModelPackageDescription": f"Promoted from {source.arn}",
        "InferenceSpecification": source.inference_specification,
        "ModelApprovalStatus": APPROVED,
        "CustomerMetadataProperties": metadata,
    }
    if source.model_metrics:
        request["ModelMetrics"] = source.model_metrics
    created = client.create_model_package(**request)
    return describe(client, created["ModelPackageArn"]), True


def promote(
    client: Any,
    target_stack: str,
    package_arn: str | None = None,
    stack_file: Path | None = None,
    source_group: str | None = None,
    target_group: str | None = None,
) -> Promotion:
    """Promote into ``target_stack`` and pin the result in its stack file; safe to repeat."""
    from infra.stack_config import stack_file as path_of

    origin = source_stack(target_stack)
    path = stack_file or path_of(target_stack)
    source = choose_source(client, source_group or group_of(origin), package_arn)
    group = target_group or group_of(target_stack, path)
    target, created = copy_into(client, source, group, origin)
    changed = pin_model_package(path, target.arn)
    return Promotion(source, target, target_stack, path, created, changed)


def promote_on_event(
    client: Any, event: dict[str, Any], stack_files: dict[str, Path] | None = None
) -> Promotion | None:
    """The CD hook: an approval in one stack promotes to the next; other events are ignored.

    Duplicate deliveries find the same copy and the same pinned ARN, so they change nothing.
    """
    group, arn, status = state_change(event)
    if status != APPROVED:
        return None
    files = stack_files or {}
    for stack in STACK_ORDER[:-1]:
        if group_of(stack, files.get(stack)) == group:
            target = STACK_ORDER[STACK_ORDER.index(stack) + 1]
            return promote(client, target, arn, stack_file=files.get(target), source_group=group)
    return None


def pin_model_package(path: Path, arn: str) -> bool:
    """Write ``arn`` as ``mlops:serving: modelPackageArn:``; False when it was already there."""
    if not path.is_file():
        raise PromotionError(f"stack file {path} not found; create it before promoting")
    text = path.read_text(encoding="utf-8")
    updated = set_model_package_arn(text, arn)
    if updated == text:
        return False
    before, after = yaml.safe_load(text) or {}, yaml.safe_load(updated)
    expected = _with_arn(before, arn)
    if after != expected:
        raise PromotionError(f"{path}: could not pin the model package without other changes")
    path.write_text(updated, encoding="utf-8")
    return True


def _with_arn(document: dict[str, Any], arn: str) -> dict[str, Any]:
    config = dict(document.get("config") or {})
    serving = dict(config.get(SERVING_KEY) or {})
    serving[ARN_KEY] = arn
    config[SERVING_KEY] = serving
    return {**document, "config": config}


def set_model_package_arn(text: str, arn: str) -> str:
    """The stack file's text with the serving ARN set: replaced, inserted or a new section."""
    lines = text.splitlines(keepends=True)
    config_at = _find(lines, re.compile(r"^config:\s*(#.*)?$"))
    if config_at is None:
        raise PromotionError("stack file has no top-level 'config:' mapping; add one")
    serving_at = _find(lines, re.compile(r"^(\s+)mlops:serving:\s*(#.*)?$"))
    if serving_at is None:
        if _find(lines, re.compile(r"^\s+mlops:serving:")) is not None:
            raise PromotionError("mlops:serving is written inline; write it as a block mapping")
        indent = _child_indent(lines, config_at) or "  "
        block = f"{indent}{SERVING_KEY}:\n{indent}  {ARN_KEY}: {arn}\n"
        end = _block_end(lines, config_at, "")
        return "".join([*_ensure_newline(lines[:end]), block, *lines[end:]])
    parent_indent = _indent(lines[serving_at])
    end = _block_end(lines, serving_at, parent_indent)
    child_indent = _child_indent(lines, serving_at) or parent_indent + "  "
    key = re.compile(rf"^{re.escape(child_indent)}{ARN_KEY}:")
    for index in range(serving_at + 1, end):
        if key.match(lines[index]):
            newline = "\n" if lines[index].endswith("\n") else ""
            lines[index] = f"{child_indent}{ARN_KEY}: {arn}{newline}"
            return "".join(lines)
    lines.insert(serving_at + 1, f"{child_indent}{ARN_KEY}: {arn}\n")
    return "".join(lines)


def _find(lines: list[str], pattern: re.Pattern[str]) -> int | None:
    return next((i for i, line in enumerate(lines) if pattern.match(line.rstrip("\n"))), None)


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _child_indent(lines: list[str], parent: int) -> str | None:
    """Indentation of the first key under ``lines[parent]``, None when the block is empty."""
    for line in lines[parent + 1 :]:
        if line.strip() and not line.lstrip().startswith("#"):
            indent = _indent(line)
            return indent if len(indent) > len(_indent(lines[parent])) else None
    return None


def _block_end(lines: list[str], start: int, parent_indent: str) -> int:
    """Index after the last line indented deeper than the block's key."""
    end = start + 1
    for index in range(start + 1, len(lines)):
        line = lines[index]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if len(_indent(line)) <= len(parent_indent):
            break
        end = index + 1
    return end


def _ensure_newline(lines: list[str]) -> list[str]:
    if lines and not lines[-1].endswith("\n"):
        return [*lines[:-1], lines[-1] + "\n"]
    return lines
