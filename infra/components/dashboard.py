"""The stack's CloudWatch dashboard: serving, rollout, drift, quality, pipelines and unit cost.

One place an operator opens first. Every metric comes from a ``metric_*`` method
of the component that emits it (``endpoint.metric_latency_p99()``,
``monitoring_pipeline.metric_drift()`` and ``metric_quality()``,
``training.metric_executions()``), so a widget never misses a dimension; drift
and quality show where the monitoring pipeline publishes them. The
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
from infra.components.metric import HOUR, Metric
from infra.components.monitoring_pipeline import MonitoringPipeline
from infra.components.pipeline import TrainingPipeline
from infra.components.serving import PRIMARY_VARIANT, SHADOW_VARIANT, ModelEndpoint
from infra.config import Monitoring as MonitoringSettings
from infra.config import Serving
from infra.plan.prices import INSTANCE_HOUR, SERVERLESS_GB_SECOND
from ml.schema import FEATURE_COLUMNS
from pipelines import metrics

QUALITY_METRICS = (metrics.PRECISION, metrics.RECALL, metrics.PR_AUC, metrics.RECALL_GAP)
PIPELINE_METRICS = ("ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed")
WIDTH, HEIGHT = 12, 6


@dataclass(frozen=True)
class StackDashboardArgs:
    """What the dashboard shows: whichever of these the stack has."""

    monitoring_settings: MonitoringSettings
    serving_settings: Serving
    training: TrainingPipeline
    endpoint: ModelEndpoint | None = None
    monitoring_pipeline: MonitoringPipeline | None = None


class StackDashboard(pulumi.ComponentResource):
    """``<prefix>-<env>-overview``: one dashboard per stack."""

    dashboard: aws.cloudwatch.Dashboard

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: StackDashboardArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:monitoring:StackDashboard", name, None, opts)
        widgets = dashboard_widgets(context, args)
        dashboard_name = context.name("overview")
        self.dashboard = aws.cloudwatch.Dashboard(
            dashboard_name,
            dashboard_name=dashboard_name,
            dashboard_body=pulumi.Output.json_dumps({"widgets": laid_out(widgets)}),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"dashboardName": self.dashboard.dashboard_name})


def dashboard_widgets(context: StackContext, args: StackDashboardArgs) -> list[dict[str, Any]]:
    """The widgets in reading order: is it serving, is it right, what does it cost."""
    region = context.region
    widgets: list[dict[str, Any]] = []
    endpoint, monitoring = args.endpoint, args.monitoring_pipeline
    if endpoint is not None:
        widgets += [
            metric_widget("Invocations", [endpoint.metric_invocations()], region),
            metric_widget(
                "Model latency p99 (microseconds)",
                [endpoint.metric_latency_p99(new_fleet_only=False)],
                region,
            ),
            metric_widget(
                "Errors (5xx), whole endpoint", [endpoint.metric_5xx(new_fleet_only=False)], region
            ),
            _rollout_widget(endpoint, region),
        ]
        if monitoring is not None:
            widgets += [
                _drift_widget(args.monitoring_settings, monitoring, region),
                _feature_drift_widget(monitoring, region),
            ]
        if endpoint.shadow_model is not None:
            widgets.append(_shadow_widget(endpoint, region))
        widgets.append(_unit_cost_widget(endpoint, args.serving_settings, region))
    if monitoring is not None and monitoring.quality_enabled:
        widgets.append(
            metric_widget(
                "Model quality on labelled traffic",
                [monitoring.metric_quality(name) for name in QUALITY_METRICS],
                region,
                period=HOUR,
            )
        )
    for pipeline in (args.training, monitoring):
        if pipeline is not None:
            widgets.append(
                metric_widget(
                    f"Pipeline runs: {pipeline.pipeline_name}",
                    [pipeline.metric_executions(metric) for metric in PIPELINE_METRICS],
                    region,
                    period=HOUR,
                )
            )
    return widgets


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
    settings: MonitoringSettings, monitoring: MonitoringPipeline, region: str
) -> dict[str, Any]:
    """The drift alarms' metric, with their warn and alarm levels drawn in."""
    widget = metric_widget(
        "Drift: largest feature PSI", [monitoring.metric_drift()], region, period=HOUR
    )
    widget["properties"]["annotations"] = {
        "horizontal": [
            {"label": "warn", "value": settings.psi_warn},
            {"label": "alarm", "value": settings.psi_alarm},
        ]
    }
    return widget


def _feature_drift_widget(monitoring: MonitoringPipeline, region: str) -> dict[str, Any]:
    """PSI of every model feature, as the publisher writes it (``Feature`` dimension)."""
    per_feature = [monitoring.metric_drift(metrics.FEATURE_PSI, feature=f) for f in FEATURE_COLUMNS]
    return metric_widget("Drift per feature (PSI)", per_feature, region, period=HOUR)


def _shadow_widget(endpoint: ModelEndpoint, region: str) -> dict[str, Any]:
    both = [
        metric
        for variant in (PRIMARY_VARIANT, SHADOW_VARIANT)
        for metric in (
            endpoint.metric_invocations(variant),
            endpoint.metric_model_latency("p99", variant),
        )
    ]
    return metric_widget("Shadow vs primary: invocations and latency p99", both, region)


def _unit_cost_widget(endpoint: ModelEndpoint, settings: Serving, region: str) -> dict[str, Any]:
    """USD per 1,000 predictions at list prices, per hour of traffic."""
    invocations = endpoint.metric_invocations()
    rows: list[list[Any]] = [_row(invocations, {"id": "inv", "visible": False})]
    if settings.serverless is not None:
        memory_gb = settings.serverless.memory_size_mb / 1024
        latency = endpoint.metric_model_latency("Average")
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


def _row(metric: Metric, options: dict[str, Any] | None = None) -> list[Any]:
    dimensions = [part for key, value in metric.dimensions.items() for part in (key, value)]
    stat = metric.extended_statistic or metric.statistic or "Average"
    return [metric.namespace, metric.metric_name, *dimensions, {"stat": stat, **(options or {})}]


def metric_widget(
    title: str, shown: list[Metric], region: str, *, period: int = 60
) -> dict[str, Any]:
    """A time-series widget; each metric keeps its own statistic and dimensions."""
    return {
        "type": "metric",
        "width": WIDTH,
        "height": HEIGHT,
        "properties": {
            "title": title,
            "metrics": [_row(metric) for metric in shown],
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
