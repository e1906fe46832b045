"""The training pipeline: SageMaker pipeline from ``pipelines.definitions``, and its schedule.

The definition is built at synth from resolved names and ARNs (a pure function,
no SDK import, no AWS call), so the pipeline changes exactly when its inputs
do. EventBridge Scheduler starts it with ``RunKind=scheduled`` (the target's
pipeline parameters); the scheduler's role may start this one pipeline, for
schedules of this account only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext, policy_json, service_trust
from infra.components.dead_letters import DeadLetterQueue
from infra.components.feature_store import FeatureStore
from infra.components.iam import PlatformRoles
from infra.components.image import ProjectImage
from infra.components.metric import Metric
from infra.components.registry import ModelRegistry
from infra.components.storage import StackStorage
from infra.config import Pipeline as PipelineSettings
from infra.network import NetworkIds
from pipelines.definitions.training import TrainingPipelineSpec, definition_json, gates_of
from pipelines.lambdas.start_pipeline import RUN_KIND_PARAMETER, SCHEDULED

PIPELINE_JOB_PREFIX = "pipelines-"  # SageMaker names the jobs a pipeline starts pipelines-<id>-...
PIPELINE_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"


@dataclass(frozen=True)
class TrainingPipelineArgs:
    """What the training pipeline reads, writes, registers into and runs on."""

    settings: PipelineSettings
    storage: StackStorage
    roles: PlatformRoles
    registry: ModelRegistry
    image: ProjectImage
    dead_letters: DeadLetterQueue
    feature_store: FeatureStore | None = None
    network: NetworkIds | None = None


class TrainingPipeline(pulumi.ComponentResource):
    """The stack's training pipeline, run in the project image, and its schedule."""

    pipeline: aws.sagemaker.Pipeline
    schedule: aws.scheduler.Schedule
    scheduler_role: aws.iam.Role
    definition: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: TrainingPipelineArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:pipeline:TrainingPipeline", name, None, opts)
        self._context = context
        self._args = args
        self.pipeline_name = context.names.training_pipeline
        role = args.roles.pipeline_role
        self.definition = self._definition()
        self.pipeline = aws.sagemaker.Pipeline(
            self.pipeline_name,
            pipeline_name=self.pipeline_name,
            pipeline_display_name=self.pipeline_name,
            pipeline_description="Validate, ingest features, train, evaluate, gate and register",
            role_arn=role.arn,
            pipeline_definition=self.definition,
            parallelism_configuration={"max_parallel_execution_steps": 4},
            tags=context.tags("pipeline"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=self._grants()),
        )
        settings = args.settings
        self.scheduler_role, self.schedule = schedule_pipeline(
            context,
            PipelineSchedule(
                "training",
                "pipeline",
                self.pipeline_name,
                settings.schedule,
                settings.schedule_timezone,
                settings.schedule_enabled,
                # The run says it was scheduled, so the retrain gate's cool-down ignores it.
                parameters={RUN_KIND_PARAMETER: SCHEDULED},
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

    def metric_executions(self, metric_name: str) -> Metric:
        """``ExecutionStarted``, ``ExecutionSucceeded`` or ``ExecutionFailed`` of this pipeline."""
        return pipeline_metric(self.pipeline_name, metric_name)

    def _grants(self) -> list[pulumi.Resource]:
        """Register models; let the Champion step (execution role) read the current champion."""
        storage, roles, registry = self._args.storage, self._args.roles, self._args.registry
        role = roles.pipeline_role
        return [
            registry.grant_register(role, parent=self),
            registry.grant_read(roles.execution_role, parent=self),
            # The champion's model artifact, in the artifacts bucket.
            storage.grant_read(roles.execution_role, storage.artifacts),
            storage.grant_read(role, storage.artifacts, "pipeline-runs/"),
            roles.add_policy(role, "run-pipeline-jobs", self._job_statements(), parent=self),
        ]

    def _definition(self) -> pulumi.Output[str]:
        args, context = self._args, self._context
        settings, feature_store, network = args.settings, args.feature_store, args.network
        gates = gates_of(settings.gates)
        subnets: pulumi.Input[Any] = network.subnet_ids if network is not None else []
        groups: pulumi.Input[Any] = network.security_group_ids if network is not None else []

        def build(values: list[Any]) -> str:
            role_arn, data, artifacts, key_arn, image_uri, subnet_ids, group_ids = values
            return definition_json(
                TrainingPipelineSpec(
                    pipeline_name=self.pipeline_name,
                    region=context.region,
                    role_arn=role_arn,
                    data_bucket=data,
                    artifacts_bucket=artifacts,
                    kms_key_arn=key_arn,
                    image_uri=image_uri,
                    model_package_group=args.registry.group_name,
                    feature_group_name=feature_store.group_name if feature_store else None,
                    processing_instance_type=settings.processing_instance_type,
                    training_instance_type=settings.training_instance_type,
                    approval_status=settings.approval_status,
                    cache_expiry=settings.cache_expiry,
                    max_retry_attempts=settings.max_retry_attempts,
                    gates=gates,
                    subnet_ids=tuple(subnet_ids),
                    security_group_ids=tuple(group_ids),
                    retain_unregistered_days=context.config.storage.raw_expiration_days,
                )
            )

        return pulumi.Output.all(
            args.roles.execution_role.arn,
            args.storage.data.name,
            args.storage.artifacts.name,
            args.storage.key.arn,
            args.image.image_uri,
            subnets,
            groups,
        ).apply(build)

    def _job_statements(self) -> list[dict[str, object]]:
        """The jobs a pipeline starts are named ``pipelines-<id>-<step>``, not after the stack."""
        context = self._context
        return [
            {
                "Sid": "RunThePipelinesJobs",
                "Effect": "Allow",
                "Action": [
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                ],
                "Resource": [
                    context.arn("sagemaker", f"processing-job/{PIPELINE_JOB_PREFIX}*"),
                    context.arn("sagemaker", f"training-job/{PIPELINE_JOB_PREFIX}*"),
                ],
            }
        ]


@dataclass(frozen=True)
class PipelineSchedule:
    """When EventBridge Scheduler starts a pipeline: ``<prefix>-<env>-<purpose>-schedule``."""

    purpose: str
    component: str  # the scheduler role's ``component`` tag
    pipeline_name: str
    expression: str
    timezone: str = "UTC"
    enabled: bool = True
    parameters: dict[str, str] = field(default_factory=dict)  # the target's pipeline parameters


def schedule_pipeline(
    context: StackContext,
    when: PipelineSchedule,
    pipeline: aws.sagemaker.Pipeline,
    key: aws.kms.Key,
    dead_letters: DeadLetterQueue,
    parent: pulumi.Resource,
) -> tuple[aws.iam.Role, aws.scheduler.Schedule]:
    """The schedule that starts ``pipeline`` and its role; what it cannot start is a dead letter.

    The schedule is encrypted with the stack key and retried for an hour.
    """
    role = scheduler_role(context, when.purpose, when.component, pipeline, key, parent=parent)
    dead_letter, grant = dead_letters.for_role(role, parent=parent)
    schedule_name = context.name(f"{when.purpose}-schedule")
    schedule = aws.scheduler.Schedule(
        schedule_name,
        name=schedule_name,
        description=f"Starts {when.pipeline_name} ({when.expression})",
        schedule_expression=when.expression,
        schedule_expression_timezone=when.timezone,
        state="ENABLED" if when.enabled else "DISABLED",
        flexible_time_window={"mode": "OFF"},
        kms_key_arn=key.arn,
        target={
            "arn": pipeline.arn,
            "role_arn": role.arn,
            "retry_policy": {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600},
            "dead_letter_config": dead_letter,
            **_pipeline_parameters(when.parameters),
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[grant]),
    )
    return role, schedule


def _pipeline_parameters(parameters: dict[str, str]) -> dict[str, Any]:
    """The target's ``SageMakerPipelineParameters`` (0-200 name/value pairs), if any.

    https://docs.aws.amazon.com/scheduler/latest/APIReference/API_SageMakerPipelineParameters.html
    """
    if not parameters:
        return {}
    pairs = [{"name": name, "value": value} for name, value in sorted(parameters.items())]
    return {"sagemaker_pipeline_parameters": {"pipeline_parameters": pairs}}


def scheduler_trust(context: StackContext, schedule_name: str) -> pulumi.Output[str]:
    """A role's trust policy: EventBridge Scheduler of this account, for that one schedule."""
    schedule_arn = context.arn("scheduler", f"schedule/default/{schedule_name}")
    return service_trust(
        context, "SchedulerOfThisAccountOnly", "scheduler.amazonaws.com", schedule_arn
    )


def scheduler_role(
    context: StackContext,
    purpose: str,
    component: str,
    pipeline: aws.sagemaker.Pipeline,
    key: aws.kms.Key,
    parent: pulumi.Resource,
) -> aws.iam.Role:
    """The role of ``<prefix>-<env>-<purpose>-schedule``: may start ``pipeline``, nothing else.

    Trusted by EventBridge Scheduler for that one schedule of this account; it may
    decrypt the schedule, which is encrypted with the stack key.
    """
    role_name = context.name(f"{purpose}-scheduler")
    role = aws.iam.Role(
        role_name,
        name=role_name,
        description=f"Lets EventBridge Scheduler start {context.name(purpose)}",
        assume_role_policy=scheduler_trust(context, context.name(f"{purpose}-schedule")),
        tags=context.tags(component),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    aws.iam.RolePolicy(
        f"{role_name}-start",
        role=role.id,
        name=f"start-{purpose}-pipeline",
        policy=policy_json(
            [
                {
                    "Sid": "StartThisPipelineOnly",
                    "Effect": "Allow",
                    "Action": "sagemaker:StartPipelineExecution",
                    "Resource": pipeline.arn,
                },
                {
                    "Sid": "ReadTheScheduleEncryptedWithTheStackKey",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": key.arn,
                },
            ]
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return role


def pipeline_metric(pipeline_name: str, metric_name: str) -> Metric:
    """A metric SageMaker publishes per pipeline execution, summed (a count of executions)."""
    return Metric(PIPELINE_NAMESPACE, metric_name, {"PipelineName": pipeline_name}, statistic="Sum")
