"""The SageMaker endpoint serving the pinned model package, updated safely.

A model package version is pinned per stack (``serving.modelPackageArn``, set
by ``mlops deploy`` in dev and ``mlops promote`` after). The model and the
endpoint configuration are immutable and named by a hash of their content, so
a change creates new ones beside the old; the endpoint then moves to the new configuration with the
stack's rollout (blue/green canary, linear, all at once, or rolling), and
SageMaker rolls back on its own if a rollback alarm of the new fleet fires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext
from infra.components.iam import PlatformRoles
from infra.components.metric import Metric
from infra.components.serving_alarms import EndpointMetrics, create_rollback_alarms
from infra.components.serving_policy import (
    content_name,
    deployment_config,
    instance_has_local_storage,
)
from infra.components.serving_scaling import VariantScaling, scale_variant
from infra.components.storage import StackStorage
from infra.config import Serving
from infra.network import NetworkIds

PRIMARY_VARIANT = "primary"
SHADOW_VARIANT = "shadow"
CAPTURE_PREFIX = "data-capture/"
CAPTURE_CONTENT_TYPES = {
    "csv_content_types": ["text/csv"],
    "json_content_types": ["application/json"],
}


@dataclass(frozen=True)
class ModelEndpointArgs:
    """What the endpoint needs from the rest of the platform, as objects."""

    settings: Serving
    roles: PlatformRoles
    storage: StackStorage
    topic: aws.sns.Topic
    network: NetworkIds | None = None


class ModelEndpoint(pulumi.ComponentResource):
    """Model, endpoint configuration, endpoint, rollback alarms and autoscaling."""

    endpoint: aws.sagemaker.Endpoint
    config: aws.sagemaker.EndpointConfiguration
    model: aws.sagemaker.Model
    shadow_model: aws.sagemaker.Model | None
    scaling: VariantScaling | None

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: ModelEndpointArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:serving:ModelEndpoint", name, None, opts)
        settings = args.settings
        if settings.model_package_arn is None:
            raise ValueError(
                "ModelEndpoint needs serving.modelPackageArn; build it only once one is pinned"
            )
        self._context = context
        self._args = args
        self.endpoint_name = context.name("endpoint")
        self.variant_name = PRIMARY_VARIANT
        self._model_names: dict[str, str] = {}
        self.model = self._model("model", settings.model_package_arn)
        self.shadow_model = (
            self._model("shadow-model", settings.shadow_model_package_arn)
            if settings.shadow_model_package_arn
            else None
        )
        grants = self._grant_execution_role()
        self.config = self._endpoint_config()
        self._metrics = EndpointMetrics(self.endpoint_name, PRIMARY_VARIANT, self.config.name)
        self.rollback_alarms = create_rollback_alarms(
            context, self._metrics, settings.alarms, args.topic, parent=self
        )
        self.alarm_names = self.rollback_alarms.names
        grants.append(self._grant_describe_rollback_alarms())
        self.deployment_config = deployment_config(settings.rollout, self.alarm_names)
        self.endpoint = aws.sagemaker.Endpoint(
            self.endpoint_name,
            name=self.endpoint_name,
            endpoint_config_name=self.config.name,
            deployment_config=cast(Any, self.deployment_config),
            tags=context.tags("serving"),
            # The roles component's policies (image pull, logs) and the bucket grants must be
            # in place before SageMaker starts instances with the execution role.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*grants, *self.rollback_alarms.alarms, args.roles, args.storage],
            ),
        )
        self.scaling = (
            scale_variant(
                context, self.endpoint, PRIMARY_VARIANT, settings.autoscaling, parent=self
            )
            if settings.autoscaling.enabled
            else None
        )
        self.register_outputs(
            {
                "endpointName": self.endpoint.name,
                "endpointConfigName": self.config.name,
                "rollbackAlarmNames": self.alarm_names,
            }
        )

    @property
    def model_package_arn(self) -> str:
        """The pinned model package the primary variant serves."""
        arn = self._args.settings.model_package_arn
        assert arn is not None  # checked when the endpoint was built
        return arn

    # Alarm-ready metrics: the alarms above use these, so none can miss a dimension.

    def metric_5xx(self, new_fleet_only: bool = True) -> Metric:
        return self._metrics.errors_5xx(new_fleet_only)

    def metric_latency_p99(self, new_fleet_only: bool = True) -> Metric:
        return self._metrics.latency_p99(new_fleet_only)

    def metric_invocations_per_instance(self, new_fleet_only: bool = False) -> Metric:
        return self._metrics.invocations_per_instance(new_fleet_only)

    def metric_memory_utilization(self) -> Metric:
        return self._metrics.memory_utilization()

    def metric_invocations(self, variant: str = PRIMARY_VARIANT) -> Metric:
        """Requests ``variant`` answered (``SHADOW_VARIANT``: the copies the shadow got)."""
        return self._variant_metrics(variant).invocations()

    def metric_model_latency(self, statistic: str, variant: str = PRIMARY_VARIANT) -> Metric:
        """Model latency of ``variant`` in microseconds: ``Average`` or a percentile (``p99``)."""
        return self._variant_metrics(variant).model_latency(statistic)

    def _variant_metrics(self, variant: str) -> EndpointMetrics:
        return EndpointMetrics(self.endpoint_name, variant, self.config.name)

    # Resources.

    @property
    def _serverless(self) -> bool:
        return self._args.settings.serverless is not None

    def _model(self, purpose: str, package_arn: str) -> aws.sagemaker.Model:
        """A model from a registered package; isolated, in the stack's VPC when it has one."""
        context, network = self._context, self._args.network
        # Serverless endpoints support neither network isolation nor a VPC (config refuses a VPC).
        isolated = not self._serverless
        environment = self._container_environment()
        identity: dict[str, object] = {
            "modelPackageArn": package_arn,
            "networkIsolation": isolated,
            "network": context.config.network.model_dump(mode="json"),
            "role": context.name("execution"),
        }
        if environment:  # only then: names of models without one stay as they were
            identity["environment"] = environment
        physical = content_name(context.name(purpose), identity)
        self._model_names[purpose] = physical
        vpc_config: Any = (
            {"subnets": network.subnet_ids, "security_group_ids": network.security_group_ids}
            if network is not None
            else None
        )
        return aws.sagemaker.Model(
            context.name(purpose),
            name=physical,
            execution_role_arn=self._args.roles.execution_role.arn,
            primary_container={
                "model_package_name": package_arn,
                **({"environment": environment} if environment else {}),
            },
            enable_network_isolation=isolated,
            vpc_config=vpc_config,
            tags=context.tags("serving"),
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=False),
        )

    def _container_environment(self) -> dict[str, str]:
        """The server's settings for the container, beside the package's own environment.

        SageMaker's serving convention (SAGEMAKER_MODEL_SERVER_WORKERS); unset, the
        server starts one worker per vCPU and shares the vCPUs out as OpenMP threads.
        The SageMaker Python SDK sets a model's Environment beside ModelPackageName
        the same way (``ModelPackage._create_sagemaker_model``).
        """
        workers = self._args.settings.workers
        return {} if workers is None else {"SAGEMAKER_MODEL_SERVER_WORKERS": str(workers)}

    def _endpoint_config(self) -> aws.sagemaker.EndpointConfiguration:
        context, settings, storage = self._context, self._args.settings, self._args.storage
        encrypt_volume = self._serverless or not instance_has_local_storage(settings.instance_type)
        identity: dict[str, object] = {
            "variant": PRIMARY_VARIANT,
            "models": self._model_names,
            "modelPackageArn": settings.model_package_arn,
            "shadowModelPackageArn": settings.shadow_model_package_arn,
            "shadowSamplingPercent": settings.shadow_sampling_percent,
            "instanceType": settings.instance_type,
            "instanceCount": settings.instance_count,
            "serverless": settings.serverless.model_dump(mode="json")
            if settings.serverless
            else None,
            "dataCapture": settings.data_capture.model_dump(mode="json"),
            "network": context.config.network.model_dump(mode="json"),
            "volumeKey": encrypt_volume,
        }
        physical = content_name(context.name("endpoint-config"), identity)
        return aws.sagemaker.EndpointConfiguration(
            context.name("endpoint-config"),
            name=physical,
            production_variants=[self._variant(PRIMARY_VARIANT, self.model, 1.0)],
            shadow_production_variants=(
                [
                    self._variant(
                        SHADOW_VARIANT, self.shadow_model, settings.shadow_sampling_percent / 100
                    )
                ]
                if self.shadow_model is not None
                else None
            ),
            kms_key_arn=storage.key.arn if encrypt_volume else None,
            data_capture_config=self._capture_config(),
            tags=context.tags("serving"),
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=False),
        )

    def _capture_config(self) -> Any:
        """Requests and responses into ``data-capture/``, encrypted with the stack key."""
        capture, storage = self._args.settings.data_capture, self._args.storage
        if not capture.enabled:
            return None
        return {
            "enable_capture": True,
            "initial_sampling_percentage": capture.sampling_percent,
            "destination_s3_uri": pulumi.Output.concat(
                "s3://", storage.monitoring.name, "/", CAPTURE_PREFIX
            ),
            "kms_key_id": storage.key.arn,
            "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
            "capture_content_type_header": CAPTURE_CONTENT_TYPES,
        }

    def _variant(self, variant_name: str, model: aws.sagemaker.Model | None, weight: float) -> Any:
        assert model is not None
        settings = self._args.settings
        variant: dict[str, object] = {
            "variant_name": variant_name,
            "model_name": model.name,
            "initial_variant_weight": weight,
        }
        if settings.serverless is not None:
            variant["serverless_config"] = {
                "memory_size_in_mb": settings.serverless.memory_size_mb,
                "max_concurrency": settings.serverless.max_concurrency,
            }
        else:
            variant["instance_type"] = settings.instance_type
            variant["initial_instance_count"] = (
                settings.instance_count if variant_name == PRIMARY_VARIANT else 1
            )
        return variant

    def _grant_describe_rollback_alarms(self) -> aws.iam.RolePolicy:
        """SageMaker reads the rollback alarms with the execution role while it shifts traffic."""
        roles = self._args.roles
        return roles.add_policy(
            roles.execution_role,
            "describe-rollback-alarms",
            [
                {
                    "Sid": "SageMakerReadsTheRollbackAlarms",
                    "Effect": "Allow",
                    "Action": "cloudwatch:DescribeAlarms",
                    "Resource": self.rollback_alarms.arns,
                }
            ],
            parent=self,
        )

    def _grant_execution_role(self) -> list[pulumi.Resource]:
        """Key use for the volume and capture; write access to the capture prefix."""
        storage, role = self._args.storage, self._args.roles.execution_role
        grants: list[pulumi.Resource] = [storage.grant_key_use(role, "endpoint")]
        if self._args.settings.data_capture.enabled:
            grants.append(storage.grant_read_write(role, storage.monitoring, CAPTURE_PREFIX))
        return grants


def build_model_endpoint(context: StackContext, args: ModelEndpointArgs) -> ModelEndpoint | None:
    """The endpoint when serving is enabled and a model package is pinned, else None."""
    settings = args.settings
    if not settings.enabled or settings.model_package_arn is None:
        return None
    return ModelEndpoint(context.name("serving"), context, args)


def serving_outputs(
    settings: Serving, endpoint: ModelEndpoint | None
) -> dict[str, pulumi.Input[object]]:
    """Endpoint, configuration and alarm names; or why nothing is served yet."""
    if endpoint is not None:
        return {
            "endpointName": endpoint.endpoint.name,
            "endpointConfigName": endpoint.config.name,
            "rollbackAlarmNames": endpoint.alarm_names,
        }
    if not settings.enabled:
        return {"servingStatus": "serving disabled: serving.enabled is false"}
    return {"servingStatus": f"no model package pinned: run {pin_command(pulumi.get_stack())}"}


def pin_command(stack: str) -> str:
    """What pins a model for ``stack``: dev deploys its own, the others are promoted into."""
    if stack == "dev":
        return "mlops deploy --stack dev"
    return f"mlops promote --to {stack}"
