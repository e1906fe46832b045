"""Training and monitoring runs in the cost estimate: at the configured cadence, and on alarms.

Retraining cadence is a decision: data may land every hour, and every scheduled
run on new data trains, so a scheduled run is priced as a full training run
(its cache-hit cost on unchanged data is stated beside it). Runs that drift and
quality alarms start are priced on a stated number a month, with the ceiling the
retrain gate's cool-down allows.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from infra.plan import prices
from infra.plan.cost_item import CostItem

if TYPE_CHECKING:
    from infra.plan.engine import Plan

LAMBDA_FUNCTION = "aws:lambda/function:Function"


def schedule_items(address: str, resource: dict[str, Any], plan: Plan, *_: Any) -> list[CostItem]:
    """A schedule's runs a month, each priced as the pipeline it starts bills."""
    inputs = resource["inputs"]
    if str(inputs.get("state", "ENABLED")).upper() == "DISABLED":
        return [CostItem(address, "SageMaker jobs", "schedule disabled", 0.0)]
    runs, assumed = runs_per_month(str(inputs.get("scheduleExpression", "")))
    target = str((inputs.get("target") or {}).get("arn", ""))
    kind = "other"
    if ":pipeline/" in target:
        kind = "monitoring" if target.endswith("-monitoring") else "pipeline"
    instance = plan.config.pipeline.processing_instance_type
    price = prices.INSTANCE_HOUR.get(instance)
    minutes = prices.JOB_MINUTES[kind]
    basis = f"{runs:g} runs x {minutes} min on {instance}"
    note = f"assumes {minutes} instance-minutes per run" + (f"; {assumed}" if assumed else "")
    if kind == "pipeline":
        hit = prices.JOB_MINUTES["cache hit"]
        note += (
            f"; every scheduled run priced as a full run on new data; on unchanged data a run "
            f"is a cache hit of {hit} min (${monthly_at(runs, hit, price)} a month at this cadence)"
        )
    if price is None:
        return [CostItem(address, "SageMaker jobs", basis, None, f"no list price for {instance}")]
    return [CostItem(address, "SageMaker jobs", basis, round(runs * minutes / 60 * price, 2), note)]


def runs_per_month(expression: str) -> tuple[float, str]:
    """Runs a month of an EventBridge expression, and any assumption made reading it."""
    rate = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", expression.strip())
    if rate:
        minutes = int(rate.group(1)) * {"minute": 1, "hour": 60, "day": 1440}[rate.group(2)]
        return prices.HOURS_PER_MONTH * 60 / minutes, ""
    cron = re.fullmatch(r"cron\((\S+) (\S+) .+\)", expression.strip())
    if cron and cron.group(2) == "*":
        return float(prices.HOURS_PER_MONTH), ""
    if cron and cron.group(1).isdigit() and cron.group(2).isdigit():
        return 30.0, ""
    return float(prices.HOURS_PER_MONTH), f"'{expression}' read as hourly"


def alarm_started_training(plan: Plan) -> list[CostItem]:
    """Training runs the retrain gate starts on drift and quality alarms, within its cool-down."""
    config = plan.config
    gate = config.resource_name("retrain-gate")
    planned = any(f["inputs"].get("name") == gate for f in plan.of_type(LAMBDA_FUNCTION))
    # The gate comes with the endpoint's monitoring (infra/platform.py): price it before the pin.
    configured = (
        config.monitoring.retrain_on_alarm
        and config.serving.enabled
        and config.serving.data_capture.enabled
    )
    if not (planned or configured):
        return []
    cooldown = config.monitoring.retrain_cooldown_minutes
    ceiling = int(prices.HOURS_PER_MONTH * 60 // cooldown)
    runs = min(prices.ALARM_STARTED_RUNS, ceiling)
    instance = config.pipeline.processing_instance_type
    minutes = prices.JOB_MINUTES["pipeline"]
    basis = f"{runs:g} alarm-started runs x {minutes} min on {instance}"
    price = prices.INSTANCE_HOUR.get(instance)
    most = monthly_at(ceiling, minutes, price)
    note = (
        f"assumes {runs} alarm-started runs a month of {minutes} instance-minutes; the "
        f"{cooldown}-minute cool-down allows at most {ceiling} (${most})"
    )
    if not planned:
        note += "; the gate is created with the first pin"
    cost = None if price is None else round(runs * minutes / 60 * price, 2)
    return [CostItem(f"{gate} (training it starts)", "SageMaker jobs", basis, cost, note)]


def monthly_at(runs: float, minutes: int, price: float | None) -> str:
    return "?" if price is None else f"{runs * minutes / 60 * price:,.2f}"
