"""The cool-down lease under concurrent deliveries, duplicates and reordering (moto, threads)."""

from __future__ import annotations

import itertools
import json
import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.definitions.training import build_definition
from pipelines.lambdas.cooldown_lock import CooldownLock
from pipelines.lambdas.retrain_gate import GateBusyError, GateSettings, handle_alarm
from tests.factories import make_spec
from tests.pipelines.lambdas.test_retrain_gate import alarm_event, event_id

PIPELINE = "mlops-prod-training"
TABLE = "mlops-prod-retrain-gate-lock"
COOLDOWN = timedelta(minutes=360)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
THREADS = 16
EXAMPLES = itertools.count()


@pytest.fixture
def atomic_items(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give moto DynamoDB's per-item atomicity of a conditional write.

    AWS evaluates a write's condition and applies the write as one step per item
    ("Condition expressions", DynamoDB developer guide); moto checks, then writes,
    with no lock, so threads could interleave inside it. One lock around moto's
    item operations restores what the service guarantees, and nothing more: our
    code's own calls still interleave freely.
    """
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("update_item", "get_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)

        def atomic(
            self: Any, *args: Any, _original: Callable[..., Any] = original, **kw: Any
        ) -> Any:
            with lock:
                return _original(self, *args, **kw)

        monkeypatch.setattr(DynamoDBBackend, name, atomic)


@pytest.fixture
def aws(atomic_items: None) -> Iterator[tuple[Any, Any]]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        sagemaker.create_pipeline(
            PipelineName=PIPELINE,
            PipelineDefinition=json.dumps(build_definition(make_spec(pipeline_name=PIPELINE))),
            RoleArn="arn:aws:iam::123456789012:role/mlops-prod-pipeline",
        )
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "lock", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "lock", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield sagemaker, dynamodb


def concurrently(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, all released at once by a barrier; errors returned."""
    barrier = threading.Barrier(len(calls))

    def released(call: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(released, calls))


def test_concurrent_deliveries_start_exactly_one_run_per_cool_down(aws) -> None:
    sagemaker, dynamodb = aws
    gate = GateSettings(PIPELINE, COOLDOWN, TABLE)
    # Half are duplicates of one state change, half are other changes of the same storm.
    events = [alarm_event(event_id(n % (THREADS // 2))) for n in range(THREADS)]
    decisions = concurrently(
        [
            lambda e=e: handle_alarm(e, gate, sagemaker=sagemaker, dynamodb=dynamodb, now=T0)
            for e in events
        ]
    )
    # A duplicate of the winner's own event that arrives before its run is recorded is told
    # to come back later (Lambda retries it); every other delivery is refused.
    busy = [d for d in decisions if isinstance(d, GateBusyError)]
    answered = [d for d in decisions if not isinstance(d, GateBusyError)]
    assert len(busy) + len(answered) == THREADS
    started = [d for d in answered if d.started]
    listed = sagemaker.list_pipeline_executions(PipelineName=PIPELINE)
    assert len(started) == 1 and len(listed["PipelineExecutionSummaries"]) == 1
    assert {d.execution_arn for d in answered if d.execution_arn} <= {started[0].execution_arn}
    # Their retries, once the run is recorded, are refused.
    retried = [
        handle_alarm(e, gate, sagemaker=sagemaker, dynamodb=dynamodb, now=T0 + timedelta(1 / 1440))
        for e in events
    ]
    assert not any(d.started for d in retried)


def test_a_check_then_write_lock_would_let_them_all_start(aws, monkeypatch) -> None:
    """The same harness fails a lock that reads, then writes: the race the condition closes."""
    sagemaker, dynamodb = aws
    racing = threading.Barrier(THREADS)

    def check_then_write(self, key, holder, now, cooldown, alarm=""):  # type: ignore[no-untyped-def]
        free = self.current(key) is None
        racing.wait()  # every delivery has looked before any writes
        if free:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={"lock": {"S": key}, "holder": {"S": holder}, "acquired_at": {"N": "0"}},
            )
        return free

    monkeypatch.setattr(CooldownLock, "acquire", check_then_write)
    gate = GateSettings(PIPELINE, COOLDOWN, TABLE)
    decisions = concurrently(
        [
            lambda n=n: handle_alarm(
                alarm_event(event_id(n)), gate, sagemaker=sagemaker, dynamodb=dynamodb, now=T0
            )
            for n in range(THREADS)
        ]
    )
    assert sum(d.started for d in decisions) == THREADS


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    arrivals=st.lists(st.integers(0, 60 * 30), min_size=1, max_size=25),
    duplicates=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_duplicated_and_reordered_alarms_never_start_two_runs_in_one_cool_down(
    aws, arrivals: list[int], duplicates: int, seed: int
) -> None:
    """Any timeline of alarm changes (minutes over 30 hours), each delivered 1-3 times, shuffled
    within an hour: starts are a whole cool-down apart, and an alarm a cool-down after the last
    start starts the next."""
    sagemaker, dynamodb = aws
    key = f"{PIPELINE}-{next(EXAMPLES)}"  # moto lives across examples: one pipeline each
    gate = GateSettings(key, COOLDOWN, TABLE)
    sagemaker.create_pipeline(
        PipelineName=key,
        PipelineDefinition=json.dumps(build_definition(make_spec(pipeline_name=key))),
        RoleArn="arn:aws:iam::123456789012:role/mlops-prod-pipeline",
    )
    rng = random.Random(seed)
    deliveries = sorted(  # the order they reach the gate: each copy up to an hour late
        (minute + rng.randint(0, 59), index)
        for index, minute in enumerate(arrivals)
        for _ in range(duplicates)
    )
    starts: list[datetime] = []
    for minute, index in deliveries:
        now = T0 + timedelta(minutes=minute)
        event = alarm_event(event_id(index))
        decision = handle_alarm(event, gate, sagemaker=sagemaker, dynamodb=dynamodb, now=now)
        free = not starts or now - starts[-1] >= COOLDOWN
        assert decision.started == free, (now, starts)
        if decision.started:
            starts.append(now)
    assert all(b - a >= COOLDOWN for a, b in itertools.pairwise(starts))
    listed = sagemaker.list_pipeline_executions(PipelineName=key, MaxResults=100)
    assert len(listed["PipelineExecutionSummaries"]) == len(starts)
