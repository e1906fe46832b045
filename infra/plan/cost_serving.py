"""Hosting in the cost estimate: the planned endpoint's variants, or the configured one.

A stack pays for its endpoint from the first pin on; before it, the plan has no
endpoint, so the configured instance type and count (or serverless memory) are
priced instead and labelled as such: hosting is most of what a serving stack costs.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from infra.plan import prices
from infra.plan.cost_item import CostItem

if TYPE_CHECKING:
    from infra.plan.engine import Plan


def endpoint_items(
    address: str, resource: dict[str, Any], plan: Plan, configs: dict[str, dict[str, Any]]
) -> list[CostItem]:
    config = configs.get(str(resource["inputs"].get("endpointConfigName", "")))
    if config is None:
        return [CostItem(address, "SageMaker hosting", "endpoint config not in the plan", None)]
    inputs = config["inputs"]
    variants = inputs.get("productionVariants", []) + inputs.get("shadowProductionVariants", [])
    return [variant_item(address, variant) for variant in variants]


def variant_item(address: str, variant: dict[str, Any]) -> CostItem:
    name = f"{address} ({variant.get('variantName', 'variant')})"
    serverless = variant.get("serverlessConfig")
    if serverless is not None:
        gb = float(serverless.get("memorySizeInMb", 2048)) / 1024
        cost = round(gb * prices.SERVERLESS_SECONDS * prices.SERVERLESS_GB_SECOND, 2)
        return CostItem(
            name,
            "SageMaker serverless",
            f"{gb:g} GB memory",
            cost,
            "assumes 100,000 invocations a month at 200 ms each",
        )
    instance = str(variant.get("instanceType", ""))
    count = int(variant.get("initialInstanceCount", 1))
    price = prices.INSTANCE_HOUR.get(instance)
    basis = f"{count} x {instance} x {prices.HOURS_PER_MONTH} h"
    if price is None:
        return CostItem(name, "SageMaker hosting", basis, None, f"no list price for {instance}")
    return CostItem(
        name,
        "SageMaker hosting",
        basis,
        round(count * price * prices.HOURS_PER_MONTH, 2),
        "always on at the initial instance count; autoscaling adds to it",
    )


def configured_hosting(plan: Plan) -> list[CostItem]:
    """The endpoint the stack will run once a model is pinned, priced as configured."""
    serving = plan.config.serving
    if not serving.enabled or plan.of_type("aws:sagemaker/endpoint:Endpoint"):
        return []
    variant: dict[str, Any] = {"variantName": "primary"}
    if serving.serverless is not None:
        variant["serverlessConfig"] = {"memorySizeInMb": serving.serverless.memory_size_mb}
    else:
        variant["instanceType"] = serving.instance_type
        variant["initialInstanceCount"] = serving.instance_count
    item = variant_item(f"{plan.config.resource_name('endpoint')} (configured)", variant)
    note = "no model pinned yet: priced as configured, created with the first pin"
    return [dataclasses.replace(item, assumption=f"{note}; {item.assumption}")]
