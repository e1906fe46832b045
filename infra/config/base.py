"""The building blocks of the stack config: names, formats, the error types, the section base."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ml.errors import MlopsError

NAMESPACE = "mlops"
ENVIRONMENTS = ("dev", "staging", "prod")
AWS_REGION_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
SCHEDULE_PATTERN = r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$"
SCHEDULE_HINT = "an EventBridge expression: rate(1 hour), rate(30 minutes) or cron(0 * * * ? *)"
REGION_HINT = "an AWS region such as us-east-1"
INSTANCE_HINT = "a SageMaker instance type such as ml.m5.large"
ARN_HINT = (
    "a model package ARN: arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>"
)


class ConfigError(MlopsError):
    """Invalid stack configuration; the message names key, value and the fix."""


class ConfigValueError(ValueError):
    """A cross-field rule failed: carries the exact key so the error can name it."""

    def __init__(self, key: str, value: Any, allowed: str) -> None:
        super().__init__(f"{key}={value!r}: {allowed}")
        self.key = key
        self.value = value
        self.allowed = allowed


class Section(BaseModel):
    """Base of every config section: camelCase keys, unknown keys refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=False,
        validate_by_alias=True,
        extra="forbid",
        frozen=True,
    )


Percent = Annotated[int, Field(ge=0, le=100)]
ResourceId = Annotated[
    str,
    Field(
        pattern=r"^[a-z]+-[0-9a-f]{8,17}$", description="an AWS id such as subnet-0123456789abcdef0"
    ),
]


class Environment(StrEnum):
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"
