"""The stack file, ``environments/Pulumi.<stack>.yaml``: where it is, reading it, editing it.

Reading gives the flat Pulumi config map (``namespace:key`` -> value) and the
``mlops`` namespace of it. Editing goes through ruamel.yaml's round trip, so
comments, key order and layout stay, and the file is replaced atomically.
"""

from __future__ import annotations

import difflib
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError as RoundTripYAMLError

from infra.config.base import NAMESPACE, ConfigError
from infra.config.delivery import GITHUB_TOKEN_KEY
from infra.config.safe_yaml import load_yaml_file

REPO_ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS_DIR = REPO_ROOT / "environments"
# Pulumi secrets of the namespace (``pulumi config set --secret``): read by the program as
# secret Outputs, never part of the typed config (a stack file holds only their ciphertext).
SECRET_KEYS = (GITHUB_TOKEN_KEY,)
# Top-level keys Pulumi itself writes into a stack file, besides ``config``.
PULUMI_FILE_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt")
# The config namespaces the program reads: its own, its providers' (aws, kubernetes,
# docker-build, terraform) and Pulumi's (``pulumi:tags``, ``pulumi:disable-default-providers``).
CONFIG_NAMESPACES = (NAMESPACE, "aws", "kubernetes", "docker-build", "terraform", "pulumi")


def stack_file(stack: str) -> Path:
    """``environments/Pulumi.<stack>.yaml``."""
    return ENVIRONMENTS_DIR / f"Pulumi.{stack}.yaml"


def read_stack_file(path: Path) -> dict[str, Any]:
    """All config keys of a stack file (``namespace:key`` -> value), checked as Pulumi reads them.

    The YAML is read with limits (``safe_yaml``); top-level keys other than Pulumi's
    own, config keys without a namespace and namespaces nothing here reads are refused
    by name, since Pulumi would refuse or ignore them.
    """
    if not path.is_file():
        raise ConfigError(f"stack file {path} not found; create it or pass --config-file")
    document = load_yaml_file(path)
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError(f"stack file {path} must be a mapping with a top-level 'config:' key")
    _check_top_level(path, document)
    config = document.get("config", {})
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ConfigError(f"stack file {path}: 'config' must be a mapping of keys to values")
    for key in config:
        check_config_key(path, str(key))
    return config


def _check_top_level(path: Path, document: dict[Any, Any]) -> None:
    for key in document:
        if key == "config" or key in PULUMI_FILE_KEYS:
            continue
        raise ConfigError(
            f"stack file {path}: top-level key {key!r} is not one Pulumi reads "
            f"(config, {', '.join(PULUMI_FILE_KEYS)}); settings go under config: as "
            f"{NAMESPACE}:{key}"
        )


def check_config_key(path: Path, key: str) -> None:
    """Refuse a key Pulumi cannot parse (no namespace) or one in a namespace nothing reads.

    Pulumi parses a stack file's keys as ``<namespace>:<name>`` and refuses others
    (``ParseKey`` in pulumi/sdk/go/common/resource/config/key.go); a namespace
    no provider of this program reads is silently ignored, so a typo such as
    ``mlop:`` would drop the setting.
    """
    namespace, colon, name = key.partition(":")
    if not colon or not namespace or not name:
        raise ConfigError(
            f"stack file {path}: config key {key!r} has no namespace (Pulumi reads "
            f"<namespace>:<name>); write it as {NAMESPACE}:{key.strip(':')}"
        )
    if namespace not in CONFIG_NAMESPACES:
        close = difflib.get_close_matches(namespace, CONFIG_NAMESPACES, n=1)
        hint = f"did you mean {close[0]}:{name}? " if close else ""
        raise ConfigError(
            f"stack file {path}: config key {key!r} is in namespace {namespace!r}, which "
            f"nothing in this program reads; {hint}namespaces read: "
            f"{', '.join(sorted(CONFIG_NAMESPACES))}"
        )


def namespace_values(config: dict[str, Any]) -> dict[str, Any]:
    """The ``mlops:`` keys of a flat config map, prefix removed, JSON strings decoded."""
    values: dict[str, Any] = {}
    for full_key, raw in config.items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE or not key or key in SECRET_KEYS:
            continue
        values[key] = decode(raw)
    return values


def decode(raw: Any) -> Any:
    """A config value as Pulumi may hand it over: JSON text becomes data, other text stays."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def secret_keys(flat: dict[str, Any]) -> list[str]:
    """The full keys (``mlops:githubToken``) of the namespace's secrets that ``flat`` sets."""
    return [f"{NAMESPACE}:{key}" for key in SECRET_KEYS if f"{NAMESPACE}:{key}" in flat]


def _round_trip() -> YAML:
    """ruamel.yaml in round-trip mode, indented as the project's stack files are."""
    handler = YAML()
    handler.preserve_quotes = True
    handler.indent(mapping=2, sequence=4, offset=2)
    handler.width = 4096  # never re-wrap a long value
    return handler


def with_config_value(text: str, key: str, path: Sequence[str], value: Any) -> str:
    """The stack file's text with ``config[key][path...]`` set; everything else as it was.

    Sections on the way are created when missing; text that already holds the
    value comes back unchanged.
    """
    handler = _round_trip()
    try:
        document = handler.load(text)
    except RoundTripYAMLError:
        raise ConfigError("stack file is not valid YAML; fix its syntax") from None
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise ConfigError("stack file has no top-level 'config:' mapping; add one")
    node = config
    for part in [key, *path[:-1]]:
        child = node.get(part)
        if child is None:
            child = node[part] = CommentedMap()
        if not isinstance(child, dict):
            raise ConfigError(f"stack file: {key} must be a mapping to hold {'.'.join(path)}")
        node = child
    if node.get(path[-1]) == value:
        return text
    node[path[-1]] = value
    out = io.StringIO()
    handler.dump(document, out)
    return out.getvalue()
