"""Reading IAM policy documents and nested inputs out of the plan.

Policies arrive as JSON strings (what the engine records) or, rarely, as
dicts; a statement's Action, Resource and Principal may each be one value or
a list. These helpers make both shapes one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


def documents_in(value: Any) -> Iterator[dict[str, Any]]:
    """Every IAM policy document among a resource's inputs (JSON strings with a Statement)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from documents_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from documents_in(item)
    elif isinstance(value, str) and '"Statement"' in value:
        document = parse_document(value)
        if document is not None:
            yield document


def parse_document(value: Any) -> dict[str, Any] | None:
    """A policy document from a JSON string or a dict; None when it is neither."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements of a document, whether it holds one or a list."""
    return [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]


def walk_dicts(value: Any) -> Iterator[dict[str, Any]]:
    """Every dict nested anywhere in ``value`` (pipeline definitions, nested inputs)."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from walk_dicts(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_dicts(item)


def as_list(value: Any) -> list[Any]:
    """IAM's one-or-many fields as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
