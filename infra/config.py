"""Typed stack configuration: the ``mlops`` namespace of a Pulumi stack file.

Every value is validated before any resource is registered. Keys are
camelCase, as in the stack files; each environment (dev, staging, prod) starts
from its own defaults (``infra/defaults.py``) and the stack file overrides them.
Errors name the key path, the bad value and what is allowed, on one line.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
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


class TerraformState(Section):
    """Where a Terraform-managed landing zone keeps its state, and which outputs to read."""

    backend: Literal["s3", "remote", "local"]
    bucket: str | None = None
    key: str | None = None
    region: str | None = Field(default=None, pattern=AWS_REGION_PATTERN, description=REGION_HINT)
    organization: str | None = None
    workspace: str | None = None
    path: str | None = None
    vpc_id_output: str = "vpc_id"
    subnet_ids_output: str = "private_subnet_ids"
    security_group_ids_output: str = "sagemaker_security_group_ids"

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
    infrequent_access_after_days: int = Field(default=30, ge=30, le=3650)
    object_lock: ObjectLock = ObjectLock()
    force_destroy: bool = False


class FeatureStore(Section):
    enabled: bool = True
    feature_group_name: str = Field(
        default="transactions", pattern=r"^[a-zA-Z0-9]([-a-zA-Z0-9]){0,40}$"
    )
    version: int = Field(default=1, ge=1, le=999)
    online_store: bool = True
    online_ttl_days: int | None = Field(default=None, ge=1, le=3650)


class Gates(Section):
    """What a challenger must reach to be registered."""

    min_pr_auc: float = Field(default=0.5, ge=0, le=1)
    min_recall_at_precision: float = Field(default=0.3, ge=0, le=1)
    max_regression: float = Field(default=0.01, ge=0, le=1)


class Pipeline(Section):
    schedule: str = Field(
        default="rate(1 hour)", pattern=SCHEDULE_PATTERN, description=SCHEDULE_HINT
    )
    schedule_enabled: bool = True
    schedule_timezone: str = "UTC"
    processing_instance_type: str = Field(
        default="ml.m5.large", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$", description=INSTANCE_HINT
    )
    training_instance_type: str = Field(
        default="ml.m5.large", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$", description=INSTANCE_HINT
    )
    approval_status: Literal["Approved", "PendingManualApproval"] = "PendingManualApproval"
    cache_expiry: str = Field(default="P30D", pattern=r"^P(\d+D)?(T(\d+H)?(\d+M)?)?$")
    max_retry_attempts: int = Field(default=5, ge=1, le=20)
    gates: Gates = Gates()


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


class RollbackAlarms(Section):
    """Thresholds of the alarms that roll a deployment back."""

    error_5xx_threshold: int = Field(default=1, ge=1, alias="error5xxThreshold")
    latency_p99_ms: int = Field(default=500, ge=1, le=60000)
    evaluation_periods: int = Field(default=2, ge=1, le=10)
    period_seconds: Literal[10, 30, 60, 300] = 60
    memory_utilization_percent: int = Field(default=90, ge=50, le=100)


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


class Monitoring(Section):
    drift_schedule: str = Field(
        default="rate(1 hour)", pattern=SCHEDULE_PATTERN, description=SCHEDULE_HINT
    )
    psi_warn: float = Field(default=0.1, gt=0, le=10)
    psi_alarm: float = Field(default=0.25, gt=0, le=10)
    alarm_email: str | None = Field(
        default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="an email address"
    )
    retrain_on_alarm: bool = True
    dashboard: bool = True
    log_retention_days: Literal[7, 14, 30, 60, 90, 180, 365, 731, 1827, 3653] = 365

    @model_validator(mode="after")
    def _warn_below_alarm(self) -> Monitoring:
        if self.psi_warn >= self.psi_alarm:
            raise ConfigValueError(
                "psiWarn", self.psi_warn, f"must be below psiAlarm ({self.psi_alarm})"
            )
        return self


class KubernetesResources(Section):
    cpu_request: str = Field(default="250m", pattern=r"^\d+(\.\d+)?m?$")
    cpu_limit: str = Field(default="1", pattern=r"^\d+(\.\d+)?m?$")
    memory_request: str = Field(default="512Mi", pattern=r"^\d+(Mi|Gi)$")
    memory_limit: str = Field(default="1Gi", pattern=r"^\d+(Mi|Gi)$")


class Kubernetes(Section):
    enabled: bool = False
    image: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9.\-/:]+(@sha256:[0-9a-f]{64}|:[\w.\-]+)$",
        description="an image reference with a tag or an @sha256: digest",
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
    ingress_host: str = "fraud.example.internal"
    ingress_class: str = "nginx"
    tls_secret_name: str = Field(
        default="model-server-tls", pattern=r"^[a-z0-9]([-a-z0-9]{0,251}[a-z0-9])?$"
    )
    resources: KubernetesResources = KubernetesResources()

    @model_validator(mode="after")
    def _enabled_needs_an_image(self) -> Kubernetes:
        if self.enabled and self.image is None:
            raise ConfigValueError("image", None, "required when kubernetes.enabled is true")
        if self.replicas > self.max_replicas:
            raise ConfigValueError(
                "replicas", self.replicas, f"must not exceed maxReplicas ({self.max_replicas})"
            )
        if self.canary_weight > 0 and self.canary_image is None:
            raise ConfigValueError(
                "canaryWeight", self.canary_weight, "needs canaryImage to send traffic to"
            )
        return self


class StackConfig(Section):
    """The whole ``mlops`` namespace of one stack."""

    environment: Environment
    name_prefix: str = Field(
        default="mlops",
        pattern=r"^[a-z][a-z0-9-]{1,14}$",
        description="2-15 lowercase letters, digits or '-', starting with a letter",
    )
    region: str = Field(default="us-east-1", pattern=AWS_REGION_PATTERN, description=REGION_HINT)
    protect: bool = False
    tags: dict[str, str] = Field(default_factory=dict)
    network: Network = Network()
    storage: Storage = Storage()
    feature_store: FeatureStore = FeatureStore()
    pipeline: Pipeline = Pipeline()
    serving: Serving = Serving()
    monitoring: Monitoring = Monitoring()
    kubernetes: Kubernetes = Kubernetes()

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
        reserved = {"project", "environment", "component"} & set(self.tags)
        if reserved:
            raise ConfigValueError(
                "tags", sorted(reserved), "these tag keys are set by the platform"
            )
        return self

    @property
    def is_prod(self) -> bool:
        return self.environment == Environment.PROD

    def resource_name(self, *parts: str) -> str:
        """Deterministic, stack-scoped physical name: ``<prefix>-<env>-<parts>``."""
        return "-".join([self.name_prefix, self.environment.value, *parts])


def format_validation_error(error: ValidationError) -> str:
    """The first problem as one line: key path, value, what is allowed."""
    first = error.errors()[0]
    path = ".".join(str(part) for part in first["loc"])
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, ConfigValueError):
        key = f"{path}.{cause.key}" if path else cause.key
        return f"invalid config {NAMESPACE}:{key} = {cause.value!r}: {cause.allowed}"
    if first["type"] == "extra_forbidden":
        return f"unknown config key {NAMESPACE}:{path}; {_allowed_keys_hint(first['loc'])}"
    if first["type"] == "missing":
        return f"missing config key {NAMESPACE}:{path}: it is required"
    value = first.get("input")
    return f"invalid config {NAMESPACE}:{path} = {value!r}: {_allowed(first)}"


def _allowed(error: Any) -> str:
    if error["type"] == "string_pattern_mismatch":
        info = _field_info(error["loc"])
        if info is not None and info.description:
            return f"expected {info.description}"
    message = re.sub(r"^(Value error|Assertion failed), ", "", str(error["msg"])).rstrip(".")
    return message[:1].lower() + message[1:]


def _field_info(loc: tuple[Any, ...]) -> Any:
    model: type[BaseModel] | None = StackConfig
    info = None
    for part in loc:
        if model is None:
            return None
        info = next((f for n, f in model.model_fields.items() if (f.alias or n) == str(part)), None)
        if info is None:
            return None
        model = _field_by_alias(model, str(part))
    return info


def _allowed_keys_hint(loc: tuple[Any, ...]) -> str:
    model: type[BaseModel] = StackConfig
    for part in loc[:-1]:
        field = _field_by_alias(model, str(part))
        if field is None:
            break
        model = field
    keys = sorted(info.alias or name for name, info in model.model_fields.items())
    return f"allowed keys here: {', '.join(keys)}"


def _field_by_alias(model: type[BaseModel], alias: str) -> type[BaseModel] | None:
    for name, info in model.model_fields.items():
        if (info.alias or name) == alias:
            annotation = info.annotation
            for candidate in (annotation, *getattr(annotation, "__args__", ())):
                if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                    return candidate
    return None


def check_key_path(dotted: str) -> None:
    """Refuse a ``--set`` key that names no setting, before anything merges it."""
    model: type[BaseModel] | None = StackConfig
    parts = dotted.split(".")
    for index, part in enumerate(parts):
        if model is None or (model is not StackConfig and model.__name__ == "dict"):
            return
        fields = {info.alias or name: info for name, info in model.model_fields.items()}
        if part not in fields:
            where = ".".join(parts[:index]) or "the top level"
            raise ConfigError(
                f"unknown config key {NAMESPACE}:{dotted}: no '{part}' at {where}; "
                f"allowed: {', '.join(sorted(fields))}"
            )
        if fields[part].annotation is not None and "dict[" in str(fields[part].annotation):
            return
        model = _field_by_alias(model, part)
        if model is None and index < len(parts) - 1:
            raise ConfigError(
                f"unknown config key {NAMESPACE}:{dotted}: '{part}' is a value, not a section"
            )


def parse_stack_config(values: dict[str, Any]) -> StackConfig:
    """Validate merged values (defaults under the stack file) into a StackConfig."""
    try:
        return StackConfig.model_validate(values)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error)) from None
