"""``--set KEY=VALUE``: one dotted key of the ``mlops`` namespace, set over a stack file.

Keys are checked against StackConfig before anything merges them, so a typo
is refused by name; values are typed as JSON (numbers, booleans, lists) or
kept as text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import yaml

from infra.config.base import NAMESPACE, ConfigError
from infra.config.model import check_key_path
from infra.config.stack_file import SECRET_KEYS, namespace_values


def parse_override(assignment: str) -> tuple[str, Any]:
    """``serving.rollout.canaryPercent=80`` -> (dotted key, YAML-typed value)."""
    key, sep, raw = assignment.partition("=")
    key = key.strip().removeprefix(f"{NAMESPACE}:")
    if not sep or not key:
        raise ConfigError(
            f"--set {assignment!r}: expected KEY=VALUE, for example serving.instanceCount=2"
        )
    check_key_path(key)
    return key, _typed(raw.strip())


def _typed(raw: str) -> Any:
    """JSON values (numbers, true/false, null, lists, objects) are typed; anything else is text."""
    try:
        return json.loads(raw)
    except ValueError:
        pass
    if raw.startswith(("[", "{")):
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError:
            return raw
    return raw


def apply_overrides(values: dict[str, Any], assignments: Sequence[str]) -> dict[str, Any]:
    """Set each dotted key in the namespace values, creating sections as needed."""
    result = json.loads(json.dumps(values))
    for assignment in assignments:
        key, value = parse_override(assignment)
        node = result
        *sections, leaf = key.split(".")
        for section in sections:
            child = node.get(section)
            if not isinstance(child, dict):
                child = node[section] = {}
            node = child
        node[leaf] = value
    return result


def with_overrides(flat: dict[str, Any], assignments: Sequence[str]) -> dict[str, Any]:
    """The flat config map with the namespace's values decoded and ``assignments`` applied.

    Other namespaces (``aws:region``) and the namespace's secrets pass through as they are.
    """
    values = apply_overrides(namespace_values(flat), assignments)
    secrets = {f"{NAMESPACE}:{key}" for key in SECRET_KEYS}
    kept = {k: v for k, v in flat.items() if not k.startswith(f"{NAMESPACE}:") or k in secrets}
    return {**kept, **{f"{NAMESPACE}:{key}": value for key, value in values.items()}}
