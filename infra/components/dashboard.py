"""The stack's CloudWatch dashboard: serving, rollout, drift, quality, pipelines and unit cost.

One place an operator opens first. Every metric comes from the component that
emits it (``endpoint.metric_latency_p99()``, ``monitoring.metric_quality()``,
the drift publisher's dimensions), so a widget never misses a dimension. The
cost of 1,000 predictions is metric math on the invocations: the list price of
the provisioned instances (``infra/plan/prices.py``) over an hour's traffic, or
for a serverless endpoint the billed GB-seconds of an average invocation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext
from infra.components.monitoring import DRIFT_NAMESPACE, HOUR, PIPELINE_NAMESPACE, DriftMonitoring
from infra.components.monitoring_pipeline import MonitoringPipeline
from infra.components.serving import PRIMARY_VARIANT, SHADOW_VARIANT, ModelEndpoint
from infra.components.serving_alarms import EndpointMetric
from infra.config import Monitoring as MonitoringSettings
from infra.config import Serving
from infra.plan.prices import INSTANCE_HOUR, SERVERLESS_GB_SECOND
from ml.schema import FEATURE_COLUMNS

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
QUALITY_METRICS = ("Precision", "Recall", "PrAuc", "RecallGap")
PIPELINE_METRICS = ("ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed")
WIDTH, HEIGHT = 12, 6


@dataclass(frozen=True)
class DashboardSources:
    """What the dashboard shows: whichever of these the stack has."""

    monitoring_settings: MonitoringSettings
    serving_settings: Serving
    endpoint: ModelEndpoint | None
    monitoring_pipeline: MonitoringPipeline | None
    pipeline_names: tuple[str, ...]


class StackDashboard(pulumi.ComponentResource):
    """``<prefix>-<env>-overview``: one dashboard per stack."""

    dashboard: aws.cloudwatch.Dashboard

    def __init__(
        self,
        name: str,
        context: StackContext,
        sources: DashboardSources,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:monitoring:StackDashboard", name, None, opts)
        widgets = dashboard_widgets(context, sources)
        dashboard_name = context.name("overview")
        self.dashboard = aws.cloudwatch.Dashboard(
            dashboard_name,
            dashboard_name=dashboard_name,
            dashboard_body=pulumi.Output.json_dumps({"widgets": laid_out(widgets)}),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"dashboardName": self.dashboard.dashboard_name})


def dashboard_widgets(context: StackContext, sources: DashboardSources) -> list[dict[str, Any]]:
    """The widgets in reading order: is it serving, is it right, what does it cost."""
    region = context.region
    widgets: list[dict[str, Any]] = []
    endpoint = sources.endpoint
    if endpoint is not None:
        widgets += [
            metric_widget(
                "Invocations",
                [_variant_metric(endpoint, PRIMARY_VARIANT, "Invocations", "Sum")],
                region,
            ),
            metric_widget(
                "Model latency p99 (microseconds)",
                [endpoint.metric_latency_p99(new_fleet_only=False)],
                region,
            ),
            metric_widget(
                "Errors (5xx), whole endpoint", [endpoint.metric_5xx(new_fleet_only=False)], region
            ),
            _rollout_widget(endpoint, region),
            _drift_widget(context, sources.monitoring_settings, endpoint.endpoint_name),
            _feature_drift_widget(context, endpoint.endpoint_name),
        ]
        if endpoint.shadow_model is not None:
            widgets.append(_shadow_widget(endpoint, region))
        widgets.append(_unit_cost_widget(endpoint, sources.serving_settings, region))
    if sources.monitoring_pipeline is not None and sources.monitoring_pipeline.quality_enabled:
        quality = sources.monitoring_pipeline
        widgets.append(
            metric_widget(
                "Model quality on labelled traffic",
                [quality.metric_quality(name) for name in QUALITY_METRICS],
                region,
                period=HOUR,
            )
        )
    for pipeline_name in sources.pipeline_names:
        widgets.append(
            metric_widget(
                f"Pipeline runs: {pipeline_name}",
                [
                    EndpointMetric(
                        PIPELINE_NAMESPACE, metric, {"PipelineName": pipeline_name}, statistic="Sum"
                    )
                    for metric in PIPELINE_METRICS
                ],
                region,
                period=HOUR,
            )
        )
    return widgets


def _variant_metric(
    endpoint: ModelEndpoint, variant: str, metric: str, statistic: str
) -> EndpointMetric:
    dimensions = {"EndpointName": endpoint.endpoint_name, "VariantName": variant}
    if statistic.startswith("p"):
        return EndpointMetric(SAGEMAKER_NAMESPACE, metric, dimensions, extended_statistic=statistic)
    return EndpointMetric(SAGEMAKER_NAMESPACE, metric, dimensions, statistic=statistic)


def _rollout_widget(endpoint: ModelEndpoint, region: str) -> dict[str, Any]:
    """The rollback alarms' states: during a rollout, the new fleet's health at a glance."""
    return {
        "type": "alarm",
        "width": WIDTH,
        "height": HEIGHT,
        "properties": {
            "title": "Rollout: rollback alarms of the new fleet",
            "alarms": endpoint.rollback_alarms.arns,
            "region": region,
        },
    }


def _drift_widget(
    context: StackContext, settings: MonitoringSettings, endpoint_name: str
) -> dict[str, Any]:
    metric = EndpointMetric(
        DRIFT_NAMESPACE,
        "MaxPSI",
        DriftMonitoring.drift_dimensions(context.config.environment.value, endpoint_name),
        statistic="Maximum",
    )
    widget = metric_widget("Drift: largest feature PSI", [metric], context.region, period=HOUR)
    widget["properties"]["annotations"] = {
        "horizontal": [
            {"label": "warn", "value": settings.psi_warn},
            {"label": "alarm", "value": settings.psi_alarm},
        ]
    }
    return widget


def _feature_drift_widget(context: StackContext, endpoint_name: str) -> dict[str, Any]:
    """PSI of every model feature, as the publisher writes it (``Feature`` dimension)."""
    base = DriftMonitoring.drift_dimensions(context.config.environment.value, endpoint_name)
    metrics = [
        EndpointMetric(DRIFT_NAMESPACE, "FeaturePSI", {**base, "Feature": f}, statistic="Maximum")
        for f in FEATURE_COLUMNS
    ]
    return metric_widget("Drift per feature (PSI)", metrics, context.region, period=HOUR)


def _shadow_widget(endpoint: ModelEndpoint, region: str) -> dict[str, Any]:
    metrics = [
        _variant_metric(endpoint, variant, metric, statistic)
        for variant in (PRIMARY_VARIANT, SHADOW_VARIANT)
        for metric, statistic in (("Invocations", "Sum"), ("ModelLatency", "p99"))
    ]
    return metric_widget("Shadow vs primary: invocations and latency p99", metrics, region)


def _unit_cost_widget(endpoint: ModelEndpoint, settings: Serving, region: str) -> dict[str, Any]:
    """USD per 1,000 predictions at list prices, per hour of traffic."""
    invocations = _variant_metric(endpoint, PRIMARY_VARIANT, "Invocations", "Sum")
    rows: list[list[Any]] = [_row(invocations, {"id": "inv", "visible": False})]
    if settings.serverless is not None:
        memory_gb = settings.serverless.memory_size_mb / 1024
        latency = _variant_metric(endpoint, PRIMARY_VARIANT, "ModelLatency", "Average")
        rows.append(_row(latency, {"id": "lat", "visible": False}))
        # Billed: memory x duration of each invocation (ModelLatency is in microseconds).
        expression = f"1000 * (lat / 1000000) * {memory_gb:g} * {SERVERLESS_GB_SECOND}"
        label = f"USD per 1,000 predictions (serverless, {memory_gb:g} GB)"
    else:
        hourly = INSTANCE_HOUR.get(settings.instance_type)
        if hourly is None:
            return _text_widget(
                "Cost per 1,000 predictions",
                f"No list price for {settings.instance_type} in infra/plan/prices.py.",
            )
        cost = hourly * settings.instance_count
        expression = f"{cost:g} / (inv / 1000)"
        label = (
            f"USD per 1,000 predictions ({settings.instance_count} x "
            f"{settings.instance_type} at ${hourly:g}/h)"
        )
    rows.append([{"expression": expression, "label": label, "id": "cost"}])
    return {
        "type": "metric",
        "width": WIDTH,
        "height": HEIGHT,
        "properties": {
            "title": "Cost per 1,000 predictions (list price)",
            "metrics": rows,
            "region": region,
            "period": HOUR,
            "view": "timeSeries",
        },
    }


def _text_widget(title: str, markdown: str) -> dict[str, Any]:
    return {
        "type": "text",
        "width": WIDTH,
        "height": HEIGHT,
        "properties": {"markdown": f"### {title}\n{markdown}"},
    }


def _row(metric: EndpointMetric, options: dict[str, Any] | None = None) -> list[Any]:
    dimensions = [part for key, value in metric.dimensions.items() for part in (key, value)]
    stat = metric.extended_statistic or metric.statistic or "Average"
    return [metric.namespace, metric.metric_name, *dimensions, {"stat": stat, **(options or {})}]


def metric_widget(
    title: str, metrics: list[EndpointMetric], region: str, *, period: int = 60
) -> dict[str, Any]:
    """A time-series widget; each metric keeps its own statistic and dimensions."""
    return {
        "type": "metric",
        "width": WIDTH,
        "height": HEIGHT,
        "properties": {
            "title": title,
            "metrics": [_row(metric) for metric in metrics],
            "region": region,
            "period": period,
            "view": "timeSeries",
        },
    }


def laid_out(widgets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two widgets a row, in order."""
    for index, widget in enumerate(widgets):
        widget["x"], widget["y"] = (index % 2) * WIDTH, (index // 2) * HEIGHT
    return widgets
