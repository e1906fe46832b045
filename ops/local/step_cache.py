"""The local step cache, keyed as SageMaker Pipelines keys its cache.

SageMaker reuses a step when the attributes that form its key are unchanged
since a successful run within ``CacheConfig.ExpireAfter`` (Default cache key
attributes by pipeline step type,
https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-default-keys.html, and
Turn on step caching, https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-caching-enabling.html).
The attributes are the step's arguments with property references resolved:
input URIs, not the contents behind them, so new data under the same URI is
served from the cache. A hit hands the cached run's properties (its output
URIs) to the steps after it, which are then cached as well.

One addition is local: the ``ImageUri`` of a local run names no image, so the
key also carries a digest of what the image is built from (the code and the
lock file), as an image digest would.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from ml.errors import MlopsError

# The arguments SageMaker compares, per step type (the page cited above).
CACHE_KEY_ATTRIBUTES = {
    "Processing": ("AppSpecification", "Environment", "ProcessingInputs"),
    "Training": (
        "AlgorithmSpecification",
        "CheckpointConfig",
        "DebugHookConfig",
        "DebugRuleConfigurations",
        "Environment",
        "HyperParameters",
        "InputDataConfig",
    ),
}
_DURATION = re.compile(
    r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
ENTRY_FILE = "entry.json"


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration (``P30D``, ``PT1H``, ``P1Y2M``); a month is 30 days, a year 365."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise MlopsError(f"ExpireAfter {text!r} is not an ISO 8601 duration such as P30D or PT12H")
    years, months, weeks, days, hours, minutes, seconds = (float(g or 0) for g in match.groups())
    return timedelta(
        days=years * 365 + months * 30 + weeks * 7 + days,
        hours=hours,
        minutes=minutes,
        seconds=seconds,
    )


@dataclass(frozen=True)
class CachePolicy:
    """A step's ``CacheConfig``: off, or on with a maximum age."""

    enabled: bool
    expire_after: timedelta | None = None

    @classmethod
    def of(cls, step: dict[str, Any]) -> CachePolicy:
        config = step.get("CacheConfig") or {}
        if not config.get("Enabled"):
            return cls(False)
        if "ExpireAfter" not in config:
            raise MlopsError(
                f"step {step['Name']}: CacheConfig is enabled without ExpireAfter; "
                "set an ISO 8601 duration such as P30D"
            )
        return cls(True, parse_duration(config["ExpireAfter"]))


def cache_key(
    pipeline: str, step: dict[str, Any], arguments: dict[str, Any], image_digest: str
) -> str:
    """sha256 of the step's key attributes (``arguments`` already resolved)."""
    kind = step["Type"]
    if kind not in CACHE_KEY_ATTRIBUTES:
        raise MlopsError(f"the local runner does not cache {kind} steps")
    document = {
        "Pipeline": pipeline,
        "Step": step["Name"],
        "Type": kind,
        **{name: arguments.get(name) for name in CACHE_KEY_ATTRIBUTES[kind]},
        "LocalImageDigest": image_digest,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    """A successful run of a step: when, in which execution, its properties and outputs."""

    path: Path
    created: float
    execution_id: str
    properties: dict[str, Any]
    property_files: dict[str, Any]

    def outputs(self) -> Path:
        return self.path / "outputs"


@dataclass(frozen=True)
class StepCache:
    """Entries under ``root/<key>/``; the newest successful run of a key wins."""

    root: Path

    def lookup(self, key: str, policy: CachePolicy, now: float | None = None) -> CacheEntry | None:
        if not policy.enabled:
            return None
        entry_file = self.root / key / ENTRY_FILE
        if not entry_file.is_file():
            return None
        saved = json.loads(entry_file.read_text(encoding="utf-8"))
        age = (time.time() if now is None else now) - float(saved["created"])
        if policy.expire_after is not None and age > policy.expire_after.total_seconds():
            return None
        return CacheEntry(
            path=self.root / key,
            created=float(saved["created"]),
            execution_id=saved["execution_id"],
            properties=saved["properties"],
            property_files=saved["property_files"],
        )

    def store(
        self,
        key: str,
        execution_id: str,
        properties: dict[str, Any],
        property_files: dict[str, Any],
        outputs: dict[str, Path],
    ) -> None:
        """Record a successful run; the entry file is written last, so a half entry never hits."""
        entry = self.root / key
        shutil.rmtree(entry, ignore_errors=True)
        for name, path in outputs.items():
            shutil.copytree(path, entry / "outputs" / name, dirs_exist_ok=True)
        (entry / "outputs").mkdir(parents=True, exist_ok=True)
        document = {
            "created": time.time(),
            "execution_id": execution_id,
            "properties": properties,
            "property_files": property_files,
        }
        (entry / ENTRY_FILE).write_text(json.dumps(document, indent=2), encoding="utf-8")
