"""The building blocks of the stack config: names, formats, the error types, the section base."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from ml.errors import MlopsError

NAMESPACE = "mlops"
ENVIRONMENTS = ("dev", "staging", "prod")
AWS_REGION_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
SCHEDULE_PATTERN = r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$"
SCHEDULE_HINT = "an EventBridge expression: rate(1 hour), rate(30 minutes) or cron(0 * * * ? *)"
REGION_HINT = "an AWS region such as us-east-1"
INSTANCE_HINT = "a SageMaker instance type such as ml.m5.large"
DURATION_HINT = "an ISO 8601 duration longer than zero, such as P30D or PT12H"
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


_TIMEDELTA = TypeAdapter(timedelta)


def _positive_iso_duration(value: str) -> str:
    """An ISO 8601 duration (pydantic parses it), longer than zero; kept as written.

    pydantic also reads ``HH:MM:SS`` and a trailing ``T`` as durations: AWS takes neither.
    """
    try:
        length = _TIMEDELTA.validate_python(value) if value[:1] == "P" else None
    except ValidationError:
        length = None
    if length is None or length <= timedelta(0) or value.endswith("T"):
        raise ValueError(f"expected {DURATION_HINT}")
    return value


IsoDuration = Annotated[str, AfterValidator(_positive_iso_duration)]


class Environment(StrEnum):
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"
