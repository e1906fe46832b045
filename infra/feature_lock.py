"""The feature-group lock: which features each stack's feature group version was made with.

A feature group cannot change its features in place: the change replaces it
and its data is gone. The group's name therefore carries a version
(``<prefix>-<env>-<featureGroupName>-v<version>``) and the committed
``environments/feature-groups.lock.json`` records, per stack and group, a
fingerprint of the features it was made with.

The Pulumi program only reads the lock (``check_feature_lock``): features that
differ from the recorded ones for the same group stop it with the fix (bump
``mlops:featureStore.version``). A group the lock does not know yet (a new
version, a new stack) is accepted with a warning, since nothing exists that it
could replace. ``mlops feature-store lock`` records it (``record``), never
overwriting a recorded fingerprint, and ``--check`` fails while any stack's
group is unrecorded, so CI deploys only recorded groups: once recorded, a
change of features under that version is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.config import ConfigError

LOCK_FILE = Path(__file__).resolve().parents[1] / "environments" / "feature-groups.lock.json"
LOCK_ENV = "MLOPS_FEATURE_LOCK"  # another lock file, for tests and dry runs
LOCK_COMMAND = "mlops feature-store lock"


@dataclass(frozen=True)
class LockEntry:
    """One stack's feature group version and the fingerprint of its features."""

    stack: str
    group_name: str
    version: int
    fingerprint: str

    @property
    def key(self) -> str:
        return f"{self.stack}/{self.group_name}"

    def record(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "version": self.version}


def features_fingerprint() -> str:
    """sha256 of what decides the group's shape: features, record id and event time."""
    from ml import schema
    from pipelines.jobs.features import feature_definitions

    document = {
        "features": feature_definitions(),
        "recordIdentifier": schema.ID_COLUMN,
        "eventTime": schema.TIME_COLUMN,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def lock_path() -> Path:
    return Path(os.environ.get(LOCK_ENV) or LOCK_FILE)


def stack_entry(stack: str, stack_file: Path | None = None) -> LockEntry | None:
    """The entry a stack's file asks for; None when the stack has no Feature Store."""
    from infra.config import load_stack
    from infra.naming import StackNames

    config = load_stack(stack, stack_file)
    group_name = StackNames(config).feature_group
    if group_name is None:
        return None
    return LockEntry(stack, group_name, config.feature_store.version, features_fingerprint())


def read_lock(path: Path) -> dict[str, dict[str, Any]]:
    """The recorded entries by ``<stack>/<group>``; none when the file does not exist yet."""
    if not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise ConfigError(f"{path} is not JSON; restore it from version control") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path} is not a JSON object; restore it from version control")
    return document


def changed_features_error(entry: LockEntry, path: Path) -> ConfigError:
    return ConfigError(
        f"features of feature group {entry.group_name} changed; bump "
        f"mlops:featureStore.version to {entry.version + 1} to create a new group "
        f"(the old one keeps its data), then run `{LOCK_COMMAND} --stack {entry.stack}`; "
        f"or restore the features recorded in {path.name}"
    )


def check_feature_lock(
    stack: str, group_name: str, version: int, fingerprint: str, path: Path | None = None
) -> bool:
    """The program's check: True when the lock records this group with these features.

    Never writes. Raises ``ConfigError`` when the lock records other features for
    the group; a group it does not know yet is accepted with a Pulumi warning
    (False), since no group of that name exists to be replaced.
    """
    import pulumi

    path = path or lock_path()
    entry = LockEntry(stack, group_name, version, fingerprint)
    recorded = read_lock(path).get(entry.key)
    if recorded is None:
        pulumi.log.warn(
            f"feature group {group_name} is not in {path.name} yet; record it with "
            f"`{LOCK_COMMAND} --stack {stack}` and commit the lock before it is deployed"
        )
        return False
    if recorded.get("fingerprint") != fingerprint:
        raise changed_features_error(entry, path)
    return True


def stale_entries(entries: list[LockEntry], path: Path | None = None) -> list[LockEntry]:
    """The entries the lock lacks; ``ConfigError`` when it records other features for one."""
    path = path or lock_path()
    lock = read_lock(path)
    missing = []
    for entry in entries:
        recorded = lock.get(entry.key)
        if recorded is None:
            missing.append(entry)
        elif recorded.get("fingerprint") != entry.fingerprint:
            raise changed_features_error(entry, path)
    return missing


def record(entries: list[LockEntry], path: Path | None = None) -> list[LockEntry]:
    """Add the entries the lock lacks (atomically); returns them. Recorded ones never change."""
    path = path or lock_path()
    missing = stale_entries(entries, path)
    if missing:
        lock = read_lock(path)
        lock.update({entry.key: entry.record() for entry in missing})
        write_atomically(path, json.dumps(lock, indent=2, sort_keys=True) + "\n")
    return missing


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a file beside ``path``, then rename it over ``path``: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below, renamed or removed)
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    )
    written = Path(handle.name)
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        written.chmod(path.stat().st_mode if path.exists() else 0o644)
        written.replace(path)
    except BaseException:
        written.unlink(missing_ok=True)
        raise
