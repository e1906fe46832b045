"""Load a stack's ``mlops`` config: from the Pulumi runtime, or from a stack file with overrides.

The Pulumi program reads the runtime (``load_from_runtime``); the offline plan
reads the stack file, applies ``--set`` overrides and hands the result to the
runtime, so both paths validate the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from infra.config import (
    ENVIRONMENTS,
    NAMESPACE,
    ConfigError,
    StackConfig,
    check_key_path,
    parse_stack_config,
)
from infra.config_delivery import GITHUB_TOKEN_KEY
from infra.defaults import deep_merge, defaults_for

REPO_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS_DIR = REPO_ROOT / "environments"
# Pulumi secrets of the namespace (``pulumi config set --secret``): read by the program as
# secret Outputs, never part of the typed config (a stack file holds only their ciphertext).
SECRET_KEYS = (GITHUB_TOKEN_KEY,)


def stack_file(stack: str) -> Path:
    """``environments/Pulumi.<stack>.yaml``."""
    return ENVIRONMENTS_DIR / f"Pulumi.{stack}.yaml"


def read_stack_file(path: Path) -> dict[str, Any]:
    """All config keys of a stack file (``namespace:key`` -> value)."""
    if not path.is_file():
        raise ConfigError(f"stack file {path} not found; create it or pass --config-file")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"stack file {path}{where} is not valid YAML; fix its syntax") from None
    config = document.get("config", {}) if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise ConfigError(f"stack file {path}: 'config' must be a mapping of keys to values")
    return config


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


def apply_overrides(values: dict[str, Any], assignments: list[str]) -> dict[str, Any]:
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


def namespace_values(config: dict[str, Any]) -> dict[str, Any]:
    """The ``mlops:`` keys of a flat config map, prefix removed, JSON strings decoded."""
    values: dict[str, Any] = {}
    for full_key, raw in config.items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE or not key or key in SECRET_KEYS:
            continue
        values[key] = _decode(raw)
    return values


def _decode(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def resolve(stack: str, values: dict[str, Any]) -> StackConfig:
    """Merge the environment's defaults under ``values`` and validate."""
    environment = values.get("environment", stack if stack in ENVIRONMENTS else None)
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            f"invalid config {NAMESPACE}:environment = {environment!r}: "
            f"one of {', '.join(ENVIRONMENTS)} (required for stack {stack!r})"
        )
    merged = deep_merge(defaults_for(environment), {**values, "environment": environment})
    return parse_stack_config(merged)


def secret_keys(flat: dict[str, Any]) -> list[str]:
    """The full keys (``mlops:githubToken``) of the namespace's secrets that ``flat`` sets."""
    return [f"{NAMESPACE}:{key}" for key in SECRET_KEYS if f"{NAMESPACE}:{key}" in flat]


def require_secrets(config: StackConfig, flat: dict[str, Any]) -> None:
    """Refuse a config whose enabled features lack the secret they need."""
    if config.delivery.github.enabled and f"{NAMESPACE}:{GITHUB_TOKEN_KEY}" not in flat:
        raise ConfigError(
            f"delivery.github.repository is set but the secret {NAMESPACE}:{GITHUB_TOKEN_KEY} "
            f"is not: run 'pulumi config set --secret {GITHUB_TOKEN_KEY} <token>' with a token "
            "that may write contents of that repository"
        )


def load_from_runtime() -> StackConfig:
    """The config of the stack that the Pulumi engine (or the offline plan) is running."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    flat = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    values = namespace_values(flat)
    region = flat.get("aws:region")
    if region and "region" not in values:
        values["region"] = _decode(region)
    config = resolve(pulumi.get_stack(), values)
    require_secrets(config, flat)
    return config
