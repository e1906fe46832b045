"""Who reacts to a delivered event, and the people in the loop.

A delivery goes to its planned target: a Lambda function (the retrain gate's
handler, called in-process), the stack's SNS topic (people read it: the
scripted reviewer approves a package that waits for approval, after a delay),
or the approval rule's GitHub repository dispatch (``promote.yml``: ``mlops
deploy`` pins the dispatched package, a pull request, ``mlops promote``; a
reviewer merges it after a delay, which starts the deploy). The operator
starts a manual training run to bootstrap, pins an earlier package by hand when
the scenario says so (its bad fleet), and after an automatic rollback runs
``rollback.yml`` (``mlops rollback`` and its pull request).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from ml.errors import MlopsError
from ops.simulate import lambdas
from ops.simulate.delivery import (
    PullRequest,
    promote_next,
    rollback_command,
    serve_command,
)
from ops.simulate.events import ALARM_CHANGE, PACKAGE_CHANGE, Delivery
from ops.simulate.services import registry_events, start_runs
from ops.simulate.state import Sim
from pipelines.lambdas.retrain_gate import NOTHING_WAITS, is_sweep
from pipelines.registry import PENDING

REVIEWER = "the scripted reviewer"
LAMBDA_RETRIES = 2
DISPATCH_EVENT = "model-approved"  # promote.yml's repository_dispatch type


def on_deliver(sim: Sim, delivery: Delivery) -> None:
    """One copy of an event reaches one target."""
    event, target = delivery.event, delivery.target_arn
    body = delivery.body if isinstance(delivery.body, dict) else {"message": delivery.body}
    common = {"rule": delivery.rule, "event_id": body.get("id"), "copy": delivery.copy}
    if ":function:" in target:
        function = sim.applied.functions.get(target)
        if function is None:
            sim.record("delivery_failed", target=target, why="no such function", **common)
            return
        log = sim.work_dir / "logs" / f"lambda-{function['name']}.log"
        try:
            decision = lambdas.invoke(function, body, sim.clients, sim.now, log)
        except (MlopsError, ClientError) as error:
            lambda_retry(sim, delivery, str(error), common)
            return
        started = start_runs(sim, "alarm")
        if is_sweep(body):
            swept(sim, decision, [e.arn for e in started])
            return
        sim.record(
            "gate",
            alarm=(event.get("detail") or {}).get("alarmName"),
            started=bool(decision.get("started")),
            execution=decision.get("execution_arn"),
            reason=decision.get("reason"),
            executions_started=[e.arn for e in started],
            **common,
        )
    elif ":sns:" in target:
        notified(sim, event, common, body.get("message"))
    elif ":api-destination/" in target:  # the approval rule's GitHub repository dispatch
        dispatched(sim, body, common)
    else:
        sim.record("delivered", target=target, detail_type=event.get("detail-type"), **common)


def swept(sim: Sim, decision: dict[str, Any], started: list[str]) -> None:
    """The gate's schedule swept: recorded when an alarm waited (the rest are quiet)."""
    reason = str(decision.get("reason") or "")
    if started or reason != NOTHING_WAITS:
        sim.record(
            "sweep", started=bool(decision.get("started")), reason=reason, executions=started
        )


def lambda_retry(sim: Sim, delivery: Delivery, error: str, common: dict[str, Any]) -> None:
    """An asynchronous invocation that raised: Lambda tries twice more, 1 and 2 minutes on.

    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
    """
    retries = delivery.retries + 1
    if retries > LAMBDA_RETRIES:
        sim.record("dead_letter", target=delivery.target_arn, why=error[:300], **common)
        return
    sim.record("function_error", target=delivery.target_arn, why=error[:300], **common)
    at = sim.now + timedelta(minutes=retries)
    sim.agenda.add(at, "deliver", replace(delivery, at=at, retries=retries))


def notified(
    sim: Sim, event: dict[str, Any], common: dict[str, Any], message: str | None = None
) -> None:
    """The stack topic's message; a package awaiting approval gets the reviewer's attention."""
    detail = event.get("detail") or {}
    kind = event.get("detail-type")
    if kind == PACKAGE_CHANGE and detail.get("ModelApprovalStatus") == PENDING:
        arn = detail["ModelPackageArn"]
        if arn not in sim.awaiting_approval:  # a person approves once, however often told
            sim.awaiting_approval.add(arn)
            sim.agenda.add(sim.now + sim.scenario.approve_after, "approve", arn)
    subject = detail.get("alarmName") if kind == ALARM_CHANGE else detail.get("ModelPackageArn")
    sim.record("notified", detail_type=kind, subject=subject, message=message, **common)


def dispatched(sim: Sim, body: dict[str, Any], common: dict[str, Any]) -> None:
    """GitHub receives a repository dispatch: ``promote.yml`` runs for ``model-approved``."""
    payload = body.get("client_payload") or {}
    if body.get("event_type") != DISPATCH_EVENT or not payload.get("model_package_arn"):
        sim.record("dispatch_ignored", event_type=body.get("event_type"), **common)
        return
    approval_workflow(sim, str(payload.get("stack")), str(payload["model_package_arn"]), common)


def approval_workflow(sim: Sim, stack: str, arn: str, common: dict[str, Any]) -> None:
    """``promote.yml``: pin exactly the dispatched package, a pull request, promote it onwards."""
    if stack != sim.stack:
        sim.record("workflow_skipped", package=arn, why=f"stack {stack}", **common)
        return
    try:
        command, branch_of = serve_command(sim.clients, stack, arn)
        pull, _ = sim.repo.propose(command, branch_of, "serve", sim.now)
        onwards = promote_next(sim.clients, arn, {stack: sim.repo.main})
    except MlopsError as error:
        sim.record("workflow_refused", package=arn, why=str(error)[:300], **common)
        return
    if pull is None:
        sim.record("workflow_no_change", package=arn, promoted=onwards, **common)
        return
    sim.record(
        "pr_opened", number=pull.number, package=arn, branch=pull.branch, promoted=onwards, **common
    )
    sim.agenda.add(sim.now + sim.scenario.review_after, "review", pull)


def on_approve(sim: Sim, arn: str) -> None:
    """The reviewer approves a package that passed the pipeline's gates."""
    from pipelines.registry import approve

    change = approve(sim.clients.sagemaker, arn, f"{REVIEWER}: passed the gates; approved")
    sim.record("approved", package=arn, changed=change.changed, by=REVIEWER)
    registry_events(sim)


def on_review(sim: Sim, pull: PullRequest) -> None:
    """The reviewer reviews the pull request and merges it: the deploy workflow starts."""
    try:
        merged = sim.repo.merge(pull, sim.now)
    except MlopsError as error:
        sim.record("pr_refused", number=pull.number, why=str(error)[:300])
        return
    sim.record(
        "pr_merged", number=pull.number, package=pull.arn, purpose=pull.purpose, merged=merged
    )
    if merged:
        sim.agenda.add(sim.now, "deploy", pull)


def pin_by_hand(sim: Sim) -> None:
    """The operator serves again, by hand, the Approved package served before the current one
    (``mlops deploy --stack S --arn ARN`` and its pull request, reviewed after a delay).

    The scenario's bad fleet is the next deploy after its hour; a manual training run
    may register nothing once the champion is good, so the deploy is an operator's.
    """
    from ops.release.rollback import previous_package

    try:
        package, _, _ = previous_package(sim.clients.sagemaker, sim.stack, sim.repo.main)
        command, branch_of = serve_command(sim.clients, sim.stack, package.arn)

        def operator_branch(outcome: Any) -> tuple[str, str, str]:
            branch, title, arn = branch_of(outcome)
            return f"operator/{branch}", f"{title} (by hand)", arn

        pull, _ = sim.repo.propose(command, operator_branch, "operator", sim.now)
    except MlopsError as error:
        sim.record("workflow_refused", why=str(error)[:300])
        return
    if pull is None:
        sim.record("workflow_no_change", package=package.arn, promoted="pinned already")
        return
    sim.record("pr_opened", number=pull.number, package=pull.arn, branch=pull.branch)
    sim.agenda.add(sim.now + sim.scenario.review_after, "review", pull)


def on_operator(sim: Sim, what: tuple[str, Any]) -> None:
    """An operator's action: a manual training run, or ``rollback.yml`` after a rollback."""
    action, argument = what
    if action == "manual run":
        from pipelines.lambdas.start_pipeline import start_training

        start_training(sim.clients.sagemaker, str(argument))
        started = start_runs(sim, "manual")
        sim.record("manual_run", executions=[e.arn for e in started])
    elif action == "pin by hand":
        pin_by_hand(sim)
    elif action == "roll back":
        command, branch_of = rollback_command(sim.clients, sim.stack)
        try:
            pull, done = sim.repo.propose(command, branch_of, "rollback", sim.now)
        except MlopsError as error:
            sim.record("workflow_refused", why=str(error)[:300])
            return
        if pull is not None:
            sim.record(
                "pr_opened",
                number=pull.number,
                package=pull.arn,
                branch=pull.branch,
                found_in=done.found_in,
            )
            sim.agenda.add(sim.now + sim.scenario.review_after, "review", pull)
