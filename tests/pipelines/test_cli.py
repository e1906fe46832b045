"""The registry and pipeline commands as a user runs them, against moto_server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import yaml

from infra.stack_config import stack_file
from tests.pipelines.conftest import GROUP, register_package

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def client(endpoint) -> object:
    sagemaker = boto3.client("sagemaker", region_name="us-east-1", endpoint_url=endpoint)
    for group in (GROUP, "mlops-staging-fraud-models"):
        sagemaker.create_model_package_group(ModelPackageGroupName=group)
    return sagemaker


def mlops(*args: str, endpoint: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )


def test_approve_then_latest_then_promote(client, endpoint, tmp_path) -> None:
    arn = register_package(client)
    approved = mlops("registry", "approve", arn, "--reason", "looks good", endpoint=endpoint)
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.strip() == f"{arn}: Approved"
    again = mlops("registry", "approve", arn, "--reason", "again", endpoint=endpoint)
    assert again.stdout.strip() == f"{arn}: Approved (unchanged)"
    latest = mlops("registry", "latest", "--stack", "dev", endpoint=endpoint)
    assert latest.stdout.strip() == arn
    target = tmp_path / "Pulumi.staging.yaml"
    target.write_text(stack_file("staging").read_text(encoding="utf-8"), encoding="utf-8")
    promoted = mlops("promote", "--to", "staging", "--stack-file", str(target), endpoint=endpoint)
    assert promoted.returncode == 0, promoted.stderr
    pinned = yaml.safe_load(target.read_text())["config"]["mlops:serving"]["modelPackageArn"]
    assert ":model-package/mlops-staging-fraud-models/" in pinned
    assert pinned in promoted.stdout


def test_promoting_a_rejected_package_exits_1_with_one_line(client, endpoint, tmp_path) -> None:
    arn = register_package(client)
    rejected = mlops("registry", "reject", arn, "--reason", "drifted", endpoint=endpoint)
    assert rejected.returncode == 0, rejected.stderr
    target = tmp_path / "Pulumi.staging.yaml"
    target.write_text("config:\n  mlops:environment: staging\n", encoding="utf-8")
    refused = mlops(
        "promote",
        "--to",
        "staging",
        "--package-arn",
        arn,
        "--stack-file",
        str(target),
        endpoint=endpoint,
    )
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"error: model package {arn} is Rejected (drifted); only approved packages are promoted"
    ]
    assert target.read_text() == "config:\n  mlops:environment: staging\n"


def test_definition_command_prints_the_deployed_definition(endpoint, tmp_path) -> None:
    out = tmp_path / "definition.json"
    done = mlops("pipeline", "definition", "--stack", "prod", "--out", str(out), endpoint=endpoint)
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    assert document["Version"] == "2020-12-01"
    assert document["Parameters"][3]["DefaultValue"] == "PendingManualApproval"


def test_an_unreachable_registry_is_one_line_and_exit_1() -> None:
    done = mlops("registry", "latest", "--stack", "dev", endpoint="http://127.0.0.1:9")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        'error: Could not connect to the endpoint URL: "http://127.0.0.1:9/"'
    ]
