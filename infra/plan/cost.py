"""``mlops cost``: a monthly estimate of a stack, item by item, from its offline plan.

List prices are us-east-1 on-demand (``prices.py``); usage that the plan
cannot know (stored GB, requests, job minutes) is an assumption written next
to the item it prices. Free tiers are ignored, so the estimate errs high.
Resources without a recurring charge are not listed.

Two items come from the config rather than from a resource, because the
stack pays for them although the plan cannot show them yet: hosting, while no
model is pinned (the endpoint is created with the first pin; priced as
configured and labelled so), and training runs started by drift and quality
alarms (as many as the retrain gate's cool-down lets through, priced on a
stated number). Scheduled training is priced at the schedule's cadence, every
run as a full run: data may land every period, and each run on new data trains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from infra.plan import prices
from infra.plan.cost_item import CostItem
from infra.plan.cost_serving import configured_hosting, endpoint_items
from infra.plan.cost_training import (
    LAMBDA_FUNCTION,
    alarm_started_training,
    runs_per_month,
    schedule_items,
)
from infra.plan.tfplan import resource_addresses

if TYPE_CHECKING:
    from infra.plan.engine import Plan


@dataclass
class CostEstimate:
    """A stack's monthly estimate; items with no list price are kept and named."""

    stack: str
    items: list[CostItem] = field(default_factory=list)

    @property
    def total(self) -> float:
        return round(sum(item.monthly_usd or 0.0 for item in self.items), 2)

    @property
    def unpriced(self) -> list[CostItem]:
        return [item for item in self.items if item.monthly_usd is None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "currency": "USD",
            "region": "us-east-1 list prices",
            "totalMonthly": self.total,
            "items": [asdict(item) for item in self.items],
        }


def estimate_cost(plan: Plan) -> CostEstimate:
    """Price every resource of ``plan`` that has a recurring charge."""
    estimate = CostEstimate(stack=plan.stack)
    addresses = resource_addresses(plan)
    endpoint_configs = {
        _identity(config): config
        for config in plan.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    }
    for resource in plan.resources:
        if not resource["custom"]:
            continue
        address = addresses.get(resource["urn"], resource["name"])
        pricer = PRICERS.get(resource["type"])
        if pricer is not None:
            estimate.items.extend(pricer(address, resource, plan, endpoint_configs))
    estimate.items.extend(configured_hosting(plan))
    estimate.items.extend(alarm_started_training(plan))
    estimate.items.extend(_custom_metrics(plan))
    return estimate


Pricer = Callable[..., list[CostItem]]  # (address, resource, plan, endpoint configs)
__all__ = ["PRICERS", "CostEstimate", "CostItem", "estimate_cost", "runs_per_month"]


def _kms_key(address: str, resource: dict[str, Any], *_: Any) -> list[CostItem]:
    return [
        CostItem(
            address,
            "KMS",
            "1 customer managed key",
            prices.KMS_KEY_MONTH,
            "requests not counted: bucket keys keep them within the free tier",
        )
    ]


def _bucket(address: str, resource: dict[str, Any], *_: Any) -> list[CostItem]:
    purpose = next((p for p in prices.BUCKET_GB if resource["name"].endswith(f"-{p}")), "")
    gb = prices.BUCKET_GB.get(purpose, prices.DEFAULT_BUCKET_GB)
    return [
        CostItem(
            address,
            "S3",
            f"{gb} GB Standard",
            round(gb * prices.S3_STANDARD_GB_MONTH, 2),
            f"assumes {gb} GB stored; requests and transfer not counted",
        )
    ]


def _metric_alarm(address: str, resource: dict[str, Any], *_: Any) -> list[CostItem]:
    inputs = resource["inputs"]
    queries = inputs.get("metricQueries") or []
    metrics = sum(1 for query in queries if query.get("metric")) or 1
    high_resolution = 0 < int(inputs.get("period", 60) or 60) < 60
    unit = prices.ALARM_HIGH_RESOLUTION_MONTH if high_resolution else prices.ALARM_METRIC_MONTH
    basis = f"{metrics} metric(s), {'high' if high_resolution else 'standard'} resolution"
    return [CostItem(address, "CloudWatch alarms", basis, round(metrics * unit, 2))]


def _composite_alarm(address: str, *_: Any) -> list[CostItem]:
    return [CostItem(address, "CloudWatch alarms", "composite alarm", prices.COMPOSITE_ALARM_MONTH)]


def _dashboard(address: str, *_: Any) -> list[CostItem]:
    return [
        CostItem(
            address,
            "CloudWatch dashboards",
            "1 dashboard",
            prices.DASHBOARD_MONTH,
            "the 3 free dashboards per account are not subtracted",
        )
    ]


def _log_group(address: str, *_: Any) -> list[CostItem]:
    cost = prices.LOG_GROUP_GB * (prices.LOGS_INGESTED_GB + prices.LOGS_STORED_GB_MONTH)
    return [
        CostItem(
            address,
            "CloudWatch Logs",
            f"{prices.LOG_GROUP_GB} GB ingested and stored",
            round(cost, 2),
            f"assumes {prices.LOG_GROUP_GB} GB of logs a month",
        )
    ]


def _feature_group(address: str, resource: dict[str, Any], *_: Any) -> list[CostItem]:
    online = (resource["inputs"].get("onlineStoreConfig") or {}).get("enableOnlineStore")
    if not online:
        return [
            CostItem(
                address,
                "SageMaker Feature Store",
                "offline store only",
                0.0,
                "the offline store is priced with the bucket that holds it",
            )
        ]
    writes, reads = prices.FEATURE_STORE_MILLIONS
    cost = (
        writes * prices.FEATURE_STORE_WRITE_MILLION
        + reads * prices.FEATURE_STORE_READ_MILLION
        + prices.FEATURE_STORE_ONLINE_GB * prices.FEATURE_STORE_GB_MONTH
    )
    return [
        CostItem(
            address,
            "SageMaker Feature Store",
            "online store",
            round(cost, 2),
            "assumes 1M writes, 1M reads and 1 GB online a month",
        )
    ]


def _ecr_repository(address: str, *_: Any) -> list[CostItem]:
    return [
        CostItem(
            address,
            "ECR",
            f"{prices.ECR_GB} GB of images",
            round(prices.ECR_GB * prices.ECR_GB_MONTH, 2),
            f"assumes {prices.ECR_GB} GB stored: the kept project images share their "
            "dependency layers, so each build adds little more than the step code; "
            "transfer to SageMaker in the region is free",
        )
    ]


def _topic(address: str, *_: Any) -> list[CostItem]:
    cost = round(prices.SNS_PUBLISHES / 1e6 * prices.SNS_PUBLISH_MILLION, 2)
    return [
        CostItem(
            address,
            "SNS",
            f"{prices.SNS_PUBLISHES:,} publishes",
            cost,
            f"assumes {prices.SNS_PUBLISHES:,} alarm and event messages a month",
        )
    ]


def _queue(address: str, resource: dict[str, Any], *_: Any) -> list[CostItem]:
    if str(resource["inputs"].get("name", resource["name"])).endswith("-dead-letters"):
        cost = round(prices.DEAD_LETTER_REQUESTS / 1e6 * prices.SQS_REQUEST_MILLION, 2)
        return [
            CostItem(
                address,
                "SQS",
                f"dead-letter queue, {prices.DEAD_LETTER_REQUESTS:,} requests",
                cost,
                f"assumes {prices.DEAD_LETTER_REQUESTS:,} requests a month: only failed "
                "deliveries land here; its alarm reads CloudWatch's free SQS metrics",
            )
        ]
    cost = round(prices.SQS_REQUESTS / 1e6 * prices.SQS_REQUEST_MILLION, 2)
    return [
        CostItem(
            address,
            "SQS",
            f"{prices.SQS_REQUESTS:,} requests",
            cost,
            f"assumes {prices.SQS_REQUESTS:,} requests a month (long polling)",
        )
    ]


def _subscription(address: str, resource: dict[str, Any], *_: Any) -> list[CostItem]:
    protocol = str(resource["inputs"].get("protocol", ""))
    deliveries = prices.SUBSCRIPTION_DELIVERIES
    per_delivery = {
        "email": prices.SNS_EMAIL_100K / 100_000,
        "https": prices.SNS_HTTPS_MILLION / 1e6,
    }.get(protocol)
    basis = f"{deliveries:,} {protocol} notifications"
    if per_delivery is None:
        return [CostItem(address, "SNS", basis, None, f"no list price for protocol {protocol}")]
    return [
        CostItem(
            address,
            "SNS",
            basis,
            round(deliveries * per_delivery, 2),
            f"assumes {deliveries:,} alarm and event messages a month to this subscriber; "
            "the free tier is not subtracted",
        )
    ]


def _function(address: str, resource: dict[str, Any], *_: Any) -> list[CostItem]:
    gb = float(resource["inputs"].get("memorySize", 128)) / 1024
    calls = prices.GATE_INVOCATIONS
    cost = calls / 1e6 * prices.LAMBDA_REQUEST_MILLION + (
        calls * prices.GATE_SECONDS * gb * prices.LAMBDA_GB_SECOND
    )
    return [
        CostItem(
            address,
            "Lambda",
            f"{calls:,} invocations x {prices.GATE_SECONDS:g} s at {gb * 1024:g} MB",
            round(cost, 2),
            f"assumes {calls:,} invocations a month of {prices.GATE_SECONDS:g} s each; "
            "the free tier is not subtracted",
        )
    ]


def _budget(address: str, *_: Any) -> list[CostItem]:
    return [
        CostItem(
            address,
            "AWS Budgets",
            "1 budget without actions",
            round(prices.BUDGET_DAY * prices.DAYS_PER_MONTH, 2),
            "priced as a budget beyond the account's two free ones; notifications cost nothing",
        )
    ]


def _custom_metrics(plan: Plan) -> list[CostItem]:
    """The project's own metrics that alarms watch (namespaces outside AWS/)."""
    metrics: set[tuple[str, str, str]] = set()
    for alarm in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        inputs = alarm["inputs"]
        shapes = [inputs] + [q.get("metric") or {} for q in inputs.get("metricQueries") or []]
        for shape in shapes:
            namespace = str(shape.get("namespace", ""))
            if namespace and not namespace.startswith("AWS/"):
                dimensions = repr(sorted((shape.get("dimensions") or {}).items()))
                metrics.add((namespace, str(shape.get("metricName", "")), dimensions))
    if not metrics:
        return []
    return [
        CostItem(
            "custom metrics",
            "CloudWatch metrics",
            f"{len(metrics)} custom metric(s)",
            round(len(metrics) * prices.CUSTOM_METRIC_MONTH, 2),
            "counts the custom metrics alarms watch; others published are extra",
        )
    ]


def _identity(resource: dict[str, Any]) -> str:
    outputs = resource.get("outputs") or {}
    return str(resource["inputs"].get("name") or outputs.get("name") or outputs.get("id"))


PRICERS: dict[str, Pricer] = {
    "aws:kms/key:Key": _kms_key,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:sagemaker/endpoint:Endpoint": endpoint_items,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _metric_alarm,
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": _composite_alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:sagemaker/featureGroup:FeatureGroup": _feature_group,
    "aws:ecr/repository:Repository": _ecr_repository,
    "aws:scheduler/schedule:Schedule": schedule_items,
    "aws:sns/topic:Topic": _topic,
    "aws:sqs/queue:Queue": _queue,
    "aws:sns/topicSubscription:TopicSubscription": _subscription,
    "aws:budgets/budget:Budget": _budget,
    LAMBDA_FUNCTION: _function,
}
