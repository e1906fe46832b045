"""A stack file's YAML, read with limits: size, alias expansion, nesting, duplicate keys, UTF-8.

A stack file is small and hand-edited, so anything that makes it large, deep
or ambiguous is a mistake or an attack: a 12-line "billion laughs" alias bomb
expands to gigabytes once anything walks it, and PyYAML keeps the last of two
equal keys without a word. The document is composed into nodes first (cheap:
an alias is a reference to an already composed node), its expanded size and
depth counted with one visit per node, duplicate keys refused, and only then
constructed into Python values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from infra.config.base import ConfigError

MAX_BYTES = 1 << 20  # 1 MiB: the project's stack files are about 1 KiB
MAX_VALUES = 10_000  # values after alias expansion: the largest stack file holds about 100
MAX_DEPTH = 32  # the config model nests 4 levels deep
MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses a key given twice in one mapping."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue  # '<<' merges: its keys may be overridden, as YAML intends
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, str) and key in first_line:
                raise _DuplicateKeyError(key, line, first_line[key])
            if isinstance(key, str):
                first_line[key] = line
        return super().construct_mapping(node, deep=deep)


class _DuplicateKeyError(Exception):
    def __init__(self, key: str, line: int, first: int) -> None:
        super().__init__(key)
        self.key, self.line, self.first = key, line, first


def load_yaml_file(path: Path) -> Any:
    """The document of a YAML file, or a ConfigError naming the file and the problem."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ConfigError(
                f"stack file {path} is {size:,} bytes, over the {MAX_BYTES:,}-byte limit; "
                "a stack file states only what differs from its environment's defaults"
            )
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"stack file {path} cannot be read: {error.strerror or error}") from None
    return load_yaml_text(_utf8(path, data), str(path))


def _utf8(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"stack file {path} line {line} is not UTF-8 (byte 0x{data[error.start]:02x} "
            f"at offset {error.start}); save the file as UTF-8"
        ) from None


def load_yaml_text(text: str, name: str) -> Any:
    """Compose, check the limits, construct: the document of ``text`` (``name`` for errors)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node, name)
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"stack file {name}{where} is not valid YAML; fix its syntax") from None
    except _DuplicateKeyError as error:
        raise ConfigError(
            f"stack file {name} line {error.line}: key {error.key!r} is given twice "
            f"(first on line {error.first}); keep one"
        ) from None
    except RecursionError:
        raise ConfigError(
            f"stack file {name} nests too deeply to read; at most {MAX_DEPTH} levels"
        ) from None
    finally:
        loader.dispose()


def _check_size(root: Node, name: str) -> None:
    """Refuse a document whose aliases expand past MAX_VALUES or that nests past MAX_DEPTH."""
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    order: list[Node] = []
    _post_order(root, order, name)
    for node in order:  # children before parents: each node's size is known once
        children = _children(node)
        sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
        depths[id(node)] = 1 + max((depths[id(child)] for child in children), default=0)
        if sizes[id(node)] > MAX_VALUES:
            raise ConfigError(
                f"stack file {name} expands to more than {MAX_VALUES:,} values through YAML "
                "aliases (*name); write the values out instead of repeating anchors"
            )
        if depths[id(node)] > MAX_DEPTH:
            raise ConfigError(
                f"stack file {name} nests more than {MAX_DEPTH} levels deep; "
                "the config has at most a few levels"
            )


def _post_order(root: Node, order: list[Node], name: str) -> None:
    """Every distinct node once, children first; an alias that contains itself is refused."""
    done: set[int] = set()
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            open_nodes.discard(id(node))
            done.add(id(node))
            order.append(node)
            continue
        if id(node) in done:
            continue
        if id(node) in open_nodes:
            raise ConfigError(f"stack file {name} has a YAML alias that contains itself; remove it")
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in done)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    assert isinstance(node, ScalarNode)
    return []
