"""Pure rules of a safe endpoint update: the deployment policy and immutable names.

Kept apart from the component so tests and the documentation can call them
without building resources.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from infra.config import Rollout

HASH_LENGTH = 10
FULL_CAPACITY_PERCENT = 100
# Instance families whose volumes are local NVMe: SageMaker refuses a KMS key for them,
# because the instance's hardware module already encrypts that storage.
LOCAL_STORAGE_FAMILIES = re.compile(r"^([a-z]+\d[a-z]*dn?|g5|g6|g6e|p4de|p5|p5e|inf1|inf2|trn1)$")


def content_name(prefix: str, inputs: dict[str, Any]) -> str:
    """``<prefix>-<hash of inputs>``: a changed input gives a new name, so a new resource.

    Models and endpoint configurations cannot be edited in place; naming them by
    their content lets the new one exist before the endpoint moves to it and the
    old one is deleted.
    """
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:HASH_LENGTH]
    return f"{prefix}-{digest}"


def instance_has_local_storage(instance_type: str) -> bool:
    """``ml.m5d.large`` and ``ml.g5.xlarge`` have local NVMe volumes; ``ml.m5.large`` does not."""
    family = instance_type.split(".")[1] if instance_type.count(".") == 2 else instance_type
    return bool(LOCAL_STORAGE_FAMILIES.match(family))


def _capacity(percent: int) -> dict[str, object]:
    return {"type": "CAPACITY_PERCENT", "value": percent}


def deployment_config(rollout: Rollout, alarm_names: list[str]) -> dict[str, object]:
    """The endpoint's ``deployment_config``: traffic shifting plus rollback on ``alarm_names``."""
    if not 1 <= len(alarm_names) <= 10:
        raise ValueError(f"SageMaker watches 1 to 10 rollback alarms, got {len(alarm_names)}")
    rollback = {"alarms": [{"alarm_name": name} for name in alarm_names]}
    if rollout.strategy == "rolling":
        return {
            "rolling_update_policy": {
                "maximum_batch_size": _capacity(rollout.rolling_batch_percent),
                "rollback_maximum_batch_size": _capacity(FULL_CAPACITY_PERCENT),
                "wait_interval_in_seconds": rollout.wait_seconds,
                "maximum_execution_timeout_in_seconds": rollout.timeout_seconds,
            },
            "auto_rollback_configuration": rollback,
        }
    routing: dict[str, object] = {
        "type": rollout.strategy.upper(),
        "wait_interval_in_seconds": rollout.wait_seconds,
    }
    if rollout.strategy == "canary":
        routing["canary_size"] = _capacity(rollout.canary_percent)
    elif rollout.strategy == "linear":
        routing["linear_step_size"] = _capacity(rollout.linear_step_percent)
    return {
        "blue_green_update_policy": {
            "traffic_routing_configuration": routing,
            "termination_wait_in_seconds": rollout.termination_wait_seconds,
            "maximum_execution_timeout_in_seconds": rollout.timeout_seconds,
        },
        "auto_rollback_configuration": rollback,
    }
