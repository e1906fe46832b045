"""The session emulator: one moto_server process, found again, stopped by its pid."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from infra.image_context import local_image_uri
from ops.local.emulator_process import provision_stacks, running, start, stop
from tests.cli import run_mlops, without_aws_credentials

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def state_dir(tmp_path) -> Iterator[Path]:
    yield tmp_path / "emulator"
    stop(tmp_path / "emulator")  # whatever a failing test left running, by its pid


def test_start_runs_one_server_and_start_again_finds_it(state_dir) -> None:
    first, started = start(state_dir)
    again, started_again = start(state_dir)
    assert started and not started_again and again == first
    assert first.url.startswith("http://127.0.0.1:")
    assert json.loads((state_dir / "emulator.json").read_text()) == {
        "pid": first.pid,
        "url": first.url,
    }
    assert first.exports() == f"export AWS_ENDPOINT_URL={first.url}"


def test_stop_ends_that_process_and_forgets_it(state_dir) -> None:
    emulator, _ = start(state_dir)
    assert stop(state_dir) == emulator
    assert running(state_dir) is None and not (state_dir / "emulator.json").exists()
    assert (
        not Path(f"/proc/{emulator.pid}/cmdline").exists()
        or b"moto" not in Path(f"/proc/{emulator.pid}/cmdline").read_bytes()
    )
    assert stop(state_dir) is None  # nothing left to stop


def test_a_state_file_naming_another_process_is_not_an_emulator(state_dir) -> None:
    state_dir.mkdir(parents=True)
    (state_dir / "emulator.json").write_text(
        json.dumps({"pid": os.getpid(), "url": "http://127.0.0.1:9"})
    )
    assert running(state_dir) is None
    assert stop(state_dir) is None  # this process is not killed
    assert not (state_dir / "emulator.json").exists()


def test_every_stack_and_the_local_runs_image_exist_in_it(state_dir) -> None:
    emulator, _ = start(state_dir)
    provision_stacks(emulator.url)
    provision_stacks(emulator.url)  # again: nothing new
    session = boto3.session.Session(region_name="us-east-1")
    sagemaker = session.client("sagemaker", endpoint_url=emulator.url)
    ecr = session.client("ecr", endpoint_url=emulator.url)
    for stack in ("dev", "staging", "prod"):
        sagemaker.describe_model_package_group(ModelPackageGroupName=f"mlops-{stack}-fraud-models")
        digest = local_image_uri(f"mlops-{stack}-image", "us-east-1").split("@")[1]
        images = ecr.list_images(repositoryName=f"mlops-{stack}-image")["imageIds"]
        assert [image["imageDigest"] for image in images] == [digest]


def test_the_commands_reach_it_through_the_line_start_prints(state_dir) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    script = (
        f'eval "$({sys.executable} -m ops.cli emulator start --state-dir {state_dir})"\n'
        f"{sys.executable} -m ops.cli registry latest --stack prod\n"
    )
    done = subprocess.run(
        ["bash", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1  # reached: prod's group exists and is empty
    assert (
        done.stderr.strip().splitlines()[-1]
        == "error: no approved model in mlops-prod-fraud-models"
    )
    assert running(state_dir) is not None


def test_without_credentials_or_emulator_the_error_names_the_emulator() -> None:
    done = run_mlops("deploy", "--stack", "dev", env=without_aws_credentials())
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        'error: no AWS credentials found; configure them, or use an emulator: eval "$(mlops '
        'emulator start)" (or --endpoint-url URL)'
    ]
