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

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext
from infra.components.dead_letters import DeadLetterQueue
from infra.components.iam import PlatformRoles, write_logs_statement
from infra.components.image import ProjectImage
from infra.components.metric import Metric
from infra.components.pipeline import (
    PIPELINE_JOB_PREFIX,
    PipelineSchedule,
    pipeline_metric,
    schedule_pipeline,
)
from infra.components.serving import ModelEndpoint
from infra.components.storage import StackStorage
from infra.config import Monitoring as MonitoringSettings
from infra.config import Pipeline as PipelineSettings
from infra.network import NetworkIds
from pipelines import metrics
from pipelines.definitions.monitoring import (
    ARTIFACT_PREFIXES,
    CAPTURE_PREFIX,
    DRIFT_PREFIX,
    FEEDBACK_PREFIX,
    LABELS_PREFIX,
    QUALITY_PREFIX,
    RAW_FEEDBACK,
    DriftSpec,
    FeedbackSpec,
    MonitoringPipelineSpec,
    QualitySpec,
    definition_json,
)

HIGHER_IS_WORSE = frozenset(
    {
        metrics.RECALL_GAP,
        metrics.RECALL_DROP_Z,
        metrics.PRECISION_DROP_Z,
        metrics.SEGMENT_RECALL_DROP_Z,
    }
)


@dataclass(frozen=True)
class AlarmEvidence:
    """How much evidence a monitoring alarm needs: M breaching of N hourly datapoints, z level."""

    datapoints: int
    periods: int
    z: float


@dataclass(frozen=True)
class MonitoringPipelineArgs:
    """The endpoint whose traffic is watched, and what the jobs read, write and run on."""

    settings: MonitoringSettings
    pipeline_settings: PipelineSettings  # instance type and retries of the processing jobs
    endpoint: ModelEndpoint
    storage: StackStorage
    roles: PlatformRoles
    image: ProjectImage
    dead_letters: DeadLetterQueue
    network: NetworkIds | None = None


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
        args: MonitoringPipelineArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:monitoring:MonitoringPipeline", name, None, opts)
        self._context = context
        self._args = args
        self.pipeline_name = context.name("monitoring")
        self.endpoint_name = args.endpoint.endpoint_name
        self.variant_name = args.endpoint.variant_name
        self.quality_enabled = args.settings.quality.enabled
        self.feedback_enabled = args.settings.feedback.enabled
        self.model_package_arn = args.endpoint.model_package_arn
        self.alarm_evidence = AlarmEvidence(
            args.settings.alarm_datapoints, args.settings.alarm_periods, args.settings.alarm_z
        )
        self.job_role = args.roles.job_role(
            "monitor", "Runs this stack's drift and model quality jobs"
        )
        grants = [*self._grant_job_role(), self._grant_pipeline_role()]
        self.definition = self._definition()
        self.pipeline = aws.sagemaker.Pipeline(
            self.pipeline_name,
            pipeline_name=self.pipeline_name,
            pipeline_display_name=self.pipeline_name,
            pipeline_description="Drift and model quality of the serving endpoint's traffic",
            role_arn=args.roles.pipeline_role.arn,
            pipeline_definition=self.definition,
            parallelism_configuration={"max_parallel_execution_steps": 2},
            tags=context.tags("monitoring"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants),
        )
        self.scheduler_role, self.schedule = schedule_pipeline(
            context,
            PipelineSchedule(
                "monitoring", "monitoring", self.pipeline_name, args.settings.drift_schedule
            ),
            self.pipeline,
            args.storage.key,
            args.dead_letters,
            parent=self,
        )
        self.register_outputs(
            {
                "pipelineName": self.pipeline.pipeline_name,
                "pipelineArn": self.pipeline.arn,
                "scheduleName": self.schedule.name,
            }
        )

    # Alarm-ready metrics: what the jobs publish, with the publishers' own dimensions.

    def metric_drift(self, name: str = metrics.MAX_PSI, feature: str | None = None) -> Metric:
        """A drift metric of the drift job; ``feature`` selects one feature's ``FeaturePSI``."""
        stack = self._context.config.environment.value
        return Metric(
            metrics.DRIFT_NAMESPACE,
            name,
            metrics.drift_dimensions(stack, self.endpoint_name, feature),
            statistic="Maximum",
        )

    def metric_quality(self, name: str) -> Metric:
        """A quality metric of the quality job, per run, at its worst: lowest, or highest for
        the recall gap and the drop z values."""
        statistic = "Maximum" if name in HIGHER_IS_WORSE else "Minimum"
        return Metric(
            metrics.QUALITY_NAMESPACE,
            name,
            metrics.quality_dimensions(self.endpoint_name, self.variant_name),
            statistic=statistic,
        )

    def metric_executions(self, metric_name: str) -> Metric:
        """``ExecutionStarted``, ``ExecutionSucceeded`` or ``ExecutionFailed`` of this pipeline."""
        return pipeline_metric(self.pipeline_name, metric_name)

    @property
    def jobs(self) -> list[str]:
        """The steps that run and send a heartbeat: drift, and quality and feedback if on."""
        return [
            job
            for job, on in (
                ("drift", True),
                ("quality", self.quality_enabled),
                ("feedback", self.feedback_enabled),
            )
            if on
        ]

    def metric_heartbeat(self, job: str) -> Metric:
        """A job's heartbeat, counted: how many runs of ``job`` ended well in a period."""
        return Metric(
            metrics.MONITORING_NAMESPACE,
            metrics.HEARTBEAT,
            metrics.heartbeat_dimensions(self.endpoint_name, job),
            statistic="SampleCount",
        )

    def _spec(self, values: list[Any]) -> MonitoringPipelineSpec:
        role_arn, image_uri, key_arn, bucket, data_bucket, subnet_ids, group_ids = values
        settings, jobs = self._args.settings, self._args.pipeline_settings
        quality = settings.quality
        return MonitoringPipelineSpec(
            pipeline_name=self.pipeline_name,
            region=self._context.region,
            role_arn=role_arn,
            image_uri=image_uri,
            kms_key_arn=key_arn,
            monitoring_bucket=bucket,
            stack=self._context.config.environment.value,
            endpoint_name=self.endpoint_name,
            variant_name=self.variant_name,
            model_package_arn=self.model_package_arn,
            instance_type=jobs.processing_instance_type,
            max_retry_attempts=jobs.max_retry_attempts,
            drift_window_hours=settings.drift_window_hours,
            psi_warn=settings.psi_warn,
            psi_alarm=settings.psi_alarm,
            quality=QualitySpec(
                window_hours=quality.window_hours,
                min_labelled_rows=quality.min_labelled_rows,
                min_segment_positives=quality.min_segment_positives,
                label_delay_hours=quality.label_delay_hours,
                min_positives=quality.min_positives,
                min_label_coverage=quality.min_label_coverage,
            )
            if quality.enabled
            else None,
            feedback=FeedbackSpec(
                data_bucket=data_bucket,
                lookback_hours=settings.feedback.lookback_hours,
                catch_up_hours=settings.feedback.catch_up_hours,
            )
            if self.feedback_enabled
            else None,
            drift=DriftSpec(
                min_rows=settings.min_window_rows,
                score_reference_days=settings.score_reference_days,
                flag_rate_tolerance=settings.flag_rate_tolerance,
            ),
            subnet_ids=tuple(subnet_ids),
            security_group_ids=tuple(group_ids),
        )

    def _definition(self) -> pulumi.Output[str]:
        storage, network = self._args.storage, self._args.network
        subnets: pulumi.Input[Any] = network.subnet_ids if network is not None else []
        groups: pulumi.Input[Any] = network.security_group_ids if network is not None else []
        return pulumi.Output.all(
            self.job_role.arn,
            self._args.image.image_uri,
            storage.key.arn,
            storage.monitoring.name,
            storage.data.name,
            subnets,
            groups,
        ).apply(lambda values: definition_json(self._spec(values)))

    def _grant_job_role(self) -> list[pulumi.Resource]:
        """Read capture, labels and model artifacts; write reports; publish our metrics."""
        role, storage = self.job_role, self._args.storage
        endpoint = self.endpoint_name
        grants: list[pulumi.Resource] = [
            self._args.image.grant_pull(role),
            storage.grant_key_use(role, "jobs"),
            storage.grant_read(role, storage.monitoring, f"{CAPTURE_PREFIX}{endpoint}/"),
            storage.grant_read_write(role, storage.monitoring, f"{DRIFT_PREFIX}{endpoint}/"),
            # Registered models point at the training runs' artifacts and evaluation; a
            # promoted package at their copies (ops/release/artifact_copy.py).
            *(storage.grant_read(role, storage.artifacts, p) for p in ARTIFACT_PREFIXES),
        ]
        if self.quality_enabled or self.feedback_enabled:
            grants.append(
                storage.grant_read(role, storage.monitoring, f"{LABELS_PREFIX}{endpoint}/")
            )
        if self.quality_enabled:
            grants.append(
                storage.grant_read_write(role, storage.monitoring, f"{QUALITY_PREFIX}{endpoint}/")
            )
        if self.feedback_enabled:
            grants += [
                storage.grant_read_write(role, storage.monitoring, f"{FEEDBACK_PREFIX}{endpoint}/"),
                # Its own drops only: the feedback step reads them back, never other producers'.
                storage.grant_read_write(role, storage.data, f"{RAW_FEEDBACK}{endpoint}/"),
            ]
        grants.append(
            self._args.roles.add_policy(role, "drift-and-quality", self._job_statements(), self)
        )
        return grants

    def _job_statements(self) -> list[dict[str, object]]:
        """Describe the serving package, publish our namespaces only, write the jobs' logs."""
        return [
            {
                "Sid": "ReadTheServingModelPackage",
                "Effect": "Allow",
                "Action": "sagemaker:DescribeModelPackage",
                "Resource": self.model_package_arn,
            },
            {
                "Sid": "PublishMonitoringMetricsOnly",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                # No resource-level permissions: the namespace is the scope.
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"cloudwatch:namespace": list(metrics.PUBLISHED_NAMESPACES)}
                },
            },
            write_logs_statement(
                self._context, "WriteProcessingJobLogs", "/aws/sagemaker/ProcessingJobs"
            ),
        ]

    def _grant_pipeline_role(self) -> aws.iam.RolePolicy:
        """The pipeline role starts the processing jobs and hands them the job role, no more."""
        context, roles = self._context, self._args.roles
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
