"""The deploy workflow and the endpoint's update: ``pulumi up``, the canary, the rollback.

``deploy``: the merged stack file is planned and applied to the emulator (the
pipelines, alarms and rules change with the pinned package), and the endpoint
starts its blue/green update to the new configuration, if it changed. The
deploy runs ``mlops deploy --check`` first, as the workflow does: a pin that is
not Approved (or not of the stack's group) stops it.
``rollout``: the update moves to its next stage when the stage's time is up.
``minute``: while green bakes, each minute the fleets publish their metrics and
the planned rollback alarms are judged on them; one in ALARM rolls the update
back, and the operator then runs the rollback workflow (``mlops rollback``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np

from ops.simulate.emulated_stack import apply, synthesize_stack
from ops.simulate.endpoint import (
    INSTANCE_NAMESPACE,
    INVOCATION_NAMESPACE,
    Deployment,
    Endpoint,
    Fleet,
    Rollout,
    publish_minute,
)
from ops.simulate.state import Sim

MINUTE = timedelta(minutes=1)
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
OPERATOR_REACTS = timedelta(minutes=10)


def pulumi_up(sim: Sim) -> None:
    """Plan main's stack file and apply the plan to the emulator."""
    plan = synthesize_stack(sim.stack, sim.repo.main)
    sim.applied = apply(plan, sim.clients, sim.applied)
    sim.plan = sim.runs.plan = plan
    sim.bus.stand_ins = sim.applied.stand_ins
    sim.alarms.watch(sim.applied.alarms, sim.now)


def on_deploy(sim: Sim, pull: Any) -> None:
    """The deploy workflow after a merge: check the pin, ``pulumi up``, update the endpoint."""
    from infra.config import load_stack
    from ops.simulate.delivery import pins_problems

    pinned = load_stack(sim.stack, sim.repo.main).serving.model_package_arn
    problems = pins_problems(sim.clients, sim.stack, sim.repo.main)  # mlops deploy --check
    if problems:
        sim.record("deploy_refused", package=pinned, why="; ".join(problems)[:300])
        return
    pulumi_up(sim)
    sim.deploys += 1
    start_update(sim, pinned, getattr(pull, "arn", None), getattr(pull, "purpose", None))


def start_update(
    sim: Sim, pinned: str | None, approved: str | None, purpose: str | None = None
) -> None:
    """Begin the endpoint's update to the plan's configuration, unless it serves it already."""
    assert sim.plan is not None
    if pinned is None or not sim.plan.outputs.get("endpointName"):
        sim.record("deploy", package=pinned, endpoint="none planned")
        return
    endpoint_inputs = sim.plan.one(ENDPOINT)["inputs"]
    config_name = str(endpoint_inputs["endpointConfigName"])
    if sim.endpoint is None:
        sim.endpoint = endpoint_of(sim)
    serving = sim.endpoint.serving
    if serving is not None and serving.config_name == config_name:
        sim.record("deploy", package=pinned, endpoint="unchanged", approved=approved)
        return
    bad = _bad_fleet_now(sim) and serving is not None
    green = Fleet(
        config_name, pinned, sim.model(pinned), sim.scenario.bad_fleet_error_share if bad else 0.0
    )
    rollout = Rollout.from_plan(endpoint_inputs)
    deployment = sim.endpoint.start(green, rollout, sim.now)
    sim.record(
        "deploy_started",
        package=pinned,
        approved=approved,
        purpose=purpose,
        config=config_name,
        previous=serving.package_arn if serving else None,
        routing=rollout.routing,
        bad_fleet=bad,
    )
    if deployment.stage_ends is not None:
        sim.agenda.add(deployment.stage_ends, "rollout")


def _bad_fleet_now(sim: Sim) -> bool:
    hour = sim.scenario.bad_fleet_hour
    if hour is None or sim.bad_fleet_used or sim.hour() < hour:
        return False
    sim.bad_fleet_used = True
    return True


def endpoint_of(sim: Sim) -> Endpoint:
    """The endpoint as the plan configures it: name, variant, capture sampling."""
    assert sim.plan is not None
    config = sim.plan.one(ENDPOINT_CONFIG)["inputs"]
    variant = str(config["productionVariants"][0]["variantName"])
    capture = config.get("dataCaptureConfig") or {}
    return Endpoint(
        name=str(sim.plan.outputs["endpointName"]),
        variant=variant,
        sampling_percent=float(capture.get("initialSamplingPercentage", 100)),
    )


def on_rollout(sim: Sim, _: Any) -> None:
    """The update's stage ended: the next one, with a minute clock while green bakes."""
    endpoint = sim.endpoint
    if endpoint is None or endpoint.deployment is None:
        return
    deployment = endpoint.deployment
    stage = endpoint.advance(sim.now)
    if stage is None:
        return
    sim.record(
        "rollout",
        stage=stage,
        package=deployment.green.package_arn,
        green_share=deployment.green_share,
    )
    if stage == "completed":
        sim.record("deploy_completed", package=deployment.green.package_arn)
        return
    if deployment.stage_ends is not None:
        sim.agenda.add(deployment.stage_ends, "rollout")
    if not deployment.ticking:
        deployment.ticking = True
        sim.agenda.add(sim.now + MINUTE, "minute", deployment)


def on_minute(sim: Sim, deployment: Deployment) -> None:
    """A minute of the fleets' metrics; the rollback alarms judged on the new fleet's."""
    endpoint = sim.endpoint
    if endpoint is None or endpoint.deployment is not deployment or not endpoint.baking():
        return
    _bake_minute(sim, endpoint, deployment)


def _bake_minute(sim: Sim, endpoint: Endpoint, deployment: Deployment) -> None:
    per_minute = sim.scenario.captured_per_hour / max(endpoint.sampling_percent / 100, 1e-6) / 60
    rng = np.random.default_rng(sim.seed + int(sim.hour() * 60))
    errors = publish_minute(sim.clients.cloudwatch, endpoint, per_minute, sim.now - MINUTE, rng)
    if errors and deployment.first_errors is None:
        deployment.first_errors = sim.now - MINUTE
        sim.record(
            "fleet_errors",
            package=deployment.green.package_arn,
            errors=errors,
            first_error_minute=deployment.first_errors.isoformat(),
        )
    for namespace in (INVOCATION_NAMESPACE, INSTANCE_NAMESPACE):
        sim.alarms.published(namespace, sim.now - MINUTE)
    tripped = []
    for name in deployment.rollout.alarms:
        change = sim.alarms.judge(name, sim.now)
        if change is not None:
            sim.record(
                "alarm",
                name=name,
                previous=change.previous,
                state=change.state,
                reason=change.reason[:300],
            )
        if sim.alarms.states.get(name) == "ALARM":
            tripped.append(name)
    if tripped:
        endpoint.roll_back(sim.now)
        sim.record(
            "rollback_started",
            package=deployment.green.package_arn,
            restored=deployment.blue.package_arn,
            alarms=tripped,
            first_errors=deployment.first_errors.isoformat() if deployment.first_errors else None,
        )
        sim.record(
            "rollback_completed", serving=endpoint.serving.package_arn if endpoint.serving else None
        )
        sim.agenda.add(sim.now + OPERATOR_REACTS, "operator", ("roll back", None))
        return
    sim.agenda.add(sim.now + MINUTE, "minute", deployment)
