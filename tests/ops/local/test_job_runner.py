"""Job steps run as SageMaker runs them: a subprocess with the container's environment and paths."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from ml.model_artifact import TARBALL, read_file
from ops.local.container import REPO_ROOT, read_image
from ops.local.emulator import AwsClients, aws_emulator, ensure_bucket
from ops.local.job_runner import JobRunner, StepFailedError
from ops.local.run_state import RunState
from ops.local.step_cache import StepCache
from pipelines.definitions.blocks import processing_input, processing_output

BUCKET = "probe-bucket"
OUTPUT = "/opt/ml/processing/output"
DATA = "/opt/ml/processing/input/data"
# Writes what the container saw to argv[1]; lists the files under argv[2] when given.
PROBE = """
import json, os, sys
from pathlib import Path
files = []
if len(sys.argv) > 2:
    root = Path(sys.argv[2])
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob('*') if p.is_file())
seen = {"pid": os.getpid(), "env": dict(os.environ), "argv": sys.argv[1:], "cwd": os.getcwd(),
        "executable": sys.executable, "files": files}
Path(sys.argv[1]).parent.mkdir(parents=True, exist_ok=True)
Path(sys.argv[1]).write_text(json.dumps(seen))
"""
DOCKERFILE = """\
FROM python:3.11-slim AS build
ENV BUILD_ONLY=1
FROM python:3.11-slim
ENV PYTHONPATH=/opt/program \\
    PROBE_DATA=/opt/ml/processing/input/data
WORKDIR /opt/program
"""


@pytest.fixture(scope="module")
def clients() -> Iterator[AwsClients]:
    with aws_emulator("us-east-1") as emulated:
        ensure_bucket(emulated.s3, BUCKET, "us-east-1")
        yield emulated


@pytest.fixture
def runner(clients, tmp_path) -> JobRunner:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(DOCKERFILE, encoding="utf-8")
    return JobRunner(
        clients,
        tmp_path / "runs",
        StepCache(tmp_path / "cache"),
        pipeline="probe-pipeline",
        account="123456789012",
        image=read_image(dockerfile),
        image_digest="d" * 64,
    )


def state(execution: str = "exec-1") -> RunState:
    return RunState(
        parameters={}, execution={"PipelineExecutionId": execution, "PipelineName": "p"}
    )


def processing(
    code: str = PROBE,
    arguments: tuple[str, ...] = (f"{OUTPUT}/seen.json",),
    environment: dict[str, str] | None = None,
    inputs: list[dict[str, Any]] | None = None,
    cache: bool = True,
    name: str = "Probe",
) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {
                "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops@sha256:" + "a" * 64,
                "ContainerEntrypoint": ["python3", "-c", code],
                "ContainerArguments": list(arguments),
            },
            "Environment": environment or {"STEP_SETTING": "from-definition"},
            "ProcessingInputs": inputs or [],
            "ProcessingOutputConfig": {
                "Outputs": [
                    processing_output(
                        "out",
                        OUTPUT,
                        {
                            "Std:Join": {
                                "On": "/",
                                "Values": [
                                    f"s3://{BUCKET}/runs",
                                    {"Get": "Execution.PipelineExecutionId"},
                                ],
                            }
                        },
                    )
                ]
            },
            "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.large"}},
        },
        "CacheConfig": {"Enabled": cache, "ExpireAfter": "P30D"},
    }


def seen(runner: JobRunner, name: str = "Probe") -> dict[str, Any]:
    return json.loads((runner.map_path(name, OUTPUT) / "seen.json").read_text(encoding="utf-8"))


def put(clients: AwsClients, key: str, body: bytes = b"x") -> None:
    clients.s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def test_a_step_runs_in_a_process_of_its_own_with_this_interpreter(runner) -> None:
    runner.processing(processing(), state())
    assert seen(runner)["pid"] != os.getpid()
    assert seen(runner)["executable"] == sys.executable


def test_a_step_sees_the_image_environment_not_the_runners(runner, monkeypatch) -> None:
    monkeypatch.setenv("MLOPS_RUNNER_ONLY", "set in the runner's process")
    runner.processing(processing(), state())
    env = seen(runner)["env"]
    assert "MLOPS_RUNNER_ONLY" not in env
    assert env["PYTHONPATH"] == str(REPO_ROOT)  # the image's /opt/program
    assert "BUILD_ONLY" not in env  # ENV of an earlier build stage is not the image's
    assert env["STEP_SETTING"] == "from-definition"


def test_a_step_reaches_the_emulator_with_default_credentials_and_region(runner, clients) -> None:
    runner.processing(processing(), state())
    env = seen(runner)["env"]
    assert env["AWS_ENDPOINT_URL"] == clients.endpoint_url
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"] == "testing"


def test_container_paths_land_under_the_steps_root(runner, tmp_path) -> None:
    runner.processing(processing(), state())
    root = tmp_path / "runs" / "Probe" / "opt" / "ml"
    assert seen(runner)["argv"] == [str(root / "processing" / "output" / "seen.json")]
    assert seen(runner)["env"]["PROBE_DATA"] == str(root / "processing" / "input" / "data")
    assert seen(runner)["cwd"] == str(REPO_ROOT)  # WORKDIR /opt/program


def test_outputs_are_uploaded_where_the_definition_says(runner, clients) -> None:
    run = state("exec-upload")
    runner.processing(processing(), run)
    uri = run.properties["Probe"]["ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"]
    assert uri == f"s3://{BUCKET}/runs/exec-upload"
    body = clients.s3.get_object(Bucket=BUCKET, Key="runs/exec-upload/seen.json")["Body"].read()
    assert json.loads(body)["pid"] == seen(runner)["pid"]


def test_the_processing_job_config_files_are_written(runner, tmp_path) -> None:
    runner.processing(processing(), state())
    config = tmp_path / "runs" / "Probe" / "opt" / "ml" / "config"
    job = json.loads((config / "processingjobconfig.json").read_text())
    assert job["ProcessingJobName"] == "exec-1-Probe"
    assert job["ProcessingJobArn"].endswith(":processing-job/exec-1-probe")
    assert job["Environment"] == {"STEP_SETTING": "from-definition"}
    assert json.loads((config / "resourceconfig.json").read_text())["current_host"] == "algo-1"


def test_a_failing_step_stops_the_run_with_its_failure_file(runner) -> None:
    code = (
        "import sys; from pathlib import Path; p = Path(sys.argv[1]); "
        "p.parent.mkdir(parents=True, exist_ok=True); "
        "p.write_text('column amount is not numeric'); "
        "print('noise on stderr', file=sys.stderr); sys.exit(3)"
    )
    with pytest.raises(StepFailedError, match=r"^pipeline stopped at Probe: column amount is not"):
        runner.processing(processing(code, ("/opt/ml/output/failure",)), state())


def test_a_failure_file_of_several_lines_is_reported_on_one_line(runner, tmp_path) -> None:
    code = (
        "import sys; from pathlib import Path; p = Path(sys.argv[1]); "
        "p.parent.mkdir(parents=True, exist_ok=True); "
        "p.write_text('bad rows:\\n  row 3\\n  row 7\\n'); sys.exit(2)"
    )
    with pytest.raises(StepFailedError) as failed:
        runner.processing(processing(code, ("/opt/ml/output/failure",)), state())
    assert str(failed.value) == "pipeline stopped at Probe: bad rows: row 3 row 7"
    assert failed.value.log == tmp_path / "runs" / "Probe" / "log.txt"
    assert failed.value.log.is_file()


def test_without_a_failure_file_the_last_stderr_line_is_the_reason(runner, tmp_path) -> None:
    code = (
        "import sys; print('working'); print('first', file=sys.stderr); "
        "print('last words', file=sys.stderr); sys.exit(1)"
    )
    with pytest.raises(StepFailedError, match=r"Probe: last words$"):
        runner.processing(processing(code, ()), state())
    log = (tmp_path / "runs" / "Probe" / "log.txt").read_text()
    assert "working" in log and "last words" in log


def test_a_code_input_is_not_fetched(runner) -> None:
    code_input = processing_input(
        "code", f"s3://{BUCKET}/no-such-code/", "/opt/ml/processing/input/code"
    )
    runner.processing(processing(inputs=[code_input]), state())
    assert not runner.map_path("Probe", "/opt/ml/processing/input/code").exists()


def test_a_manifest_input_downloads_exactly_the_listed_objects(runner, clients) -> None:
    for key in ("data/v1/a.csv", "data/v1/day/b.csv", "data/v1/unlisted.csv"):
        put(clients, key)
    manifest = [{"prefix": f"s3://{BUCKET}/data/v1/"}, "a.csv", "day/b.csv"]
    put(clients, "manifests/v1.json", json.dumps(manifest).encode())
    item = processing_input("data", f"s3://{BUCKET}/manifests/v1.json", DATA)
    item["S3Input"]["S3DataType"] = "ManifestFile"
    runner.processing(processing(arguments=(f"{OUTPUT}/seen.json", DATA), inputs=[item]), state())
    assert seen(runner)["files"] == ["a.csv", "day/b.csv"]


def training(code: str, channels: dict[str, str]) -> dict[str, Any]:
    return {
        "Name": "Train",
        "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {
                "TrainingImage": "img",
                "TrainingInputMode": "File",
                "ContainerEntrypoint": ["python3", "-c", code],
                "ContainerArguments": ["/opt/ml/model/seen.json", "/opt/ml/input/data/train"],
            },
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/models"},
            "InputDataConfig": [
                {
                    "ChannelName": channel,
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}},
                    "InputMode": "File",
                }
                for channel, uri in channels.items()
            ],
            "Environment": {"PYTHONUNBUFFERED": "1"},
        },
        "CacheConfig": {"Enabled": True, "ExpireAfter": "P30D"},
    }


def test_a_training_step_gets_sagemakers_training_contract(runner, clients, tmp_path) -> None:
    put(clients, "train/part.csv")
    channels = {"code": f"s3://{BUCKET}/no-such-code/", "train": f"s3://{BUCKET}/train/"}
    run = state("exec-train")
    runner.training(training(PROBE, channels), run)
    config = tmp_path / "runs" / "Train" / "opt" / "ml" / "input" / "config"
    assert set(json.loads((config / "inputdataconfig.json").read_text())) == {"train"}
    assert json.loads((config / "hyperparameters.json").read_text()) == {}
    assert "hosts" in json.loads((config / "resourceconfig.json").read_text())
    uri = run.properties["Train"]["ModelArtifacts.S3ModelArtifacts"]
    assert uri == f"s3://{BUCKET}/models/exec-train-Train/output/{TARBALL}"
    (tmp_path / "artifact").mkdir()
    clients.s3.download_file(BUCKET, uri.split("/", 3)[3], str(tmp_path / "artifact" / TARBALL))
    document = json.loads(read_file(tmp_path / "artifact", "seen.json") or b"")
    assert document["env"]["TRAINING_JOB_NAME"] == "exec-train-Train"
    assert document["env"]["TRAINING_JOB_ARN"].endswith(":training-job/exec-train-train")
    assert document["files"] == ["part.csv"]


def test_two_runs_with_identical_arguments_hit_the_cache(runner) -> None:
    first, second = state("exec-1"), state("exec-2")
    assert runner.processing(processing(), first).status == "ran"
    reused = runner.processing(processing(), second)
    assert (reused.status, reused.detail) == ("cached", "from exec-1")
    # As on SageMaker, a hit hands on the cached run's properties: its output URIs.
    assert second.properties["Probe"] == first.properties["Probe"]


def test_a_changed_argument_misses_the_cache(runner) -> None:
    runner.processing(processing(), state("exec-1"))
    changed = processing(arguments=(f"{OUTPUT}/seen.json", "--verbose"))
    assert runner.processing(changed, state("exec-2")).status == "ran"


def test_a_changed_environment_misses_the_cache(runner) -> None:
    runner.processing(processing(), state("exec-1"))
    changed = processing(environment={"STEP_SETTING": "other"})
    assert runner.processing(changed, state("exec-2")).status == "ran"


def test_new_data_under_the_same_input_uri_is_served_from_the_cache(runner, clients) -> None:
    # SageMaker keys on the input's URI, not on what is behind it.
    item = processing_input("data", f"s3://{BUCKET}/same-uri/", DATA)
    step = processing(arguments=(f"{OUTPUT}/seen.json", DATA), inputs=[item])
    put(clients, "same-uri/one.csv")
    runner.processing(step, state("exec-1"))
    put(clients, "same-uri/two.csv")
    assert runner.processing(step, state("exec-2")).status == "cached"
    assert seen(runner)["files"] == ["one.csv"]


def test_a_step_with_caching_disabled_always_runs(runner) -> None:
    statuses = [runner.processing(processing(cache=False), state(e)).status for e in ("a", "b")]
    assert statuses == ["ran", "ran"]


def test_a_failed_run_is_never_served_from_the_cache(runner) -> None:
    failing = processing("import sys; sys.exit(1)", ())
    with pytest.raises(StepFailedError):
        runner.processing(failing, state("exec-1"))
    with pytest.raises(StepFailedError):
        runner.processing(failing, state("exec-2"))
