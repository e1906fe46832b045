"""The one place that knows every component and wires them together."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.components.budget import CostBudget
from infra.components.context import StackContext
from infra.components.dashboard import DashboardSources, StackDashboard
from infra.components.delivery import GitHubDispatch, build_github_dispatch
from infra.components.feature_store import FeatureStore
from infra.components.iam import PlatformRoles
from infra.components.image import ProjectImage
from infra.components.kubernetes import KubernetesServing, build_kubernetes_serving
from infra.components.monitoring import DriftMonitoring, RetrainTarget
from infra.components.monitoring_pipeline import MonitoringPipeline, build_monitoring_pipeline
from infra.components.notifications import Notifications
from infra.components.pipeline import TrainingPipeline
from infra.components.quality_alarms import QualityAlarms
from infra.components.registry import ModelRegistry
from infra.components.retrain_gate import GateTarget, RetrainGate
from infra.components.serving import (
    ModelEndpoint,
    ModelEndpointArgs,
    build_model_endpoint,
    serving_outputs,
)
from infra.components.storage import StackStorage
from infra.config import StackConfig
from infra.network import NetworkIds, resolve_network


@dataclass
class Platform:
    """The stack's components, for outputs and for tests."""

    context: StackContext
    network: NetworkIds | None
    storage: StackStorage
    roles: PlatformRoles
    notifications: Notifications
    image: ProjectImage
    serving: ModelEndpoint | None = None
    feature_store: FeatureStore | None = None
    registry: ModelRegistry | None = None
    pipeline: TrainingPipeline | None = None
    monitoring: DriftMonitoring | None = None
    monitoring_pipeline: MonitoringPipeline | None = None
    quality_alarms: QualityAlarms | None = None
    kubernetes: KubernetesServing | None = None
    delivery: GitHubDispatch | None = None
    budget: CostBudget | None = None
    dashboard: StackDashboard | None = None

    def outputs(self) -> dict[str, pulumi.Input[object]]:
        """What ``pulumi stack output`` shows: names and ARNs operators and CD need."""
        return {
            "environment": self.context.config.environment.value,
            "kmsKeyArn": self.storage.key.arn,
            "dataBucket": self.storage.data.name,
            "artifactsBucket": self.storage.artifacts.name,
            "monitoringBucket": self.storage.monitoring.name,
            "accessLogsBucket": self.storage.access_logs.name,
            "executionRoleArn": self.roles.execution_role.arn,
            "pipelineRoleArn": self.roles.pipeline_role.arn,
            "notificationTopicArn": self.notifications.topic.arn,
            "deadLetterQueueUrl": self.notifications.dead_letters.queue.url,
            "imageUri": self.image.image_uri,
            **serving_outputs(self.context.config.serving, self.serving),
            **self._training_outputs(),
        }

    def _training_outputs(self) -> dict[str, pulumi.Input[object]]:
        outputs: dict[str, pulumi.Input[object]] = {}
        if self.feature_store is not None:
            outputs["featureGroupName"] = self.feature_store.group_name
        if self.registry is not None:
            outputs["modelPackageGroupName"] = self.registry.group_name
            outputs["modelApprovalQueueUrl"] = self.registry.cd_queue.url
        if self.pipeline is not None:
            outputs["trainingPipelineName"] = self.pipeline.pipeline_name
        if self.monitoring_pipeline is not None:
            outputs["monitoringPipelineName"] = self.monitoring_pipeline.pipeline_name
        return outputs


def build_platform(config: StackConfig) -> Platform:
    """Create every component of one stack from its validated config."""
    context = StackContext.create(config)
    network = resolve_network(config.network)
    storage = StackStorage(context.name("storage"), context, config.storage)
    roles = PlatformRoles(
        context.name("roles"), context, network.as_output() if network is not None else None
    )
    for bucket in (storage.data, storage.artifacts):
        storage.grant_read_write(roles.execution_role, bucket)
    storage.grant_read_write(roles.execution_role, storage.monitoring, "drift/")
    storage.grant_read(roles.execution_role, storage.monitoring, "data-capture/")
    image = ProjectImage(context.name("image"), context, storage)
    image.grant_pull(roles, roles.execution_role)
    notifications = Notifications(
        context.name("notifications"),
        context,
        storage,
        emails=config.monitoring.alarm_emails,
        https_endpoints=config.monitoring.alarm_https_endpoints,
        budgets_publish=config.budget.enabled,
    )
    serving = build_model_endpoint(
        context,
        ModelEndpointArgs(
            settings=config.serving,
            roles=roles,
            storage=storage,
            topic=notifications.topic,
            network=network,
        ),
    )
    feature_store = (
        FeatureStore(context.name("feature-store"), context, config.feature_store, storage, roles)
        if config.feature_store.enabled
        else None
    )
    registry = ModelRegistry(context.name("registry"), context, storage, roles, notifications)
    pipeline = TrainingPipeline(
        context.name("pipeline"),
        context,
        config.pipeline,
        storage,
        roles,
        registry,
        image,
        feature_store=feature_store,
        network=network,
        dead_letters=notifications.dead_letters,
    )
    retrain_gate = (
        RetrainGate(
            context.name("retrain-gate"),
            context,
            GateTarget(
                pipeline_arn=pipeline.pipeline.arn,
                pipeline_name=pipeline.pipeline_name,
            ),
            cooldown_minutes=config.monitoring.retrain_cooldown_minutes,
            key=storage.key.arn,
            dead_letters=notifications.dead_letters,
            log_retention_days=config.monitoring.log_retention_days,
        )
        if serving is not None and config.monitoring.retrain_on_alarm
        else None
    )
    retrain = RetrainTarget(arn=pipeline.pipeline.arn, name=pipeline.pipeline_name)
    monitoring = DriftMonitoring(
        context.name("monitoring"),
        context,
        config.monitoring,
        notifications,
        endpoint=serving,
        retrain=retrain,
        retrain_gate=retrain_gate,
    )
    monitoring_pipeline = build_monitoring_pipeline(
        context, config, storage, roles, image, serving, notifications.dead_letters, network=network
    )
    quality_alarms = (
        QualityAlarms(
            context.name("quality-alarms"),
            context,
            config.monitoring.quality,
            monitoring_pipeline,
            notifications.topic,
            retrain=retrain_gate,
            dead_letters=notifications.dead_letters,
        )
        if monitoring_pipeline is not None and monitoring_pipeline.quality_enabled
        else None
    )
    budget = (
        CostBudget(
            context.name("budget"),
            context,
            config.budget,
            notifications.topic,
            depends_on=[notifications.topic_policy],
        )
        if config.budget.enabled
        else None
    )
    dashboard = (
        StackDashboard(
            context.name("dashboard"),
            context,
            DashboardSources(
                monitoring_settings=config.monitoring,
                serving_settings=config.serving,
                endpoint=serving,
                monitoring_pipeline=monitoring_pipeline,
                pipeline_names=tuple(
                    p.pipeline_name for p in (pipeline, monitoring_pipeline) if p is not None
                ),
            ),
        )
        if config.monitoring.dashboard
        else None
    )
    delivery = build_github_dispatch(context, registry, storage, notifications.dead_letters)
    # Last: the dead-letter queue's policy names every source wired above.
    notifications.dead_letters.attach_policy()
    return Platform(
        context=context,
        network=network,
        storage=storage,
        roles=roles,
        notifications=notifications,
        image=image,
        serving=serving,
        feature_store=feature_store,
        registry=registry,
        pipeline=pipeline,
        monitoring=monitoring,
        monitoring_pipeline=monitoring_pipeline,
        quality_alarms=quality_alarms,
        kubernetes=build_kubernetes_serving(context, image),
        delivery=delivery,
        budget=budget,
        dashboard=dashboard,
    )
