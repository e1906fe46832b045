"""Config sections of serving: SageMaker endpoints, rollouts, alarms, the Kubernetes target."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from infra.config.base import (
    ARN_HINT,
    INSTANCE_HINT,
    ConfigValueError,
    IngressHost,
    Percent,
    Section,
)
from infra.config.quantity import QUANTITY_HINT, Quantity, parse_quantity

ROLLING_MAX_TIMEOUT_SECONDS = 14400


class Rollout(Section):
    """Blue/green traffic shifting, checked against SageMaker's limits."""

    strategy: Literal["all_at_once", "canary", "linear", "rolling"] = "all_at_once"
    canary_percent: int = Field(default=10, ge=1, le=50)
    linear_step_percent: int = Field(default=20, ge=10, le=50)
    rolling_batch_percent: int = Field(default=50, ge=5, le=50)
    wait_seconds: int = Field(default=600, ge=0, le=3600)
    termination_wait_seconds: int = Field(default=300, ge=0, le=3600)
    timeout_seconds: int = Field(default=3600, ge=600, le=28800)

    @model_validator(mode="after")
    def _timeout_exceeds_waits(self) -> Rollout:
        if self.strategy == "rolling":
            # Rolling bakes after every batch and has no old fleet left to wait for.
            needed = self.wait_seconds * -(-100 // self.rolling_batch_percent)
            if self.timeout_seconds > ROLLING_MAX_TIMEOUT_SECONDS:
                raise ConfigValueError(
                    "timeoutSeconds",
                    self.timeout_seconds,
                    f"rolling deployments allow at most {ROLLING_MAX_TIMEOUT_SECONDS} s",
                )
        else:
            linear_steps = -(-100 // self.linear_step_percent)
            steps = {"linear": linear_steps, "canary": 2}.get(self.strategy, 1)
            needed = self.wait_seconds * steps + self.termination_wait_seconds
        if self.timeout_seconds <= needed:
            raise ConfigValueError(
                "timeoutSeconds",
                self.timeout_seconds,
                f"must be greater than the rollout's waits ({needed} s for {self.strategy})",
            )
        return self


class Serverless(Section):
    memory_size_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144] = 2048
    max_concurrency: int = Field(default=5, ge=1, le=200)


class DataCapture(Section):
    """What share of requests and responses the endpoint writes to the monitoring bucket."""

    enabled: bool = True
    sampling_percent: Percent = 100


class Autoscaling(Section):
    enabled: bool = False
    min_capacity: int = Field(default=1, ge=1, le=100)
    max_capacity: int = Field(default=2, ge=1, le=100)
    target_invocations_per_instance: int = Field(default=1000, ge=1, le=100000)
    scale_in_cooldown_seconds: int = Field(default=300, ge=0, le=3600)
    scale_out_cooldown_seconds: int = Field(default=60, ge=0, le=3600)

    @model_validator(mode="after")
    def _min_not_above_max(self) -> Autoscaling:
        if self.min_capacity > self.max_capacity:
            raise ConfigValueError(
                "minCapacity",
                self.min_capacity,
                f"must not exceed maxCapacity ({self.max_capacity})",
            )
        return self


# SageMaker publishes endpoint metrics once a minute: a 10- or 30-second alarm period
# evaluates missing data (PutMetricAlarm, Period: "Be sure to specify 10, 20, or 30 only
# for metrics that are stored by a PutMetricData call with a StorageResolution of 1").
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
# https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html
METRIC_RESOLUTION_SECONDS = 60
# Period x EvaluationPeriods: at most a day below an hour's period, a week from an hour on.
MAX_EVALUATION_SECONDS_SHORT_PERIOD = 86_400
MAX_EVALUATION_SECONDS = 604_800


class RollbackAlarms(Section):
    """Thresholds of the alarms that roll a deployment back."""

    error_5xx_threshold: int = Field(default=1, ge=1, alias="error5xxThreshold")
    latency_p99_ms: int = Field(default=500, ge=1, le=60000)
    evaluation_periods: int = Field(default=2, ge=1, le=10)
    period_seconds: int = Field(
        default=60,
        ge=METRIC_RESOLUTION_SECONDS,
        le=MAX_EVALUATION_SECONDS_SHORT_PERIOD,
        multiple_of=METRIC_RESOLUTION_SECONDS,
        description="60 or a multiple of 60 (SageMaker publishes endpoint metrics each minute)",
    )
    memory_utilization_percent: int = Field(default=90, ge=50, le=100)

    @field_validator("period_seconds", mode="before")
    @classmethod
    def _period_fits_one_minute_metrics(cls, value: object) -> object:
        if isinstance(value, int) and value < METRIC_RESOLUTION_SECONDS:
            raise ValueError(
                f"a {value}-second alarm on endpoint metrics, which SageMaker publishes once "
                "a minute, evaluates missing data; use 60 or a multiple of 60"
            )
        return value

    @model_validator(mode="after")
    def _evaluation_fits_cloudwatch(self) -> RollbackAlarms:
        window = self.period_seconds * self.evaluation_periods
        limit = (
            MAX_EVALUATION_SECONDS
            if self.period_seconds >= 3600
            else MAX_EVALUATION_SECONDS_SHORT_PERIOD
        )
        if window > limit:
            raise ConfigValueError(
                "evaluationPeriods",
                self.evaluation_periods,
                f"periodSeconds x evaluationPeriods is {window} s; CloudWatch allows at most "
                f"{limit} s for a {self.period_seconds}-second period",
            )
        return self


ARN_PATTERN = r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[A-Za-z0-9-]+(/\d+)?$"


class Serving(Section):
    enabled: bool = True
    model_package_arn: str | None = Field(default=None, pattern=ARN_PATTERN, description=ARN_HINT)
    shadow_model_package_arn: str | None = Field(
        default=None, pattern=ARN_PATTERN, description=ARN_HINT
    )
    shadow_sampling_percent: int = Field(default=10, ge=1, le=100)
    instance_type: str = Field(
        default="ml.m5.large", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$", description=INSTANCE_HINT
    )
    instance_count: int = Field(default=1, ge=1, le=100)
    workers: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="server processes per instance; default one per vCPU",
    )
    serverless: Serverless | None = None
    data_capture: DataCapture = DataCapture()
    rollout: Rollout = Rollout()
    autoscaling: Autoscaling = Autoscaling()
    alarms: RollbackAlarms = RollbackAlarms()

    @model_validator(mode="after")
    def _rollout_fits_the_fleet(self) -> Serving:
        rollout = self.rollout
        if self.serverless is not None and rollout.strategy == "rolling":
            raise ConfigValueError(
                "rollout.strategy", "rolling", "is not available for serverless endpoints"
            )
        if rollout.strategy == "rolling" and self.instance_count < 2:
            raise ConfigValueError(
                "rollout.strategy", "rolling", "needs instanceCount of at least 2"
            )
        if rollout.strategy == "canary" and self.serverless is None:
            canary_instances = self.instance_count * rollout.canary_percent / 100
            if canary_instances > self.instance_count / 2:
                raise ConfigValueError(
                    "rollout.canaryPercent", rollout.canary_percent, "at most half of the instances"
                )
        if self.serverless is not None and rollout.strategy in ("canary", "linear"):
            raise ConfigValueError(
                "rollout.strategy",
                rollout.strategy,
                "serverless endpoints shift traffic all at once; "
                "use all_at_once, or drop serverless",
            )
        if self.serverless is not None and self.data_capture.enabled:
            raise ConfigValueError(
                "dataCapture.enabled",
                True,
                "serverless endpoints cannot capture data; set it to false or remove serverless",
            )
        if self.shadow_model_package_arn and rollout.strategy == "rolling":
            raise ConfigValueError(
                "rollout.strategy",
                "rolling",
                "rolling deployments need a single-variant endpoint; remove shadowModelPackageArn",
            )
        if self.shadow_model_package_arn and self.serverless is not None:
            raise ConfigValueError(
                "shadowModelPackageArn",
                self.shadow_model_package_arn,
                "shadow variants need instance-based serving; remove serverless",
            )
        if self.autoscaling.enabled and self.serverless is not None:
            raise ConfigValueError(
                "autoscaling.enabled", True, "serverless endpoints scale themselves; disable it"
            )
        if self.autoscaling.enabled and self.autoscaling.min_capacity > self.instance_count:
            raise ConfigValueError(
                "autoscaling.minCapacity",
                self.autoscaling.min_capacity,
                f"must not exceed instanceCount ({self.instance_count})",
            )
        return self

    @model_validator(mode="after")
    def _shadow_beside_a_primary(self) -> Serving:
        if self.shadow_model_package_arn and self.model_package_arn is None:
            raise ConfigValueError(
                "shadowModelPackageArn",
                self.shadow_model_package_arn,
                "a shadow variant runs beside the served model: set modelPackageArn too, "
                "or remove it",
            )
        return self


class KubernetesResources(Section):
    """Requests and limits of the model-server container: quantities, strings or numbers.

    The API server refuses a container whose request exceeds its limit, so the
    config does too. https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/
    """

    cpu_request: Quantity = Field(default="250m", description=QUANTITY_HINT)
    cpu_limit: Quantity = Field(default="1", description=QUANTITY_HINT)
    memory_request: Quantity = Field(default="512Mi", description=QUANTITY_HINT)
    memory_limit: Quantity = Field(default="1Gi", description=QUANTITY_HINT)

    @model_validator(mode="after")
    def _requests_within_limits(self) -> KubernetesResources:
        for resource, request, limit in (
            ("cpu", self.cpu_request, self.cpu_limit),
            ("memory", self.memory_request, self.memory_limit),
        ):
            if parse_quantity(request) > parse_quantity(limit):
                raise ConfigValueError(
                    f"{resource}Request",
                    request,
                    f"must not exceed {resource}Limit ({limit}); "
                    "the Kubernetes API server refuses a request above its limit",
                )
        return self


class Kubernetes(Section):
    """The model server on an EKS cluster, serving the model package SageMaker serves."""

    enabled: bool = False
    # None: the image the served model package names, by digest (the endpoint's image).
    image: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9.\-/:]+(@sha256:[0-9a-f]{64}|:[\w.\-]+)$",
        description=(
            "an image reference with a tag or an @sha256: digest; "
            "unset: the image the served model package names"
        ),
    )
    cluster_name: str | None = Field(
        default=None,
        pattern=r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$",
        description=(
            "the EKS cluster the pods' Pod Identity association is made in; "
            "unset: <namePrefix>-<environment>"
        ),
    )
    canary_model_package_arn: str | None = Field(
        default=None, pattern=ARN_PATTERN, description=ARN_HINT
    )
    canary_image: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9.\-/:]+(@sha256:[0-9a-f]{64}|:[\w.\-]+)$",
        description="an image reference with a tag or an @sha256: digest",
    )
    namespace: str = Field(default="mlops-serving", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    replicas: int = Field(default=2, ge=1, le=100)
    max_replicas: int = Field(default=6, ge=1, le=200)
    canary_weight: Percent = 0
    ingress_host: IngressHost = "fraud.example.internal"
    ingress_class: str = "nginx"
    tls_secret_name: str = Field(
        default="model-server-tls", pattern=r"^[a-z0-9]([-a-z0-9]{0,251}[a-z0-9])?$"
    )
    resources: KubernetesResources = KubernetesResources()

    @model_validator(mode="after")
    def _consistent(self) -> Kubernetes:
        if self.replicas > self.max_replicas:
            raise ConfigValueError(
                "replicas", self.replicas, f"must not exceed maxReplicas ({self.max_replicas})"
            )
        if self.canary_weight > 0 and not self.has_canary:
            raise ConfigValueError(
                "canaryWeight",
                self.canary_weight,
                "needs canaryModelPackageArn or canaryImage to send traffic to",
            )
        return self

    @property
    def has_canary(self) -> bool:
        """A canary Deployment exists when it serves another model or another image."""
        return self.canary_model_package_arn is not None or self.canary_image is not None
