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

from infra.config import load_stack
from infra.config.stack_file import stack_file
from ml.model_artifact import TARBALL
from ops.local.emulator import moto_server
from ops.local.stack_emulation import provision_stack, push_image
from ops.release.promote import PromotionClients
from tests.factories import IMAGE, register_package

REPO = Path(__file__).resolve().parents[2]
DEV_ARTIFACTS = "mlops-dev-artifacts-123456789012-us-east-1"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(scope="module")
def client(endpoint) -> object:
    """The server's SageMaker, with every stack's bucket, key and group made as pulumi up would."""
    session = boto3.session.Session(region_name="us-east-1")
    clients = PromotionClients(
        *(
            session.client(name, endpoint_url=endpoint)
            for name in ("sagemaker", "s3", "kms", "sts", "ecr")
        )
    )
    for stack in ("dev", "staging", "prod"):
        provision_stack(clients, load_stack(stack))
    # The image dev's packages name (tests.factories.IMAGE), its layers in every stack's
    # repository (moto cannot hand out layer downloads), so promotion copies the manifest only.
    for stack in ("dev", "staging", "prod"):
        push_image(clients.ecr, f"mlops-{stack}-image", [b"the project image"], IMAGE.split("@")[1])
    clients.s3.put_object(Bucket=DEV_ARTIFACTS, Key=f"m/{TARBALL}", Body=b"model")
    clients.s3.put_object(Bucket=DEV_ARTIFACTS, Key="m/evaluation.json", Body=b"{}")
    return clients.sagemaker


def dev_package(client: object) -> str:
    return register_package(
        client,
        model_data_url=f"s3://{DEV_ARTIFACTS}/m/{TARBALL}",
        metrics_uri=f"s3://{DEV_ARTIFACTS}/m/evaluation.json",
    )


def mlops(*args: str, endpoint: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )


def pinned(path: Path) -> str:
    return yaml.safe_load(path.read_text())["config"]["mlops:serving"]["modelPackageArn"]


def test_approve_then_latest_then_deploy_then_promote(client, endpoint, tmp_path) -> None:
    arn = dev_package(client)
    approved = mlops("registry", "approve", arn, "--reason", "looks good", endpoint=endpoint)
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.strip() == f"{arn}: Approved"
    again = mlops("registry", "approve", arn, "--reason", "again", endpoint=endpoint)
    assert again.stdout.strip() == f"{arn}: Approved (unchanged)"
    latest = mlops("registry", "latest", "--stack", "dev", endpoint=endpoint)
    assert latest.stdout.strip() == arn
    dev = tmp_path / "Pulumi.dev.yaml"
    deployed = mlops("deploy", "--stack", "dev", "--stack-file", str(dev), endpoint=endpoint)
    assert deployed.returncode == 0, deployed.stderr
    assert pinned(dev) == arn and stack_file("dev").read_text() != dev.read_text()
    target = tmp_path / "Pulumi.staging.yaml"
    promoted = mlops(
        "promote",
        "--to",
        "staging",
        "--stack-file",
        str(target),
        "--source-stack-file",
        str(dev),
        endpoint=endpoint,
    )
    assert promoted.returncode == 0, promoted.stderr
    assert "PendingManualApproval" in promoted.stdout
    copy = promoted.stdout.split()[1]
    assert ":model-package/mlops-staging-fraud-models/" in copy
    assert not target.exists()  # a copy waiting for approval is not served
    approve = ("registry", "approve", copy, "--stack", "staging", "--reason", "canary clean")
    assert mlops(*approve, endpoint=endpoint).returncode == 0
    served = mlops(
        "deploy",
        "--stack",
        "staging",
        "--arn",
        copy,
        "--stack-file",
        str(target),
        endpoint=endpoint,
    )
    assert served.returncode == 0, served.stderr
    assert pinned(target) == copy
    assert copy in served.stdout.replace("\n", "")


def test_promoting_a_rejected_package_exits_1_with_one_line(client, endpoint, tmp_path) -> None:
    arn = dev_package(client)
    rejected = mlops("registry", "reject", arn, "--reason", "drifted", endpoint=endpoint)
    assert rejected.returncode == 0, rejected.stderr
    dev = tmp_path / "Pulumi.dev.yaml"
    dev.write_text(f"config:\n  mlops:serving:\n    modelPackageArn: {arn}\n", encoding="utf-8")
    target = tmp_path / "Pulumi.staging.yaml"
    target.write_text("config:\n  mlops:environment: staging\n", encoding="utf-8")
    refused = mlops(
        "promote",
        "--to",
        "staging",
        "--source-stack-file",
        str(dev),
        "--stack-file",
        str(target),
        endpoint=endpoint,
    )
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"error: model package {arn} pinned in dev is Rejected (drifted); only approved "
        f"packages are promoted (approve it with 'mlops registry approve {arn} --reason ...')"
    ]
    assert target.read_text() == "config:\n  mlops:environment: staging\n"


def test_deploying_a_package_of_another_stack_is_refused_with_one_line(client, endpoint) -> None:
    arn = dev_package(client)
    refused = mlops("deploy", "--stack", "staging", "--arn", arn, endpoint=endpoint)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"error: {arn} is in mlops-dev-fraud-models, not in mlops-staging-fraud-models of stack "
        "staging; a stack serves packages of its own group (promote it first: "
        "'mlops promote --arn ARN')"
    ]


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


def test_pipeline_start_runs_as_a_manual_run(client, endpoint) -> None:
    from pipelines.definitions.training import definition_json
    from tests.factories import make_spec

    client.create_pipeline(
        PipelineName="mlops-dev-training",
        PipelineDefinition=definition_json(make_spec()),
        RoleArn="arn:aws:iam::123456789012:role/mlops-dev-pipeline",
    )
    done = mlops("pipeline", "start", "--stack", "dev", endpoint=endpoint)
    assert done.returncode == 0, done.stderr
    arn = done.stdout.split()[1]
    found = client.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
    assert found["PipelineParameters"] == [{"Name": "RunKind", "Value": "manual"}]
    assert "RunKind=manual" in done.stdout
