"""What later steps of a run refer to, resolved as the pipeline service resolves it.

A definition's arguments hold expressions: ``Get`` (a parameter, an execution
variable, a step property), ``Std:Join`` and ``Std:JsonGet`` (a value of a
property file). ``RunState`` holds what a run knows so far and resolves them;
``condition_holds`` evaluates one condition of a ``Condition`` step.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ml.errors import MlopsError


@dataclass
class RunState:
    """What later steps can refer to: parameters, execution variables, step properties."""

    parameters: dict[str, Any]
    execution: dict[str, str]
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    property_files: dict[tuple[str, str], Any] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        """The concrete value of an expression (lists and dicts resolved member by member)."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Get"}:
            return self._get(value["Get"])
        if set(value) == {"Std:Join"}:
            spec = value["Std:Join"]
            return spec["On"].join(_text(self.resolve(item)) for item in spec["Values"])
        if set(value) == {"Std:JsonGet"}:
            spec = value["Std:JsonGet"]
            _, step, _, name = spec["PropertyFile"]["Get"].split(".", 3)
            return _json_path(self.property_files[(step, name)], spec["Path"])
        return {key: self.resolve(item) for key, item in value.items()}

    def _get(self, path: str) -> Any:
        kind, _, rest = path.partition(".")
        if kind == "Parameters":
            return self.parameters[rest]
        if kind == "Execution":
            return self.execution[rest]
        if kind == "Steps":
            step, _, prop = rest.partition(".")
            try:
                return self.properties[step][prop]
            except KeyError:
                raise MlopsError(f"step {step} has no property {prop} in this run") from None
        raise MlopsError(f"the local runner cannot resolve {path!r}")


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def _json_path(document: Any, path: str) -> Any:
    node = document
    for part in path.split("."):
        node = node[part]
    return node


def condition_holds(state: RunState, condition: dict[str, Any]) -> bool:
    """One condition of a ``Condition`` step, evaluated on resolved values."""
    left = float(state.resolve(condition["LeftValue"]))
    right = float(state.resolve(condition["RightValue"]))
    comparisons: dict[str, Callable[[float, float], bool]] = {
        "GreaterThanOrEqualTo": lambda a, b: a >= b,
        "GreaterThan": lambda a, b: a > b,
        "LessThanOrEqualTo": lambda a, b: a <= b,
        "LessThan": lambda a, b: a < b,
        "Equals": lambda a, b: a == b,
    }
    if condition["Type"] not in comparisons:
        raise MlopsError(f"the local runner does not evaluate {condition['Type']} conditions")
    return comparisons[condition["Type"]](left, right)
