"""The building blocks of the stack config: names, formats, the error types, the section base."""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from infra.config.aws_values import HOST_HINT, host_problem, region_problem
from infra.config.schedules import (
    SCHEDULE_HINT,
    TIMEZONE_HINT,
    schedule_problem,
    timezone_problem,
)
from ml.errors import MlopsError

NAMESPACE = "mlops"
ENVIRONMENTS = ("dev", "staging", "prod")
# The shape of a region, for editors (the JSON schema); ``aws_values`` checks it is a real one.
AWS_REGION_PATTERN = r"^[a-z]{2,4}(-[a-z]+)+-\d+$"
# The shape of an expression, for editors (the JSON schema); ``schedules`` checks the rest.
SCHEDULE_PATTERN = r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\)|at\(.+\))$"
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
    """Base of every config section: camelCase keys, unknown keys refused, strict types.

    Strict: a value must already have its field's type, so ``waitSeconds: true``
    is refused instead of read as 1 second (in pydantic's lax mode a bool passes
    as a number) and ``instanceCount: 2.5`` is not rounded.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=False,
        validate_by_alias=True,
        extra="forbid",
        frozen=True,
        strict=True,
    )


Percent = Annotated[int, Field(ge=0, le=100)]
ResourceId = Annotated[
    str,
    Field(
        pattern=r"^[a-z]+-[0-9a-f]{8,17}$", description="an AWS id such as subnet-0123456789abcdef0"
    ),
]


# SageMaker's CacheConfig ExpireAfter: "a string in ISO 8601 duration format ... a year,
# month, week, day, hour, or minute value. Each value consists of a number followed by a
# letter indicating the unit" (https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-caching-enabling.html).
# Each designator once, in order; no seconds, no fractions.
_ISO_DURATION = re.compile(r"^P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?)?$")


def _positive_iso_duration(value: str) -> str:
    """An ISO 8601 duration of the units SageMaker takes, longer than zero; kept as written."""
    found = _ISO_DURATION.match(value)
    if (
        found is None
        or value.endswith("T")
        or not any(int(part[:-1]) for part in re.findall(r"\d+[YMWDH]", value))
    ):
        raise ValueError(f"expected {DURATION_HINT}")
    return value


def _refused_by(problem_of: Callable[[str], str | None]) -> AfterValidator:
    """A validator that refuses a value for which ``problem_of`` names a problem."""

    def check(value: str) -> str:
        problem = problem_of(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


IsoDuration = Annotated[str, AfterValidator(_positive_iso_duration)]
ScheduleExpression = Annotated[
    str, Field(pattern=SCHEDULE_PATTERN, description=SCHEDULE_HINT), _refused_by(schedule_problem)
]
TimeZone = Annotated[str, Field(description=TIMEZONE_HINT), _refused_by(timezone_problem)]
AwsRegion = Annotated[
    str, Field(pattern=AWS_REGION_PATTERN, description=REGION_HINT), _refused_by(region_problem)
]
IngressHost = Annotated[str, Field(description=HOST_HINT), _refused_by(host_problem)]


class Environment(StrEnum):
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"
