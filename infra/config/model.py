"""Typed stack configuration: the ``mlops`` namespace of a Pulumi stack file.

Every value is validated before any resource is registered. Keys are
camelCase, as in the stack files; each environment (dev, staging, prod) starts
from its own defaults (``infra/config/defaults.py``) and the stack file overrides them.
Errors name the key path, the bad value and what is allowed, on one line.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from infra.config import errors as config_errors
from infra.config.alerts import Budget, EmailAddress, HttpsEndpoint
from infra.config.base import (
    NAMESPACE,
    REGION_HINT,
    AwsRegion,
    ConfigError,
    ConfigValueError,
    Environment,
    ResourceId,
    ScheduleExpression,
    Section,
)
from infra.config.delivery import Delivery
from infra.config.feedback import Feedback, evaluation_limit, schedule_period_seconds
from infra.config.network_ids import network_problem
from infra.config.serving import Kubernetes, Serving
from infra.config.stack_rules import check_accepted_by_aws
from infra.config.training import GATES_RENAMED, Pipeline


class TerraformState(Section):
    """Where a Terraform-managed landing zone keeps its state, and which outputs to read."""

    backend: Literal["s3", "remote", "local"]
    bucket: str | None = None
    key: str | None = None
    region: AwsRegion | None = Field(default=None, description=REGION_HINT)
    organization: str | None = None
    workspace: str | None = None
    path: str | None = None
    vpc_id_output: str = "vpc_id"
    subnet_ids_output: str = "private_subnet_ids"
    security_group_ids_output: str = "sagemaker_security_group_ids"
    availability_zones_output: str | None = Field(
        default=None,
        description=(
            "an output listing each subnet's availability zone, in subnet order; "
            "when given, the subnets must span at least 2 zones"
        ),
    )

    @model_validator(mode="after")
    def _backend_needs_its_keys(self) -> TerraformState:
        needs = {
            "s3": ("bucket", "key"),
            "remote": ("organization", "workspace"),
            "local": ("path",),
        }
        for field in needs[self.backend]:
            if getattr(self, field) is None:
                raise ConfigValueError(
                    to_camel(field), None, f"required when backend is {self.backend!r}"
                )
        return self


class Network(Section):
    """Where SageMaker jobs and endpoints run: no VPC, explicit ids, or a Terraform state."""

    mode: Literal["none", "explicit", "terraform"] = "none"
    vpc_id: ResourceId | None = None
    subnet_ids: list[ResourceId] = Field(default_factory=list)
    security_group_ids: list[ResourceId] = Field(default_factory=list)
    terraform: TerraformState | None = None

    @model_validator(mode="after")
    def _mode_needs_its_keys(self) -> Network:
        if self.mode == "explicit":
            if self.vpc_id is None:
                raise ConfigValueError("vpcId", None, "required when mode is 'explicit'")
            if len(self.subnet_ids) < 2:
                raise ConfigValueError(
                    "subnetIds", self.subnet_ids, "give at least 2 subnets in different AZs"
                )
            if not self.security_group_ids:
                raise ConfigValueError("securityGroupIds", [], "give at least 1 security group")
            problem = network_problem(
                self.vpc_id, list(self.subnet_ids), list(self.security_group_ids)
            )
            if problem is not None:
                raise ConfigValueError(problem.field, problem.value, problem.expected)
        if self.mode == "terraform" and self.terraform is None:
            raise ConfigValueError("terraform", None, "required when mode is 'terraform'")
        if self.mode == "none" and (self.vpc_id or self.subnet_ids or self.terraform):
            raise ConfigValueError(
                "mode", "none", "set mode to 'explicit' or 'terraform' to use network ids"
            )
        return self


class ObjectLock(Section):
    enabled: bool = False
    mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE"
    retention_days: int = Field(default=30, ge=1, le=3650)


class Storage(Section):
    """Buckets and the stack's KMS key."""

    kms_deletion_window_days: int = Field(default=30, ge=7, le=30)
    noncurrent_version_days: int = Field(default=90, ge=1, le=3650)
    raw_expiration_days: int = Field(default=365, ge=1, le=3650)
    quarantine_expiration_days: int = Field(default=180, ge=1, le=3650)
    capture_expiration_days: int = Field(default=90, ge=1, le=3650)
    access_log_expiration_days: int = Field(default=365, ge=1, le=3650)
    # S3 moves an object to STANDARD_IA no sooner than 30 days, and refuses a rule whose
    # expiration is not later than its transition (both checked below and by the validators).
    infrequent_access_after_days: int | None = Field(
        default=None,
        ge=30,
        le=3650,
        description=(
            "days an old version stays in STANDARD before it moves to STANDARD_IA "
            "(at least 30, below noncurrentVersionDays); unset: it stays until it expires"
        ),
    )
    object_lock: ObjectLock = ObjectLock()
    force_destroy: bool = False

    @model_validator(mode="after")
    def _old_versions_tier_before_they_expire(self) -> Storage:
        tier, expire = self.infrequent_access_after_days, self.noncurrent_version_days
        if tier is not None and tier >= expire:
            raise ConfigValueError(
                "infrequentAccessAfterDays",
                tier,
                f"must be below noncurrentVersionDays ({expire}): S3 refuses a lifecycle rule "
                "whose old versions expire before they move to STANDARD_IA; "
                "set it to null to keep them in STANDARD until they expire",
            )
        return self


class FeatureStore(Section):
    enabled: bool = True
    feature_group_name: str = Field(
        default="transactions", pattern=r"^[a-zA-Z0-9]([-a-zA-Z0-9]){0,40}$"
    )
    version: int = Field(default=1, ge=1, le=999)
    online_store: bool = True
    online_ttl_days: int | None = Field(default=None, ge=1, le=3650)


REMOVED_QUALITY_FLOORS = {
    "minRecall": "recall",
    "minPrecision": "precision",
    "minPrAuc": "PR AUC",
    "maxRecallGap": "the recall gap",
}


class Quality(Section):
    """Production model quality: the cohort of mature predictions against the model's evaluation."""

    enabled: bool = True
    window_hours: int = Field(default=24, ge=1, le=2160)
    label_delay_hours: int = Field(default=720, ge=0, le=8760)
    min_labelled_rows: int = Field(default=200, ge=1, le=10_000_000)
    min_label_coverage: float = Field(default=0.9, ge=0, le=1)
    min_positives: int = Field(default=30, ge=1, le=10_000_000)
    min_segment_positives: int = Field(default=20, ge=1, le=10_000)

    @model_validator(mode="before")
    @classmethod
    def _floors_became_tests(cls, values: Any) -> Any:
        if isinstance(values, dict):
            for key, metric in REMOVED_QUALITY_FLOORS.items():
                if key in values:
                    raise ConfigValueError(key, values[key], removed_floor(metric))
        return values


def removed_floor(metric: str) -> str:
    """Why a fixed quality floor is gone, and what replaced it."""
    return (
        f"removed: {metric} is alarmed on its drop from the serving model's own evaluation "
        "(monitoring.alarmZ); delete the key"
    )


ALARM_EMAIL_RENAMED = "renamed to alarmEmails, a list: alarmEmails: [oncall@example.com]"
# PutMetricAlarm: Period x EvaluationPeriods at most 604,800 s (7 days); the periods are hours.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
MAX_ALARM_PERIODS = 168


class Monitoring(Section):
    drift_schedule: ScheduleExpression = "rate(1 hour)"
    drift_window_hours: int = Field(default=1, ge=1, le=168)
    quality: Quality = Quality()
    psi_warn: float = Field(default=0.1, gt=0, le=10)
    psi_alarm: float = Field(default=0.25, gt=0, le=10)
    min_window_rows: int = Field(default=300, ge=1, le=10_000_000)
    alarm_datapoints: int = Field(default=2, ge=1, le=MAX_ALARM_PERIODS)
    alarm_periods: int = Field(default=3, ge=1, le=MAX_ALARM_PERIODS)
    alarm_z: float = Field(default=3.09, ge=1, le=10)
    score_reference_days: int = Field(default=7, ge=0, le=60)
    flag_rate_tolerance: float = Field(default=1.5, ge=1, le=10)
    alarm_emails: list[EmailAddress] = Field(
        default_factory=list, description="list of email addresses"
    )
    alarm_https_endpoints: list[HttpsEndpoint] = Field(
        default_factory=list, description="list of https:// URLs (endpoints that confirm SNS)"
    )
    retrain_on_alarm: bool = True
    retrain_cooldown_minutes: int = Field(default=360, ge=15, le=10080)
    feedback: Feedback = Feedback()
    stale_after_periods: int = Field(default=3, ge=1, le=48)
    dashboard: bool = True
    log_retention_days: Literal[7, 14, 30, 60, 90, 180, 365, 731, 1827, 3653] = 365

    @model_validator(mode="before")
    @classmethod
    def _alarm_email_became_a_list(cls, values: Any) -> Any:
        if isinstance(values, dict) and "alarmEmail" in values:
            raise ConfigValueError(
                "alarmEmail",
                values["alarmEmail"],
                ALARM_EMAIL_RENAMED,
            )
        return values

    @model_validator(mode="after")
    def _warn_below_alarm(self) -> Monitoring:
        if self.psi_warn >= self.psi_alarm:
            raise ConfigValueError(
                "psiWarn", self.psi_warn, f"must be below psiAlarm ({self.psi_alarm})"
            )
        if self.alarm_datapoints > self.alarm_periods:
            raise ConfigValueError(
                "alarmDatapoints",
                self.alarm_datapoints,
                f"an alarm needs at most as many datapoints as it watches periods "
                f"(alarmPeriods {self.alarm_periods})",
            )
        return self

    @model_validator(mode="after")
    def _staleness_fits_an_alarm(self) -> Monitoring:
        period = self.heartbeat_period_seconds
        limit = evaluation_limit(period)
        if period * self.stale_after_periods > limit:
            raise ConfigValueError(
                "staleAfterPeriods",
                self.stale_after_periods,
                f"at most {limit // period} periods of {period} s (driftSchedule): CloudWatch "
                f"evaluates an alarm over {limit} s at most",
            )
        return self

    @property
    def heartbeat_period_seconds(self) -> int:
        """The monitoring jobs publish a heartbeat once per run of ``driftSchedule``."""
        return schedule_period_seconds(self.drift_schedule)


class StackConfig(Section):
    """The whole ``mlops`` namespace of one stack."""

    environment: Environment = Field(strict=False)  # the stack file's text names the member
    name_prefix: str = Field(
        default="mlops",
        pattern=r"^[a-z][a-z0-9-]{1,14}$",
        description="2-15 lowercase letters, digits or '-', starting with a letter",
    )
    region: AwsRegion = "us-east-1"
    protect: bool = False
    tags: dict[str, str] = Field(default_factory=dict)
    network: Network = Network()
    storage: Storage = Storage()
    feature_store: FeatureStore = FeatureStore()
    pipeline: Pipeline = Pipeline()
    serving: Serving = Serving()
    monitoring: Monitoring = Monitoring()
    budget: Budget = Budget()
    kubernetes: Kubernetes = Kubernetes()
    delivery: Delivery = Delivery()

    @model_validator(mode="after")
    def _production_rules(self) -> StackConfig:
        if self.environment != Environment.DEV and self.storage.force_destroy:
            raise ConfigValueError(
                "storage.forceDestroy", True, "allowed only in dev; data buckets are never emptied"
            )
        if self.environment == Environment.PROD and not self.protect:
            raise ConfigValueError("protect", False, "prod keeps data-holding resources protected")
        if self.serving.serverless is not None and self.network.mode != "none":
            raise ConfigValueError(
                "serving.serverless",
                self.serving.serverless.model_dump(by_alias=True),
                "serverless endpoints cannot run in a VPC; remove it or set network.mode to 'none'",
            )
        if self.environment != Environment.DEV and self.kubernetes.enabled:
            for key, image in (
                ("image", self.kubernetes.image),
                ("canaryImage", self.kubernetes.canary_image),
            ):
                if image is not None and "@sha256:" not in image:
                    raise ConfigValueError(
                        f"kubernetes.{key}",
                        image,
                        "staging and prod need an image pinned by digest (@sha256:...)",
                    )
        quality = self.monitoring.quality
        needed = quality.label_delay_hours + quality.window_hours
        if quality.enabled and needed > self.storage.capture_expiration_days * 24:
            raise ConfigValueError(
                "monitoring.quality.labelDelayHours",
                quality.label_delay_hours,
                f"the quality cohort ends {needed} h back, after capture expires "
                f"(storage.captureExpirationDays {self.storage.capture_expiration_days}); "
                "keep capture longer or shorten the delay",
            )
        reserved = {"project", "environment", "component"} & set(self.tags)
        if reserved:
            raise ConfigValueError(
                "tags", sorted(reserved), "these tag keys are set by the platform"
            )
        return self

    @model_validator(mode="after")
    def _accepted_by_aws(self) -> StackConfig:
        check_accepted_by_aws(self)
        return self

    @property
    def is_prod(self) -> bool:
        return self.environment == Environment.PROD

    def resource_name(self, *parts: str) -> str:
        """Deterministic, stack-scoped physical name: ``<prefix>-<env>-<parts>``."""
        return "-".join([self.name_prefix, self.environment.value, *parts])


def parse_stack_config(values: dict[str, Any]) -> StackConfig:
    """Validate merged values (defaults under the stack file) into a StackConfig."""
    try:
        return StackConfig.model_validate(values)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error)) from None


def format_validation_error(error: ValidationError) -> str:
    """The first problem of a StackConfig validation, as one line."""
    return config_errors.format_validation_error(error, StackConfig)


# Keys that were replaced, and what replaces them.
RENAMED_KEYS = {
    "monitoring.alarmEmail": ALARM_EMAIL_RENAMED,
    **{f"monitoring.quality.{k}": removed_floor(m) for k, m in REMOVED_QUALITY_FLOORS.items()},
    **{f"pipeline.gates.{key}": hint for key, hint in GATES_RENAMED.items()},
}


def check_key_path(dotted: str) -> None:
    """Refuse a ``--set`` key that names no setting of StackConfig."""
    if dotted in RENAMED_KEYS:
        raise ConfigError(f"invalid config {NAMESPACE}:{dotted}: {RENAMED_KEYS[dotted]}")
    config_errors.check_key_path(StackConfig, dotted)
