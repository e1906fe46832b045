"""Autoscaling of the endpoint's primary variant on invocations per instance.

Scale-in during a deployment is not a risk to manage here: SageMaker blocks
autoscaling actions while an endpoint update is in progress, so the fleet
SageMaker is shifting traffic to keeps its size until the rollout ends. Target
tracking resumes afterwards, with a scale-in cooldown so one quiet minute does
not shrink the fleet. A deployment resets the variant to its configured
``instanceCount`` (which is at least ``minCapacity``); scaling then adjusts it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext
from infra.config import Autoscaling

SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
PREDEFINED_METRIC = "SageMakerVariantInvocationsPerInstance"


@dataclass
class VariantScaling:
    """The scalable target and its target-tracking policy."""

    target: aws.appautoscaling.Target
    policy: aws.appautoscaling.Policy


def scale_variant(
    context: StackContext,
    endpoint: aws.sagemaker.Endpoint,
    variant_name: str,
    settings: Autoscaling,
    parent: pulumi.Resource,
) -> VariantScaling:
    """Register ``endpoint/<name>/variant/<variant>`` and track invocations per instance."""
    resource_id = pulumi.Output.concat("endpoint/", endpoint.name, "/variant/", variant_name)
    target = aws.appautoscaling.Target(
        context.name("endpoint", "scaling"),
        service_namespace="sagemaker",
        scalable_dimension=SCALABLE_DIMENSION,
        resource_id=resource_id,
        min_capacity=settings.min_capacity,
        max_capacity=settings.max_capacity,
        tags=context.tags("serving"),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[endpoint]),
    )
    policy = aws.appautoscaling.Policy(
        context.name("endpoint", "invocations-per-instance"),
        name=context.name("endpoint", "invocations-per-instance"),
        policy_type="TargetTrackingScaling",
        service_namespace=target.service_namespace,
        scalable_dimension=target.scalable_dimension,
        resource_id=target.resource_id,
        target_tracking_scaling_policy_configuration={
            "target_value": float(settings.target_invocations_per_instance),
            "predefined_metric_specification": {"predefined_metric_type": PREDEFINED_METRIC},
            "scale_in_cooldown": settings.scale_in_cooldown_seconds,
            "scale_out_cooldown": settings.scale_out_cooldown_seconds,
            "disable_scale_in": False,
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return VariantScaling(target=target, policy=policy)
