"""Plan inputs as AWS API parameters, shaped by botocore's service model, and the model's limits.

pulumi-aws inputs are the Terraform provider's attributes in camelCase
(``memorySizeInMb``); the API's members are PascalCase or camelCase
(``MemorySizeInMB``). The model decides: a key becomes the member whose name
matches it without case and underscores, a map becomes the list of pairs the
model wants (``Tags``, ``Dimensions``), a whole float becomes an integer where
the model asks for one. A key the model does not know is kept, so the
validator reports it. botocore's ``ParamValidator`` checks types, required
members and minimums; ``constraint_problems`` checks what it leaves out of
the same model: maximum lengths and values, enums and patterns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

INTEGER_TYPES = ("integer", "long")
# Longer strings (a pipeline definition) are checked for length, not pattern: a model
# pattern such as ``.*(?:[ \r\n\t].*)*`` backtracks without end on megabytes.
PATTERN_CHECK_LIMIT = 10_000


def normalized(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def to_params(value: Any, shape: Shape, renames: Mapping[str, str] | None = None) -> Any:
    """``value`` (plan inputs) in the form ``shape`` takes; ``renames``: normalized key -> name."""
    renames = renames or {}
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members = {normalized(name): name for name in shape.members}
        params: dict[str, Any] = {}
        for key, item in value.items():
            member = renames.get(normalized(key)) or members.get(normalized(key)) or key
            child = shape.members.get(member)
            params[member] = to_params(item, child, renames) if child is not None else item
        return params
    if isinstance(shape, ListShape):
        if isinstance(value, dict) and _is_pair(shape.member):
            key_member, value_member = list(shape.member.members)[:2]
            return [{key_member: k, value_member: v} for k, v in value.items()]
        if isinstance(value, list):
            return [to_params(item, shape.member, renames) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {k: to_params(v, shape.value, renames) for k, v in value.items()}
    if shape.type_name in INTEGER_TYPES and isinstance(value, float) and value.is_integer():
        return int(value)
    if shape.type_name == "double" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _is_pair(shape: Shape) -> bool:
    """A Key/Value-like structure: ``Tag`` ({Key, Value}), ``Dimension`` ({Name, Value})."""
    return (
        isinstance(shape, StructureShape)
        and len(shape.members) == 2
        and all(member.type_name == "string" for member in shape.members.values())
        and len(shape.required_members) == 2
    )


def constraint_problems(params: Any, shape: Shape, path: str = "") -> Iterator[str]:
    """What the model's ``max``, ``enum`` and ``pattern`` refuse in ``params``."""
    if isinstance(shape, StructureShape) and isinstance(params, dict):
        for key, item in params.items():
            if key in shape.members:
                yield from constraint_problems(item, shape.members[key], f"{path}.{key}")
        return
    if isinstance(shape, ListShape) and isinstance(params, list):
        yield from _above_max(path, len(params), shape, "items")
        for index, item in enumerate(params):
            yield from constraint_problems(item, shape.member, f"{path}[{index}]")
        return
    if isinstance(shape, MapShape) and isinstance(params, dict):
        for key, item in params.items():
            yield from constraint_problems(key, shape.key, f"{path}.<key>")
            yield from constraint_problems(item, shape.value, f"{path}.{key}")
        return
    if isinstance(params, str):
        yield from _string_problems(params, shape, path)
    elif isinstance(params, int | float) and not isinstance(params, bool):
        yield from _above_max(path, params, shape, "")


def _string_problems(value: str, shape: Shape, path: str) -> Iterator[str]:
    where = path.lstrip(".")
    yield from _above_max(path, len(value), shape, "characters")
    if shape.enum and value not in shape.enum:
        yield f"{where} = {value!r}: not one of {', '.join(shape.enum)}"
    pattern = _compiled(shape.metadata.get("pattern"))
    short = 0 < len(value) <= PATTERN_CHECK_LIMIT
    if pattern is not None and short and pattern.fullmatch(value) is None:
        yield f"{where} = {value[:80]!r}: does not match the pattern {pattern.pattern}"


def _above_max(path: str, size: float, shape: Shape, unit: str) -> Iterator[str]:
    limit = shape.metadata.get("max")
    if limit is not None and size > limit:
        what = f"{size:g} {unit}".strip()
        yield f"{path.lstrip('.')}: {what}, more than the maximum {limit}"


@cache
def _compiled(pattern: str | None) -> re.Pattern[str] | None:
    """The model's pattern (Java syntax); None where Python's ``re`` cannot read it (\\p{..})."""
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error:
        return None
