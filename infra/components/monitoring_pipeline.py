"""The monitoring pipeline: drift and model quality of the served model, on the drift schedule.

The definition comes from ``pipelines.definitions.monitoring`` (pure, built at
synth from resolved values). Its jobs run in the project image with their own
role, which may read the endpoint's capture, its labels and the model
artifacts, write the drift and quality reports, describe the one serving
model package, and publish to ``mlops/drift`` and ``mlops/quality`` only.
EventBridge Scheduler starts it with a role that may start this pipeline only.
Built only when an endpoint serves a pinned model and captures its traffic.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext
from infra.components.dead_letters import DeadLetterQueue
from infra.components.iam import PlatformRoles
from infra.components.image import ProjectImage
from infra.components.pipeline import PIPELINE_JOB_PREFIX, scheduler_role
from infra.components.serving import ModelEndpoint
from infra.components.serving_alarms import EndpointMetric
from infra.components.storage import StackStorage
from infra.config import StackConfig
from infra.network import NetworkIds
from pipelines.definitions.monitoring import (
    CAPTURE_PREFIX,
    DRIFT_PREFIX,
    LABELS_PREFIX,
    QUALITY_PREFIX,
    MonitoringPipelineSpec,
    QualitySpec,
    definition_json,
)
from pipelines.jobs import drift_publish, quality_publish

PUBLISHED_NAMESPACES = (drift_publish.NAMESPACE, quality_publish.NAMESPACE)


class MonitoringPipeline(pulumi.ComponentResource):
    """The monitoring pipeline, its job role, and the schedule that starts it."""

    pipeline: aws.sagemaker.Pipeline
    job_role: aws.iam.Role
    schedule: aws.scheduler.Schedule
    definition: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        context: StackContext,
        config: StackConfig,
        storage: StackStorage,
        roles: PlatformRoles,
        image: ProjectImage,
        endpoint: ModelEndpoint,
        dead_letters: DeadLetterQueue,
        network: NetworkIds | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:monitoring:MonitoringPipeline", name, None, opts)
        self._context = context
        self._config = config
        self.pipeline_name = context.name("monitoring")
        self.endpoint_name = endpoint.endpoint_name
        self.variant_name = endpoint.variant_name
        self.quality_enabled = config.monitoring.quality.enabled
        package_arn = config.serving.model_package_arn
        assert package_arn is not None  # an endpoint exists only for a pinned package
        self.model_package_arn = package_arn
        self.job_role = roles.job_role("monitor", "Runs this stack's drift and model quality jobs")
        grants = self._grant_job_role(storage, roles, image)
        grants.append(self._grant_pipeline_role(roles))
        self.definition = self._definition(storage, image, network)
        self.pipeline = aws.sagemaker.Pipeline(
            self.pipeline_name,
            pipeline_name=self.pipeline_name,
            pipeline_display_name=self.pipeline_name,
            pipeline_description="Drift and model quality of the serving endpoint's traffic",
            role_arn=roles.pipeline_role.arn,
            pipeline_definition=self.definition,
            parallelism_configuration={"max_parallel_execution_steps": 2},
            tags=context.tags("monitoring"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants),
        )
        self.scheduler_role = scheduler_role(
            context, "monitoring", "monitoring", self.pipeline, storage.key, parent=self
        )
        dead_letter, dead_letter_grant = dead_letters.for_role(self.scheduler_role, parent=self)
        schedule_name = context.name("monitoring-schedule")
        self.schedule = aws.scheduler.Schedule(
            schedule_name,
            name=schedule_name,
            description=f"Starts {self.pipeline_name} ({config.monitoring.drift_schedule})",
            schedule_expression=config.monitoring.drift_schedule,
            schedule_expression_timezone="UTC",
            state="ENABLED",
            flexible_time_window={"mode": "OFF"},
            kms_key_arn=storage.key.arn,
            target={
                "arn": self.pipeline.arn,
                "role_arn": self.scheduler_role.arn,
                "retry_policy": {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600},
                "dead_letter_config": dead_letter,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[dead_letter_grant]),
        )
        self.register_outputs(
            {
                "pipelineName": self.pipeline.pipeline_name,
                "pipelineArn": self.pipeline.arn,
                "scheduleName": self.schedule.name,
            }
        )

    # Alarm-ready metrics: what the jobs publish, with the publishers' own dimensions.

    def metric_drift(self, name: str = "MaxPSI") -> EndpointMetric:
        """A drift summary metric of the drift job (``pipelines.jobs.drift_publish``)."""
        dimensions = drift_publish.metric_dimensions(
            self._config.environment.value, self.endpoint_name
        )
        return EndpointMetric(
            drift_publish.NAMESPACE,
            name,
            {d["Name"]: d["Value"] for d in dimensions},
            statistic="Maximum",
        )

    def metric_quality(self, name: str) -> EndpointMetric:
        """A quality metric of the quality job (``pipelines.jobs.quality_publish``), per run."""
        dimensions = quality_publish.metric_dimensions(self.endpoint_name, self.variant_name)
        statistic = "Maximum" if name == "RecallGap" else "Minimum"
        return EndpointMetric(
            quality_publish.NAMESPACE,
            name,
            {d["Name"]: d["Value"] for d in dimensions},
            statistic=statistic,
        )

    def _spec(self, values: list[Any]) -> MonitoringPipelineSpec:
        role_arn, image_uri, key_arn, bucket, subnet_ids, group_ids = values
        settings = self._config.monitoring
        quality = settings.quality
        return MonitoringPipelineSpec(
            pipeline_name=self.pipeline_name,
            region=self._context.region,
            role_arn=role_arn,
            image_uri=image_uri,
            kms_key_arn=key_arn,
            monitoring_bucket=bucket,
            stack=self._config.environment.value,
            endpoint_name=self.endpoint_name,
            variant_name=self.variant_name,
            model_package_arn=self.model_package_arn,
            instance_type=self._config.pipeline.processing_instance_type,
            max_retry_attempts=self._config.pipeline.max_retry_attempts,
            drift_window_hours=settings.drift_window_hours,
            psi_warn=settings.psi_warn,
            psi_alarm=settings.psi_alarm,
            quality=QualitySpec(
                window_hours=quality.window_hours,
                min_labelled_rows=quality.min_labelled_rows,
                min_segment_positives=quality.min_segment_positives,
            )
            if quality.enabled
            else None,
            subnet_ids=tuple(subnet_ids),
            security_group_ids=tuple(group_ids),
        )

    def _definition(
        self, storage: StackStorage, image: ProjectImage, network: NetworkIds | None
    ) -> pulumi.Output[str]:
        subnets: pulumi.Input[Any] = network.subnet_ids if network is not None else []
        groups: pulumi.Input[Any] = network.security_group_ids if network is not None else []
        return pulumi.Output.all(
            self.job_role.arn,
            image.image_uri,
            storage.key.arn,
            storage.monitoring.name,
            subnets,
            groups,
        ).apply(lambda values: definition_json(self._spec(values)))

    def _grant_job_role(
        self, storage: StackStorage, roles: PlatformRoles, image: ProjectImage
    ) -> list[pulumi.Resource]:
        """Read capture, labels and model artifacts; write reports; publish our metrics."""
        role, context = self.job_role, self._context
        endpoint = self.endpoint_name
        grants: list[pulumi.Resource] = [
            image.grant_pull(roles, role),
            storage.grant_key_use(role, "jobs"),
            storage.grant_read(role, storage.monitoring, f"{CAPTURE_PREFIX}{endpoint}/"),
            storage.grant_read_write(role, storage.monitoring, f"{DRIFT_PREFIX}{endpoint}/"),
            # Registered models point at the training runs' artifacts.
            storage.grant_read(role, storage.artifacts, "pipeline-runs/"),
        ]
        if self.quality_enabled:
            grants.append(
                storage.grant_read(role, storage.monitoring, f"{LABELS_PREFIX}{endpoint}/")
            )
            grants.append(
                storage.grant_read_write(role, storage.monitoring, f"{QUALITY_PREFIX}{endpoint}/")
            )
        grants.append(
            roles.add_policy(
                role,
                "drift-and-quality",
                [
                    {
                        "Sid": "ReadTheServingModelPackage",
                        "Effect": "Allow",
                        "Action": "sagemaker:DescribeModelPackage",
                        "Resource": self.model_package_arn,
                    },
                    {
                        "Sid": "PublishDriftAndQualityMetricsOnly",
                        "Effect": "Allow",
                        "Action": "cloudwatch:PutMetricData",
                        # No resource-level permissions: the namespace is the scope.
                        "Resource": "*",
                        "Condition": {
                            "StringEquals": {"cloudwatch:namespace": list(PUBLISHED_NAMESPACES)}
                        },
                    },
                    {
                        "Sid": "WriteProcessingJobLogs",
                        "Effect": "Allow",
                        "Action": [
                            "logs:CreateLogGroup",
                            "logs:CreateLogStream",
                            "logs:PutLogEvents",
                            "logs:DescribeLogStreams",
                        ],
                        "Resource": [
                            context.arn("logs", "log-group:/aws/sagemaker/ProcessingJobs"),
                            context.arn(
                                "logs", "log-group:/aws/sagemaker/ProcessingJobs:log-stream:*"
                            ),
                        ],
                    },
                ],
                parent=self,
            )
        )
        return grants

    def _grant_pipeline_role(self, roles: PlatformRoles) -> aws.iam.RolePolicy:
        """The pipeline role starts the processing jobs and hands them the job role, no more."""
        context = self._context
        return roles.add_policy(
            roles.pipeline_role,
            "run-monitoring-jobs",
            [
                {
                    "Sid": "RunTheMonitoringJobs",
                    "Effect": "Allow",
                    "Action": [
                        "sagemaker:CreateProcessingJob",
                        "sagemaker:DescribeProcessingJob",
                        "sagemaker:StopProcessingJob",
                        "sagemaker:AddTags",
                    ],
                    "Resource": context.arn("sagemaker", f"processing-job/{PIPELINE_JOB_PREFIX}*"),
                },
                {
                    "Sid": "PassTheMonitorRoleToSageMaker",
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": self.job_role.arn,
                    "Condition": {
                        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
                    },
                },
            ],
            parent=self,
        )


def build_monitoring_pipeline(
    context: StackContext,
    config: StackConfig,
    storage: StackStorage,
    roles: PlatformRoles,
    image: ProjectImage,
    endpoint: ModelEndpoint | None,
    dead_letters: DeadLetterQueue,
    network: NetworkIds | None = None,
) -> MonitoringPipeline | None:
    """The monitoring pipeline when an endpoint serves a pinned model and captures traffic."""
    if endpoint is None or not config.serving.data_capture.enabled:
        return None
    return MonitoringPipeline(
        context.name("monitoring-pipeline"),
        context,
        config,
        storage,
        roles,
        image,
        endpoint,
        dead_letters,
        network=network,
    )
