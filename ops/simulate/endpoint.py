"""The endpoint's fleets and its blue/green update, played from the planned deployment config.

moto has no ``UpdateEndpoint``, so the traffic shift is modelled here from the
plan's ``deploymentConfig`` as SageMaker documents it
(https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html,
https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green-canary.html):
the green fleet is provisioned; ``CANARY`` routes the canary's share of capacity
to it and bakes for ``WaitIntervalInSeconds``, then shifts the rest and bakes
once more; ``ALL_AT_ONCE`` shifts everything and bakes; if a rollback alarm is
in ALARM during a bake, all traffic goes back to blue and green is torn down;
otherwise blue is terminated after ``TerminationWaitInSeconds``.

Each minute of a deployment the fleets publish what SageMaker publishes for
them (``AWS/SageMaker`` invocations, 5xx errors and model latency with the
``EndpointName``, ``VariantName`` and ``EndpointConfigName`` dimensions of
each fleet; ``/aws/sagemaker/Endpoints`` memory per variant;
https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html), so
the planned rollback alarms are judged on the new fleet's own metrics.
Latency and memory are modelled (a healthy fleet answers in tens of
milliseconds at 60% memory); a bad fleet fails a share of its requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from pipelines.metrics import put_metric_data

INVOCATION_NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
PROVISIONING = timedelta(minutes=6)
HEALTHY_LATENCY_US = 25_000.0
HEALTHY_MEMORY = 60.0
BAD_MEMORY = 94.0
LATENCY_SAMPLES = 5


@dataclass
class Fleet:
    """One endpoint configuration's instances and the model package they serve."""

    config_name: str
    package_arn: str
    model: Any
    error_share: float = 0.0

    @property
    def memory(self) -> float:
        return BAD_MEMORY if self.error_share else HEALTHY_MEMORY


@dataclass(frozen=True)
class Rollout:
    """The planned ``deploymentConfig``: routing, canary share, bake, termination wait."""

    routing: str
    canary_share: float
    bake: timedelta
    termination_wait: timedelta
    alarms: tuple[str, ...]

    @classmethod
    def from_plan(cls, endpoint_inputs: dict[str, Any]) -> Rollout:
        config = endpoint_inputs.get("deploymentConfig") or {}
        blue_green = config.get("blueGreenUpdatePolicy") or {}
        routing = blue_green.get("trafficRoutingConfiguration") or {}
        kind = str(routing.get("type", "ALL_AT_ONCE"))
        size = routing.get("canarySize") or {}
        share = float(size.get("value", 100)) / 100 if kind == "CANARY" else 1.0
        alarms = (config.get("autoRollbackConfiguration") or {}).get("alarms") or []
        return cls(
            routing=kind,
            canary_share=share,
            bake=timedelta(seconds=float(routing.get("waitIntervalInSeconds", 0))),
            termination_wait=timedelta(
                seconds=float(blue_green.get("terminationWaitInSeconds", 0))
            ),
            alarms=tuple(str(a["alarmName"]) for a in alarms),
        )


@dataclass
class Deployment:
    """One update of the endpoint: blue, green, where it stands and what it decided."""

    blue: Fleet
    green: Fleet
    rollout: Rollout
    started: datetime
    stage: str = "provisioning"
    green_share: float = 0.0
    stage_ends: datetime | None = None
    first_errors: datetime | None = None
    rolled_back: datetime | None = None
    finished: datetime | None = None
    ticking: bool = False  # whether the minute clock of its bakes has started


@dataclass
class Endpoint:
    """The endpoint as callers see it: fleets with traffic shares, and a deployment if any."""

    name: str
    variant: str
    sampling_percent: float
    serving: Fleet | None = None
    deployment: Deployment | None = None
    history: list[Deployment] = field(default_factory=list)

    def shares(self) -> list[tuple[Fleet, float]]:
        """Each fleet that receives traffic, with its share."""
        if self.deployment is None or self.deployment.green_share == 0:
            return [(self.serving, 1.0)] if self.serving is not None else []
        deployment = self.deployment
        if deployment.green_share >= 1:
            return [(deployment.green, 1.0)]
        return [
            (deployment.blue, 1 - deployment.green_share),
            (deployment.green, deployment.green_share),
        ]

    def route(self, count: int, rng: np.random.Generator) -> list[tuple[Fleet, int]]:
        """How ``count`` requests split between the fleets that receive traffic."""
        shares = self.shares()
        if not shares:
            return []
        counts = rng.multinomial(count, [share for _, share in shares])
        return [(fleet, int(n)) for (fleet, _), n in zip(shares, counts, strict=True) if n]

    def start(self, green: Fleet, rollout: Rollout, now: datetime) -> Deployment:
        """Begin an update to ``green`` (the first deployment creates the endpoint outright)."""
        if self.serving is None:
            self.serving = green
            deployment = Deployment(green, green, rollout, now, stage="created", finished=now)
            self.history.append(deployment)
            return deployment
        deployment = Deployment(self.serving, green, rollout, now)
        deployment.stage_ends = now + PROVISIONING
        self.deployment = deployment
        self.history.append(deployment)
        return deployment

    def advance(self, now: datetime) -> str | None:
        """Move the deployment to its next stage when its stage has ended; the new stage."""
        deployment = self.deployment
        if deployment is None or deployment.stage_ends is None or now < deployment.stage_ends:
            return None
        rollout = deployment.rollout
        if deployment.stage == "provisioning":
            canary = rollout.routing == "CANARY" and rollout.canary_share < 1
            deployment.stage = "canary" if canary else "baking"
            deployment.green_share = rollout.canary_share if canary else 1.0
            deployment.stage_ends = now + rollout.bake
        elif deployment.stage == "canary":
            deployment.stage, deployment.green_share = "baking", 1.0
            deployment.stage_ends = now + rollout.bake
        elif deployment.stage == "baking":
            deployment.stage, deployment.finished = "completed", now
            self.serving, self.deployment = deployment.green, None
        return deployment.stage

    def roll_back(self, now: datetime) -> Deployment:
        """All traffic back to blue; green is torn down."""
        deployment = self.deployment
        if deployment is None:
            raise RuntimeError("no deployment in progress to roll back")
        deployment.stage, deployment.green_share = "rolled back", 0.0
        deployment.rolled_back = deployment.finished = now
        self.serving, self.deployment = deployment.blue, None
        return deployment

    def baking(self) -> bool:
        return self.deployment is not None and self.deployment.stage in ("canary", "baking")


def publish_minute(
    cloudwatch: Any,
    endpoint: Endpoint,
    requests_per_minute: float,
    minute: datetime,
    rng: np.random.Generator,
) -> int:
    """One minute of the fleets' metrics, as SageMaker publishes them; the 5xx count."""
    invocation: list[dict[str, Any]] = []
    errors_total = 0
    memory = 0.0
    for fleet, share in endpoint.shares():
        calls = int(rng.poisson(requests_per_minute * share))
        errors = int(rng.binomial(calls, fleet.error_share)) if calls else 0
        errors_total += errors
        memory += fleet.memory * share
        latency = rng.lognormal(np.log(HEALTHY_LATENCY_US), 0.3, LATENCY_SAMPLES)
        dims = _dims(endpoint, fleet.config_name)
        invocation += [
            _datum("Invocations", calls, dims, minute, "None"),
            _datum("Invocation5XXErrors", errors, dims, minute, "None"),
            *(_datum("ModelLatency", v, dims, minute, "Microseconds") for v in latency),
        ]
    put_metric_data(cloudwatch, INVOCATION_NAMESPACE, invocation)
    put_metric_data(
        cloudwatch,
        INSTANCE_NAMESPACE,
        [_datum("MemoryUtilization", memory, _dims(endpoint), minute, "Percent")],
    )
    return errors_total


def _dims(endpoint: Endpoint, config_name: str | None = None) -> list[dict[str, str]]:
    dims = [
        {"Name": "EndpointName", "Value": endpoint.name},
        {"Name": "VariantName", "Value": endpoint.variant},
    ]
    if config_name is not None:
        dims.append({"Name": "EndpointConfigName", "Value": config_name})
    return dims


def _datum(
    name: str, value: float, dims: list[dict[str, str]], when: datetime, unit: str
) -> dict[str, Any]:
    return {
        "MetricName": name,
        "Dimensions": dims,
        "Timestamp": when,
        "Value": float(value),
        "Unit": unit,
    }
