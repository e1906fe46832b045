"""Per-environment defaults: dev cheap and fast, staging like prod but smaller, prod safe.

These are the one home of each environment's values, under the model's own
field defaults (``model.py``), validated by the same StackConfig. A stack file
(``environments/Pulumi.<stack>.yaml``) states only what differs from them; a
test refuses a stack-file key set to the value it would have anyway.
"""

from __future__ import annotations

import copy
from typing import Any

DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {
        "protect": False,
        "storage": {
            "kmsDeletionWindowDays": 7,
            "noncurrentVersionDays": 7,
            "rawExpirationDays": 30,
            "quarantineExpirationDays": 30,
            "captureExpirationDays": 14,
            "accessLogExpirationDays": 30,
            "forceDestroy": True,
        },
        "featureStore": {"onlineStore": False},
        "pipeline": {
            "approvalStatus": "Approved",
            "scheduleEnabled": False,
            "gates": {"minPrAuc": 0.3, "minPrecision": 0.3, "minRecall": 0.05},
        },
        "serving": {
            "serverless": {"memorySizeMb": 2048, "maxConcurrency": 5},
            # Serverless endpoints cannot capture data (a SageMaker limit).
            "dataCapture": {"enabled": False},
            "rollout": {
                "strategy": "all_at_once",
                "waitSeconds": 0,
                "terminationWaitSeconds": 0,
                "timeoutSeconds": 600,
            },
        },
        "monitoring": {
            "logRetentionDays": 14,
            "retrainOnAlarm": False,
            # Dev keeps capture 14 days: the quality cohort must end before it expires.
            "quality": {"labelDelayHours": 168, "minLabelledRows": 50},
        },
        # Serverless, no schedule: a month costs a few dollars; a tenth of staging's limit.
        "budget": {"monthlyLimitUsd": 50, "actualThresholdsPercent": [80, 100]},
    },
    "staging": {
        "protect": False,
        "storage": {"noncurrentVersionDays": 30, "rawExpirationDays": 180},
        "serving": {
            "instanceType": "ml.m5.large",
            "instanceCount": 2,
            "dataCapture": {"samplingPercent": 50},
            "rollout": {
                "strategy": "canary",
                "canaryPercent": 50,
                "waitSeconds": 300,
                "terminationWaitSeconds": 120,
                "timeoutSeconds": 1800,
            },
            "autoscaling": {"enabled": True, "minCapacity": 2, "maxCapacity": 3},
        },
        # A year of logs, as in prod: the retrain gate's log group is an audit trail.
        "monitoring": {"logRetentionDays": 365, "quality": {"windowHours": 72}},
        "budget": {"monthlyLimitUsd": 500, "actualThresholdsPercent": [80, 100]},
    },
    "prod": {
        "protect": True,
        "storage": {
            "objectLock": {"enabled": True, "mode": "GOVERNANCE", "retentionDays": 90},
            "noncurrentVersionDays": 365,
            "infrequentAccessAfterDays": 30,
            "rawExpirationDays": 730,
        },
        "serving": {
            "instanceType": "ml.m5.xlarge",
            "instanceCount": 2,
            "dataCapture": {"samplingPercent": 20},
            "rollout": {
                "strategy": "canary",
                "canaryPercent": 10,
                "waitSeconds": 600,
                "terminationWaitSeconds": 300,
                "timeoutSeconds": 3600,
            },
            "autoscaling": {"enabled": True, "minCapacity": 2, "maxCapacity": 6},
        },
        "monitoring": {"logRetentionDays": 365},
        # Two ml.m5.xlarge always on (about $340) plus autoscaling to six and training.
        "budget": {
            "monthlyLimitUsd": 1500,
            "actualThresholdsPercent": [50, 80, 100],
            "forecastedThresholdsPercent": [100],
        },
    },
}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` wins key by key; nested mappings merge instead of replacing."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def defaults_for(environment: str) -> dict[str, Any]:
    """A fresh copy of one environment's defaults."""
    return copy.deepcopy(DEFAULTS[environment])
