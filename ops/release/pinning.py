"""Writing the served model into a stack file: one value changed, nothing else, atomically.

The stack file is edited through a YAML round trip (comments, key order and
layout stay), re-parsed to check that nothing but ``mlops:serving:
modelPackageArn:`` changed, and replaced atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from infra.config import ConfigError
from infra.config.atomic import write_atomically
from infra.config.stack_file import with_config_value
from ops.release.stacks import ARN_KEY, SERVING_KEY, PromotionError


def pin_model_package(path: Path, arn: str, template: Path | None = None) -> bool:
    """Write ``arn`` as ``mlops:serving: modelPackageArn:``; False when it was already there.

    A ``path`` that does not exist starts as a copy of ``template`` (the stack's own file).
    The file is replaced atomically, and only when nothing but that one value changed.
    """
    source = path if path.is_file() else template
    if source is None or not source.is_file():
        raise PromotionError(f"stack file {path} not found; create it before pinning")
    text = source.read_text(encoding="utf-8")
    try:
        updated = set_model_package_arn(text, arn)
    except ConfigError as error:
        raise PromotionError(f"{source}: {error}") from None
    if updated == text and source == path:
        return False
    before, after = yaml.safe_load(text) or {}, yaml.safe_load(updated)
    if after != _with_arn(before, arn):
        raise PromotionError(f"{path}: could not pin the model package without other changes")
    write_atomically(path, updated)
    return True


def _with_arn(document: dict[str, Any], arn: str) -> dict[str, Any]:
    config = dict(document.get("config") or {})
    serving = dict(config.get(SERVING_KEY) or {})
    serving[ARN_KEY] = arn
    config[SERVING_KEY] = serving
    return {**document, "config": config}


def set_model_package_arn(text: str, arn: str) -> str:
    """The stack file's text with the serving ARN set: replaced, inserted or a new section.

    A round trip through ruamel.yaml: comments, key order and layout stay.
    """
    return with_config_value(text, SERVING_KEY, [ARN_KEY], arn)
