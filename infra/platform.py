"""The one place that knows every component and wires them together."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.components.context import StackContext
from infra.components.iam import PlatformRoles
from infra.components.notifications import Notifications
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
    serving: ModelEndpoint | None = None

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
            **serving_outputs(self.context.config.serving, self.serving),
        }


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
    storage.grant_read(roles.pipeline_role, storage.artifacts, "code/")
    notifications = Notifications(
        context.name("notifications"), context, storage, email=config.monitoring.alarm_email
    )
    serving = build_model_endpoint(context, ModelEndpointArgs(
        settings=config.serving, roles=roles, storage=storage,
        topic=notifications.topic, network=network,
    ))
    return Platform(
        context=context,
        network=network,
        storage=storage,
        roles=roles,
        notifications=notifications,
        serving=serving,
    )
