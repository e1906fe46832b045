"""The training pipeline's stack config: schedule, instances, caching, and the registration gates.

``Gates`` mirrors ``ml.gates.Gates`` (the Champion step reads it from the
pipeline definition); keys of the former gates are refused with what replaced
them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from infra.config.base import (
    DURATION_HINT,
    INSTANCE_HINT,
    ConfigValueError,
    IsoDuration,
    ScheduleExpression,
    Section,
    TimeZone,
)


class Margins(Section):
    """How much worse than the champion a challenger may be, per metric, and still register.

    The challenger registers when the low end of the 95% interval of its
    difference from the champion (paired bootstrap on the same test rows) stays
    above minus the margin; recall and precision are compared at the challenger's
    alert volume (the champion's threshold moved to flag as many test rows). A
    margin below what the test split resolves (the Champion step's report states
    it) makes an equal challenger fail often.
    """

    pr_auc: float = Field(default=0.05, gt=0, le=1)
    recall: float = Field(default=0.1, gt=0, le=1)
    precision: float = Field(default=0.15, gt=0, le=1)


GATES_RENAMED = {
    "maxRegression": "replaced by margins (prAuc, recall, precision): non-inferiority "
    "margins against the champion's interval, e.g. margins: {prAuc: 0.05}",
    "minRecallAtPrecision": "replaced by minRecall and minPrecision, gated at the model's "
    "own decision threshold",
}


class Gates(Section):
    """What a challenger must show to be registered: evidence, floors, non-inferiority."""

    min_pr_auc: float = Field(default=0.5, ge=0, le=1)
    min_precision: float = Field(default=0.5, ge=0, le=1)
    min_recall: float = Field(default=0.1, ge=0, le=1)
    min_test_positives: int = Field(default=30, ge=1, le=1_000_000)
    margins: Margins = Margins()

    @model_validator(mode="before")
    @classmethod
    def _renamed_gates(cls, values: Any) -> Any:
        if isinstance(values, dict):
            for key, hint in GATES_RENAMED.items():
                if key in values:
                    raise ConfigValueError(key, values[key], hint)
        return values


class Pipeline(Section):
    schedule: ScheduleExpression = "rate(1 hour)"
    schedule_enabled: bool = True
    schedule_timezone: TimeZone = "UTC"
    processing_instance_type: str = Field(
        default="ml.m5.large", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$", description=INSTANCE_HINT
    )
    training_instance_type: str = Field(
        default="ml.m5.large", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$", description=INSTANCE_HINT
    )
    approval_status: Literal["Approved", "PendingManualApproval"] = "PendingManualApproval"
    # SageMaker's CacheConfig ExpireAfter: the string goes into the pipeline definition as is.
    cache_expiry: IsoDuration = Field(default="P30D", description=DURATION_HINT)
    max_retry_attempts: int = Field(default=5, ge=1, le=20)
    gates: Gates = Gates()
