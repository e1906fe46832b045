"""Retrain on an alarm at most once per cool-down: the Lambda function the retrain rules invoke.

A flapping drift alarm enters ALARM again and again, and EventBridge delivers
each state change at least once, so deliveries repeat, arrive out of order and
run at the same time (the function has no reserved concurrency). Each delivery
tries to take the cool-down lease (``cooldown_lock``, one conditional DynamoDB
write); the one that wins starts the training pipeline with ``RunKind=alarm``
and the event's id as ``ClientRequestToken``, every other one starts nothing and
says which execution holds the cool-down. Scheduled and manual runs never take
the lease, so the hourly schedule does not use up the alarms' cool-down. The
run it starts is gated against the champion like any other: the pipeline's
Champion step reads it from the registry.

An alarm refused within the cool-down is noted in the lease (``waiting``). A
CloudWatch alarm sends an event only when its state changes, so one that stays
in ALARM past the cool-down would never be heard again; the gate's schedule
(``SWEEP_SOURCE``, every ``SWEEP_MINUTES``) sweeps: once the cool-down has
ended, the waiting alarms still in ALARM (``DescribeAlarms``) start one run,
with a token derived from the lease and those alarms so that two sweeps at once
start it once; waiting alarms that left ALARM are forgotten.

A holder that dies between taking the lease and starting (a timeout) leaves a
lease without an execution; once it is older than ``LEASE_STALE_SECONDS`` (more
than the function's timeout, so its holder is surely gone) the next delivery
takes it over (one conditional write, so one taker) and starts with the dead
holder's token, which finds the execution it may have started after all. A
duplicate of the holder's own event that arrives before the run is recorded
raises ``GateBusyError``, so Lambda retries it later rather than dropping the
storm's only chance to start. A start that fails gives the lease back and
raises, so Lambda's retry or the dead-letter queue has it.

``handle_event`` (an alarm or a sweep) takes its clock and clients as arguments, so a simulation
drives exactly this code at the times it chooses; ``handler`` is the Lambda
entry point. Environment: ``PIPELINE_NAME``, ``RETRAIN_COOLDOWN_MINUTES``,
``RETRAIN_LOCK_TABLE``, ``LEASE_STALE_SECONDS``. boto3 uses the default chain,
so ``AWS_ENDPOINT_URL`` points it at an emulator.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ml.errors import MlopsError
from pipelines.lambdas.cooldown_lock import CooldownLock, Lease
from pipelines.lambdas.start_pipeline import ALARM, TOKEN_CHARS, start_training

ALARM_STATE_CHANGE = "CloudWatch Alarm State Change"
SWEEP_SOURCE = "mlops.retrain-gate"  # the ``source`` of the schedule's input
SWEEP_MINUTES = 15
NOTHING_WAITS = "no alarm waits for the cool-down to end"  # a sweep's most common answer


class GateBusyError(MlopsError):
    """A duplicate of the delivery that holds the lease arrived before that one started its run.

    Raised so that Lambda retries the asynchronous invocation: by then the run is
    recorded (and the retry is refused), or its holder died and the retry takes over.
    """


@dataclass(frozen=True)
class Decision:
    """What the gate did: started an execution, or found the cool-down taken and left it."""

    started: bool
    execution_arn: str
    reason: str


@dataclass(frozen=True)
class GateSettings:
    """The pipeline the gate starts, its cool-down, and the table that holds the lease."""

    pipeline_name: str
    cooldown: timedelta
    lock_table: str
    stale_after: timedelta = timedelta(minutes=2)

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> GateSettings:
        """The settings the function's environment carries (as the plan sets them)."""
        return cls(
            pipeline_name=environment["PIPELINE_NAME"],
            cooldown=timedelta(minutes=int(environment["RETRAIN_COOLDOWN_MINUTES"])),
            lock_table=environment["RETRAIN_LOCK_TABLE"],
            stale_after=timedelta(seconds=int(environment.get("LEASE_STALE_SECONDS", "120"))),
        )


def alarm_name(event: Mapping[str, Any]) -> str:
    return str((event.get("detail") or {}).get("alarmName", ""))


def is_alarm_entering_alarm(event: Mapping[str, Any]) -> bool:
    """An alarm state change into ALARM, the only event that may start a run."""
    detail = event.get("detail") or {}
    state = (detail.get("state") or {}).get("value")
    return event.get("detail-type") == ALARM_STATE_CHANGE and state == "ALARM"


def event_token(event: Mapping[str, Any]) -> str:
    """The event's id (the same for every delivery of it), else a digest of its body."""
    identifier = str(event.get("id") or "")
    low, high = TOKEN_CHARS
    if low <= len(identifier) <= high:
        return identifier
    return hashlib.sha256(json.dumps(event, sort_keys=True, default=str).encode()).hexdigest()


def handle_alarm(
    event: Mapping[str, Any],
    settings: GateSettings,
    *,
    sagemaker: Any,
    dynamodb: Any,
    now: datetime,
) -> Decision:
    """Start one alarm-kind execution unless another alarm started one within the cool-down."""
    if not is_alarm_entering_alarm(event):
        return Decision(False, "", "not an alarm entering ALARM; nothing to retrain on")
    attempt = _Attempt(settings, CooldownLock(dynamodb, settings.lock_table), sagemaker, event)
    key, token = settings.pipeline_name, attempt.token
    lease: Lease | None = None
    for _ in range(2):  # a second try only if the lease vanished (its TTL) between the calls
        if attempt.lock.acquire(key, token, now, settings.cooldown, attempt.alarm):
            return attempt.start(token)
        lease = attempt.lock.current(key)
        if lease is not None:
            break
    if lease is not None and lease.execution_arn is None:
        fresh = lease.acquired_at > now - settings.stale_after
        if fresh and lease.holder == token:
            raise GateBusyError(
                f"the delivery holding the lease of {key} has not started its run yet; "
                "retry this delivery later"
            )
        if not fresh and attempt.lock.take_over(lease, now):
            return attempt.start(lease.holder)
    if lease is not None and lease.holder != token and attempt.alarm:
        attempt.lock.defer(key, attempt.alarm)
    return _refused(lease, settings.cooldown, token)


def is_sweep(event: Mapping[str, Any]) -> bool:
    """The gate's schedule asking it to serve alarms that waited out the cool-down."""
    return event.get("source") == SWEEP_SOURCE


def handle_event(
    event: Mapping[str, Any],
    settings: GateSettings,
    *,
    sagemaker: Any,
    dynamodb: Any,
    cloudwatch: Any,
    now: datetime,
) -> Decision:
    """A sweep from the schedule, or an alarm state change from the retrain rules."""
    if is_sweep(event):
        return handle_sweep(
            settings, sagemaker=sagemaker, dynamodb=dynamodb, cloudwatch=cloudwatch, now=now
        )
    return handle_alarm(event, settings, sagemaker=sagemaker, dynamodb=dynamodb, now=now)


def handle_sweep(
    settings: GateSettings, *, sagemaker: Any, dynamodb: Any, cloudwatch: Any, now: datetime
) -> Decision:
    """Once the cool-down has ended, start one run for the waiting alarms still in ALARM."""
    lock = CooldownLock(dynamodb, settings.lock_table)
    lease = lock.current(settings.pipeline_name)
    if lease is None or not lease.waiting:
        return Decision(False, "", NOTHING_WAITS)
    ends = lease.acquired_at + settings.cooldown
    if now < ends:
        return Decision(
            False,
            lease.execution_arn or "",
            f"{len(lease.waiting)} alarm(s) wait for the cool-down to end at {ends.isoformat()}",
        )
    names = sorted(lease.waiting)
    found = cloudwatch.describe_alarms(AlarmNames=names).get("MetricAlarms", [])
    still = sorted(a["AlarmName"] for a in found if a.get("StateValue") == "ALARM")
    if not still:
        lock.forget_waiting(lease)
        return Decision(False, "", f"{', '.join(names)} left ALARM; nothing to retrain on")
    seen = json.dumps([lease.holder, lease.acquired_at.isoformat(), still])
    token = hashlib.sha256(seen.encode()).hexdigest()
    attempt = _Attempt(
        settings, lock, sagemaker, {"id": token, "detail": {"alarmName": ", ".join(still)}}
    )
    if lock.acquire(settings.pipeline_name, token, now, settings.cooldown, attempt.alarm):
        return attempt.start(token)
    return _refused(lock.current(settings.pipeline_name), settings.cooldown, token)


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Lambda entry point: an alarm state change or a sweep in, one decision out (as JSON)."""
    import boto3

    decision = handle_event(
        event,
        GateSettings.from_environment(os.environ),
        sagemaker=boto3.client("sagemaker"),
        dynamodb=boto3.client("dynamodb"),
        cloudwatch=boto3.client("cloudwatch"),
        now=datetime.now(UTC),
    )
    print(json.dumps({"alarm": alarm_name(event), "event": event.get("id"), **asdict(decision)}))
    return asdict(decision)


@dataclass(frozen=True)
class _Attempt:
    """One delivery's view: the settings, the lease, SageMaker, and the event it carries."""

    settings: GateSettings
    lock: CooldownLock
    sagemaker: Any
    event: Mapping[str, Any]

    @property
    def token(self) -> str:
        return event_token(self.event)

    @property
    def alarm(self) -> str:
        return alarm_name(self.event)

    def start(self, token: str) -> Decision:
        """Start with ``token``, record the execution in the lease; give it back on failure."""
        key = self.settings.pipeline_name
        try:
            started = start_training(
                self.sagemaker,
                key,
                kind=ALARM,
                description=f"started by the retrain gate on alarm {self.alarm or '(unnamed)'}",
                client_token=token,
            )
        except Exception:
            self.lock.release(key, token)
            raise
        self.lock.record(key, token, started.execution_arn)
        return Decision(
            True,
            started.execution_arn,
            f"alarm {self.alarm}: no alarm-started run in the cool-down",
        )


def _refused(lease: Lease | None, cooldown: timedelta, token: str) -> Decision:
    if lease is None:
        return Decision(False, "", "the cool-down lease is held; nothing started")
    arn = lease.execution_arn or ""
    if lease.holder == token:
        return Decision(False, arn, "this alarm event already started the run (a duplicate)")
    return Decision(
        False,
        arn,
        f"an alarm-started run ({lease.alarm or 'an alarm'}) took the cool-down at "
        f"{lease.acquired_at.isoformat()}, within the {cooldown} cool-down; the alarm waits "
        "for the sweep after it",
    )
