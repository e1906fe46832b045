"""The JSON schema of a stack file, generated from StackConfig, for editors and tests.

A Pulumi stack file is a ``config`` mapping of ``namespace:key`` to values;
each ``mlops:<key>`` takes the schema of that StackConfig field. The schema is
draft-07, what the YAML language server validates with; stack files name it
in a ``# yaml-language-server: $schema=./stack.schema.json`` modeline. Field
defaults are left out: each environment's defaults differ
(``infra/config/defaults.py``; the README's config reference lists them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.config.base import AWS_REGION_PATTERN, NAMESPACE, REGION_HINT
from infra.config.model import StackConfig
from infra.config.stack_file import (
    CONFIG_NAMESPACES,
    ENVIRONMENTS_DIR,
    PULUMI_FILE_KEYS,
    SECRET_KEYS,
)

SCHEMA_FILE = ENVIRONMENTS_DIR / "stack.schema.json"
DRAFT = "http://json-schema.org/draft-07/schema#"
# What ``pulumi config set --secret`` writes: the ciphertext under ``secure``.
SECRET_VALUE = {
    "type": "object",
    "description": "a Pulumi secret: pulumi config set --secret <key> <value>",
    "properties": {"secure": {"type": "string"}},
    "required": ["secure"],
    "additionalProperties": False,
}


def stack_file_schema() -> dict[str, Any]:
    """The schema of ``environments/Pulumi.<stack>.yaml``."""
    model = StackConfig.model_json_schema(by_alias=True, ref_template="#/definitions/{model}")
    namespace = {
        f"{NAMESPACE}:{key}": _without_defaults(value) for key, value in model["properties"].items()
    }
    namespace.update({f"{NAMESPACE}:{key}": SECRET_VALUE for key in SECRET_KEYS})
    config = {
        "type": "object",
        "description": f"Pulumi config: {NAMESPACE}:<key> as StackConfig, other namespaces free",
        "properties": {
            "aws:region": {
                "type": "string",
                "pattern": AWS_REGION_PATTERN,
                "description": REGION_HINT,
            },
            **namespace,
        },
        # A misspelt mlops key is refused; keys of the providers' namespaces (aws:profile)
        # are not ours; a key without a namespace, or in one nothing reads, is refused.
        "propertyNames": {"anyOf": [{"enum": sorted(namespace)}, {"pattern": _other_namespaces()}]},
    }
    definitions = {
        name: _without_defaults(definition) for name, definition in model.get("$defs", {}).items()
    }
    return {
        "$schema": DRAFT,
        "title": "mlops Pulumi stack file",
        "description": "Generated from StackConfig by python -m infra.config.reference --write",
        "type": "object",
        "properties": {"config": config, **{key: {"type": "string"} for key in PULUMI_FILE_KEYS}},
        "additionalProperties": False,
        "definitions": definitions,
    }


def _other_namespaces() -> str:
    """``^(aws|kubernetes|...):[^:]+$``: a key of a namespace the program reads, not its own."""
    others = sorted(n for n in CONFIG_NAMESPACES if n != NAMESPACE)
    return f"^({'|'.join(others)}):[^:]+$"


def _without_defaults(schema: Any) -> Any:
    """``schema`` without ``default`` keywords (a property named "default" would stay)."""
    if isinstance(schema, list):
        return [_without_defaults(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {}
    for key, value in schema.items():
        if key == "default":
            continue
        if key == "properties" and isinstance(value, dict):
            result[key] = {name: _without_defaults(item) for name, item in value.items()}
        else:
            result[key] = _without_defaults(value)
    return result


def render_schema() -> str:
    """The schema file's text: stable key order, one trailing newline."""
    return json.dumps(stack_file_schema(), indent=2) + "\n"


def schema_file_text(path: Path = SCHEMA_FILE) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""
