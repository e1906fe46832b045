"""Pydantic's validation errors as one line that names the key, the value and what is allowed.

The walk over the model's fields takes the root model as an argument, so it
serves ``StackConfig`` without importing it.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from infra.config.base import NAMESPACE, ConfigError, ConfigValueError


def format_validation_error(error: ValidationError, root: type[BaseModel]) -> str:
    """The first problem as one line: key path, value, what is allowed."""
    first = error.errors()[0]
    path = ".".join(str(part) for part in first["loc"])
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, ConfigValueError):
        key = f"{path}.{cause.key}" if path else cause.key
        return f"invalid config {NAMESPACE}:{key} = {cause.value!r}: {cause.allowed}"
    if first["type"] == "extra_forbidden":
        return f"unknown config key {NAMESPACE}:{path}; {_allowed_keys_hint(root, first['loc'])}"
    if first["type"] == "missing":
        return f"missing config key {NAMESPACE}:{path}: it is required"
    value = first.get("input")
    return f"invalid config {NAMESPACE}:{path} = {value!r}: {_allowed(root, first)}"


def _allowed(root: type[BaseModel], error: Any) -> str:
    if error["type"] in ("int_type", "float_type") and isinstance(error.get("input"), bool):
        kind = "a whole number" if error["type"] == "int_type" else "a number"
        return f"expected {kind}; true and false are not numbers (strict types)"
    if error["type"] == "string_pattern_mismatch":
        info = _field_info(root, error["loc"])
        if info is not None and info.description:
            return f"expected {info.description}"
    message = re.sub(r"^(Value error|Assertion failed), ", "", str(error["msg"])).rstrip(".")
    return message[:1].lower() + message[1:]


def _field_info(root: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    model: type[BaseModel] | None = root
    info = None
    for part in loc:
        if model is None:
            return None
        info = next((f for n, f in model.model_fields.items() if (f.alias or n) == str(part)), None)
        if info is None:
            return None
        model = _field_by_alias(model, str(part))
    return info


def _allowed_keys_hint(root: type[BaseModel], loc: tuple[Any, ...]) -> str:
    model: type[BaseModel] = root
    for part in loc[:-1]:
        field = _field_by_alias(model, str(part))
        if field is None:
            break
        model = field
    keys = sorted(info.alias or name for name, info in model.model_fields.items())
    return f"allowed keys here: {', '.join(keys)}"


def _field_by_alias(model: type[BaseModel], alias: str) -> type[BaseModel] | None:
    for name, info in model.model_fields.items():
        if (info.alias or name) == alias:
            annotation = info.annotation
            for candidate in (annotation, *getattr(annotation, "__args__", ())):
                if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                    return candidate
    return None


def check_key_path(root: type[BaseModel], dotted: str) -> None:
    """Refuse a ``--set`` key that names no setting, before anything merges it."""
    model: type[BaseModel] | None = root
    parts = dotted.split(".")
    for index, part in enumerate(parts):
        if model is None or (model is not root and model.__name__ == "dict"):
            return
        fields = {info.alias or name: info for name, info in model.model_fields.items()}
        if part not in fields:
            where = ".".join(parts[:index]) or "the top level"
            raise ConfigError(
                f"unknown config key {NAMESPACE}:{dotted}: no '{part}' at {where}; "
                f"allowed: {', '.join(sorted(fields))}"
            )
        if fields[part].annotation is not None and "dict[" in str(fields[part].annotation):
            return
        model = _field_by_alias(model, part)
        if model is None and index < len(parts) - 1:
            raise ConfigError(
                f"unknown config key {NAMESPACE}:{dotted}: '{part}' is a value, not a section"
            )
