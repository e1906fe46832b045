"""Who hears a stack's alarms, and what it may spend: subscriber addresses and the budget.

Email addresses and HTTPS endpoints become SNS subscriptions of the stack's
topic; the budget's thresholds are percentages of its monthly limit, notified
on actual and on forecasted spend.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from infra.config.base import ConfigValueError, Section

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    if not EMAIL_PATTERN.match(value):
        raise ValueError("expected an email address such as oncall@example.com")
    return value


def _https_endpoint(value: str) -> str:
    """SNS delivers to ``https://`` endpoints; plain ``http://`` would carry alarms in clear."""
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in value):
        raise ValueError("expected an https:// URL such as https://chat.example.com/hooks/mlops")
    return value


EmailAddress = Annotated[str, AfterValidator(_email)]
HttpsEndpoint = Annotated[str, AfterValidator(_https_endpoint)]
THRESHOLDS_HINT = "list of percentages of the limit, each 1-1000"
ThresholdPercent = Annotated[int, Field(ge=1, le=1000)]


class Budget(Section):
    """A monthly AWS Budgets cost budget over the resources tagged with this stack."""

    enabled: bool = True
    monthly_limit_usd: float = Field(default=1000.0, gt=0, le=10_000_000)
    actual_thresholds_percent: list[ThresholdPercent] = Field(
        default_factory=lambda: [80, 100], description=THRESHOLDS_HINT
    )
    forecasted_thresholds_percent: list[ThresholdPercent] = Field(
        default_factory=lambda: [100], description=THRESHOLDS_HINT
    )

    @model_validator(mode="after")
    def _at_most_ten_notifications(self) -> Budget:
        # AWS Budgets allows 10 notifications per budget.
        count = len(self.actual_thresholds_percent) + len(self.forecasted_thresholds_percent)
        if count > 10:
            raise ConfigValueError(
                "actualThresholdsPercent",
                self.actual_thresholds_percent,
                f"a budget has at most 10 notifications; {count} thresholds given",
            )
        for key, values in (
            ("actualThresholdsPercent", self.actual_thresholds_percent),
            ("forecastedThresholdsPercent", self.forecasted_thresholds_percent),
        ):
            if len(set(values)) != len(values):
                raise ConfigValueError(key, values, "each threshold may appear once")
        return self
