"""The emulator's clock is the simulation's while it runs, and the wall clock after."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ops.local.emulator import moto_server
from ops.simulate.clients import sim_clients
from ops.simulate.clock import SimClock, emulator_clock


def test_moto_stamps_executions_and_objects_with_the_simulated_time() -> None:
    clock = SimClock(datetime(2026, 3, 2, 5, tzinfo=UTC))
    with moto_server() as url, emulator_clock(clock):
        clients = sim_clients("us-east-1", url)
        clients.sagemaker.create_pipeline(
            PipelineName="p",
            PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
            RoleArn="arn:aws:iam::123456789012:role/r",
        )
        clients.sagemaker.start_pipeline_execution(PipelineName="p")
        clock.advance(timedelta(hours=3))
        clients.sagemaker.start_pipeline_execution(PipelineName="p")
        clients.s3.create_bucket(Bucket="simulated-bucket")
        clients.s3.put_object(Bucket="simulated-bucket", Key="k", Body=b"x")
        listed = clients.sagemaker.list_pipeline_executions(PipelineName="p")
        started = sorted(s["StartTime"] for s in listed["PipelineExecutionSummaries"])
        modified = clients.s3.head_object(Bucket="simulated-bucket", Key="k")["LastModified"]
    assert [s.astimezone(UTC) for s in started] == [
        datetime(2026, 3, 2, 5, tzinfo=UTC),
        datetime(2026, 3, 2, 8, tzinfo=UTC),
    ]
    assert modified == datetime(2026, 3, 2, 8, tzinfo=UTC)


def test_the_wall_clock_comes_back_after_the_block() -> None:
    from moto.core import utils
    from moto.sagemaker import models

    before = models.utcnow
    with emulator_clock(SimClock(datetime(2020, 1, 1, tzinfo=UTC))):
        assert models.utcnow() == datetime(2020, 1, 1)
    assert models.utcnow is before is utils.utcnow
    assert abs(models.utcnow() - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=1)


def test_simulated_time_never_runs_backwards() -> None:
    clock = SimClock(datetime(2026, 3, 2, tzinfo=UTC))
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance_to(datetime(2026, 3, 1, tzinfo=UTC))
