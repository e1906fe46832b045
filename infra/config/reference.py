"""The config reference in the README, rendered from the config model itself.

A test compares the README with this rendering, so the documentation cannot
drift from what the program accepts. Regenerate it, and the stack-file schema
``environments/stack.schema.json`` (``schema.py``), with
``.venv/bin/python -m infra.config.reference --write``.
"""

from __future__ import annotations

import argparse
import json
import typing
from enum import Enum
from pathlib import Path
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from infra.config.atomic import write_atomically
from infra.config.base import ENVIRONMENTS
from infra.config.loading import resolve
from infra.config.model import StackConfig
from infra.config.schema import SCHEMA_FILE, render_schema
from infra.config.stack_file import REPO_ROOT

BEGIN = "<!-- config-reference:begin -->"
END = "<!-- config-reference:end -->"
README = REPO_ROOT / "README.md"


def _sub_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _allowed(info: FieldInfo) -> str:
    annotation = info.annotation
    literal_args = [
        a
        for a in (annotation, *typing.get_args(annotation))
        if typing.get_origin(a) is typing.Literal
    ]
    if literal_args:
        return " \\| ".join(f"`{v}`" for v in typing.get_args(literal_args[0]))
    bounds = []
    for meta in info.metadata:
        for kind, attribute, symbol in (
            (Ge, "ge", ">="),
            (Gt, "gt", ">"),
            (Le, "le", "<="),
            (Lt, "lt", "<"),
        ):
            if isinstance(meta, kind):
                bounds.append(f"{symbol} {getattr(meta, attribute)}")
    text = info.description or _type_name(annotation)
    return f"{text} ({', '.join(bounds)})" if bounds else text


def _type_name(annotation: Any) -> str:
    """``int | None`` -> ``int, optional``; lists and maps in words; enums as their values."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " \\| ".join(f"`{member.value}`" for member in annotation)
    origin = typing.get_origin(annotation)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return "map of string to string"
    if len(args) == 1 and len(typing.get_args(annotation)) == 2:
        return f"{_type_name(args[0])}, optional"
    if typing.get_origin(annotation) is typing.Annotated:
        return _type_name(args[0])
    return getattr(annotation, "__name__", str(annotation))


def _leaf_rows(model: type[BaseModel], prefix: str) -> list[tuple[str, FieldInfo]]:
    rows: list[tuple[str, FieldInfo]] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{info.alias or name}"
        sub = _sub_model(info.annotation)
        if sub is not None:
            rows.extend(_leaf_rows(sub, f"{key}."))
        else:
            rows.append((key, info))
    return rows


def _value_at(config: dict[str, Any], key: str) -> Any:
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _show(value: Any) -> str:
    if value is None:
        return "-"
    return f"`{json.dumps(value)}`"


def render() -> str:
    """The markdown table: key, what is allowed, and each environment's default."""
    defaults = {
        env: resolve(env, {}).model_dump(mode="json", by_alias=True) for env in ENVIRONMENTS
    }
    lines = [
        "| key (`mlops:`) | allowed | dev | staging | prod |",
        "|---|---|---|---|---|",
    ]
    for key, info in _leaf_rows(StackConfig, ""):
        cells = [_show(_value_at(defaults[env], key)) for env in ENVIRONMENTS]
        lines.append(f"| `{key}` | {_allowed(info)} | {' | '.join(cells)} |")
    return "\n".join(lines)


def readme_block(readme: Path = README) -> str:
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip()


def write(readme: Path = README, schema: Path = SCHEMA_FILE) -> None:
    """Rewrite the README's reference block and the stack-file schema, each atomically."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    write_atomically(readme, text[:start] + "\n" + render() + "\n" + text[end:])
    write_atomically(schema, render_schema())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--write",
        action="store_true",
        help="Rewrite the README's reference block and environments/stack.schema.json.",
    )
    arguments = parser.parse_args()
    if arguments.write:
        write()
    else:
        print(render())
