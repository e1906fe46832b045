"""The one place that knows every component and wires them together."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.budget import CostBudget, CostBudgetArgs
from infra.components.context import StackContext
from infra.components.dashboard import StackDashboard, StackDashboardArgs
from infra.components.delivery import GitHubDispatch, build_github_dispatch
from infra.components.drift_alarms import DriftAlarms, DriftAlarmsArgs
from infra.components.feature_store import FeatureStore, FeatureStoreArgs
from infra.components.iam import PlatformRoles, PlatformRolesArgs
from infra.components.image import ProjectImage, ProjectImageArgs
from infra.components.kubernetes import KubernetesServing, build_kubernetes_serving
from infra.components.monitoring_health import MonitoringHealth, MonitoringHealthArgs
from infra.components.monitoring_pipeline import MonitoringPipeline, MonitoringPipelineArgs
from infra.components.notifications import Notifications, NotificationsArgs
from infra.components.pipeline import TrainingPipeline, TrainingPipelineArgs
from infra.components.pipeline_alarms import PipelineAlarms, PipelineAlarmsArgs
from infra.components.quality_alarms import QualityAlarms, QualityAlarmsArgs
from infra.components.registry import ModelRegistry, ModelRegistryArgs
from infra.components.release_policy import ReleasePolicy, ReleasePolicyArgs
from infra.components.retrain_gate import RetrainGate, RetrainGateArgs
from infra.components.serving import (
    ModelEndpoint,
    ModelEndpointArgs,
    build_model_endpoint,
    pin_command,
    serving_outputs,
)
from infra.components.storage import StackStorage, StackStorageArgs
from infra.config import StackConfig
from infra.network import NetworkIds, resolve_network


@dataclass
class Platform:
    """The stack's components, for outputs and for tests; optional ones are None when absent."""

    context: StackContext
    network: NetworkIds | None
    storage: StackStorage
    roles: PlatformRoles
    notifications: Notifications
    image: ProjectImage
    registry: ModelRegistry
    pipeline: TrainingPipeline
    pipeline_alarms: PipelineAlarms
    serving: ModelEndpoint | None = None
    feature_store: FeatureStore | None = None
    retrain_gate: RetrainGate | None = None
    monitoring_pipeline: MonitoringPipeline | None = None
    drift_alarms: DriftAlarms | None = None
    quality_alarms: QualityAlarms | None = None
    monitoring_health: MonitoringHealth | None = None
    kubernetes: KubernetesServing | None = None
    delivery: GitHubDispatch | None = None
    release_policy: ReleasePolicy | None = None
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
            **self._kubernetes_outputs(),
        }

    def _kubernetes_outputs(self) -> dict[str, pulumi.Input[object]]:
        """The namespace and the pods' role; or why the Kubernetes target serves nothing yet."""
        config = self.context.config
        if self.kubernetes is not None:
            return {
                "kubernetesNamespace": self.kubernetes.namespace.metadata["name"],
                "modelServerRoleArn": self.kubernetes.identity.role.arn,
            }
        if config.kubernetes.enabled:
            pin = pin_command(pulumi.get_stack())
            return {"kubernetesStatus": f"no model package pinned: run {pin}"}
        return {}

    def _training_outputs(self) -> dict[str, pulumi.Input[object]]:
        outputs: dict[str, pulumi.Input[object]] = {}
        if self.feature_store is not None:
            outputs["featureGroupName"] = self.feature_store.group_name
        outputs["modelPackageGroupName"] = self.registry.group_name
        outputs["trainingPipelineName"] = self.pipeline.pipeline_name
        if self.release_policy is not None:
            outputs["releasePolicyArn"] = self.release_policy.policy.arn
        if self.monitoring_pipeline is not None:
            outputs["monitoringPipelineName"] = self.monitoring_pipeline.pipeline_name
        if self.drift_alarms is not None:
            outputs["driftAlarmName"] = self.drift_alarms.alarm.name
        return outputs


def build_platform(config: StackConfig) -> Platform:
    """Create every component of one stack from its validated config.

    The order matters twice: a component exists before those that take it, and
    the dead-letter queue's policy lists its senders in the order they are wired.
    """
    context = StackContext.create(config)
    network = resolve_network(config.network)
    storage = StackStorage(context.name("storage"), context, StackStorageArgs(config.storage))
    roles = PlatformRoles(context.name("roles"), context, PlatformRolesArgs(network))
    _grant_execution_role(storage, roles.execution_role)
    image = ProjectImage(context.name("image"), context, ProjectImageArgs(storage, roles))
    image.grant_pull(roles.execution_role)
    notifications = _notifications(context, storage)
    serving = build_model_endpoint(
        context,
        ModelEndpointArgs(config.serving, roles, storage, notifications.topic, network),
    )
    feature_store = _feature_store(context, storage, roles)
    registry = ModelRegistry(
        context.name("registry"), context, ModelRegistryArgs(roles, notifications)
    )
    pipeline = TrainingPipeline(
        context.name("pipeline"),
        context,
        TrainingPipelineArgs(
            config.pipeline,
            storage,
            roles,
            registry,
            image,
            notifications.dead_letters,
            feature_store=feature_store,
            network=network,
        ),
    )
    platform = Platform(
        context,
        network,
        storage,
        roles,
        notifications,
        image,
        registry,
        pipeline,
        PipelineAlarms(
            context.name("pipeline-alarms"),
            context,
            PipelineAlarmsArgs(pipeline, notifications.topic),
        ),
        serving=serving,
        feature_store=feature_store,
    )
    _add_monitoring(platform)
    platform.budget = _budget(context, notifications)
    platform.dashboard = _dashboard(platform)
    platform.delivery = build_github_dispatch(
        context, registry, storage, notifications.dead_letters
    )
    platform.release_policy = ReleasePolicy(
        context.name("release"), context, ReleasePolicyArgs(storage, registry, image)
    )
    platform.kubernetes = build_kubernetes_serving(context, storage)
    # Last: the dead-letter queue's policy names every source wired above.
    notifications.dead_letters.attach_policy()
    return platform


def _grant_execution_role(storage: StackStorage, role: aws.iam.Role) -> None:
    """Jobs read and write data and artifacts, write drift reports, read captured traffic."""
    for bucket in (storage.data, storage.artifacts):
        storage.grant_read_write(role, bucket)
    storage.grant_read_write(role, storage.monitoring, "drift/")
    storage.grant_read(role, storage.monitoring, "data-capture/")


def _notifications(context: StackContext, storage: StackStorage) -> Notifications:
    monitoring = context.config.monitoring
    return Notifications(
        context.name("notifications"),
        context,
        NotificationsArgs(
            storage,
            emails=monitoring.alarm_emails,
            https_endpoints=monitoring.alarm_https_endpoints,
            budgets_publish=context.config.budget.enabled,
        ),
    )


def _feature_store(
    context: StackContext, storage: StackStorage, roles: PlatformRoles
) -> FeatureStore | None:
    settings = context.config.feature_store
    if not settings.enabled:
        return None
    return FeatureStore(
        context.name("feature-store"), context, FeatureStoreArgs(settings, storage, roles)
    )


def _add_monitoring(platform: Platform) -> None:
    """The monitoring pipeline, the drift and quality alarms on what it publishes, its health.

    All of it exists where an endpoint captures its traffic. The retrain gate,
    which only those alarms call, comes first: the dead-letter queue has always
    listed its role before the monitoring schedule's.
    """
    context, notifications, serving = platform.context, platform.notifications, platform.serving
    settings = context.config.monitoring
    if serving is None or not context.config.serving.data_capture.enabled:
        return
    gate = _retrain_gate(platform)
    monitoring = MonitoringPipeline(
        context.name("monitoring-pipeline"),
        context,
        MonitoringPipelineArgs(
            settings,
            context.config.pipeline,
            serving,
            platform.storage,
            platform.roles,
            platform.image,
            notifications.dead_letters,
            network=platform.network,
        ),
    )
    platform.retrain_gate, platform.monitoring_pipeline = gate, monitoring
    topic = notifications.topic
    platform.drift_alarms = DriftAlarms(
        context.name("drift-alarms"), context, DriftAlarmsArgs(settings, monitoring, topic, gate)
    )
    if monitoring.quality_enabled:
        platform.quality_alarms = QualityAlarms(
            context.name("quality-alarms"),
            context,
            QualityAlarmsArgs(settings.quality, monitoring, topic, gate),
        )
    platform.monitoring_health = MonitoringHealth(
        context.name("monitoring-health"),
        context,
        MonitoringHealthArgs(settings, monitoring, topic, notifications.dead_letters),
    )


def _retrain_gate(platform: Platform) -> RetrainGate | None:
    context = platform.context
    settings = context.config.monitoring
    if not settings.retrain_on_alarm:
        return None
    return RetrainGate(
        context.name("retrain-gate"),
        context,
        RetrainGateArgs(
            platform.pipeline,
            cooldown_minutes=settings.retrain_cooldown_minutes,
            key=platform.storage.key,
            dead_letters=platform.notifications.dead_letters,
            log_retention_days=settings.log_retention_days,
        ),
    )


def _budget(context: StackContext, notifications: Notifications) -> CostBudget | None:
    settings = context.config.budget
    if not settings.enabled:
        return None
    return CostBudget(context.name("budget"), context, CostBudgetArgs(settings, notifications))


def _dashboard(platform: Platform) -> StackDashboard | None:
    config = platform.context.config
    if not config.monitoring.dashboard:
        return None
    return StackDashboard(
        platform.context.name("dashboard"),
        platform.context,
        StackDashboardArgs(
            config.monitoring,
            config.serving,
            platform.pipeline,
            platform.serving,
            platform.monitoring_pipeline,
        ),
    )
