"""A model-server pod started as the cluster starts it serves what the SageMaker endpoint serves.

The stack's Deployment manifest is planned against a registry that holds one
approved package (moto's server on 127.0.0.1). Its init container and then its
server run as subprocesses with the manifest's command, arguments and
environment, on top of the image's ENV and ENTRYPOINT; EKS Pod Identity's part
(credentials, here the emulator's) is added as the cluster would add it. The
server must become ready on its readiness probe's path and score rows exactly
as the SageMaker container does: the project image run with ``serve`` and the
package's artifact unpacked into ``/opt/ml/model``, as SageMaker runs it.
Both servers bind 127.0.0.1 on free ports here (in a pod, 0.0.0.0 is the pod's
own network namespace).
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from infra.plan.kubernetes import manifest
from ml.model_artifact import MODEL_FILE, TARBALL, pack, unpack
from ops.local.container import (
    DOCKERFILE,
    REPO_ROOT,
    PathMap,
    command,
    environment,
    read_image,
)
from ops.local.emulator import aws_emulator

GROUP = "mlops-prod-fraud-models"
BUCKET = "mlops-prod-artifacts-123456789012-us-east-1"
KEY = f"pipeline-runs/exec1/train/pipelines-exec1-Train/output/{TARBALL}"
IMAGE = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops-prod-image@sha256:{'a' * 64}"
READY_SECONDS = 120  # the manifest's startup probe: 24 failures, 5 s apart


def entrypoint_and_cmd(dockerfile: Path = DOCKERFILE) -> tuple[list[str], list[str]]:
    """The image's exec-form ENTRYPOINT and CMD: what a container without ``command`` runs."""
    from dockerfile_parse import DockerfileParser

    parsed = DockerfileParser(fileobj=io.BytesIO(dockerfile.read_bytes()))
    found = {
        i["instruction"]: json.loads(i["value"])
        for i in parsed.structure
        if i["instruction"] in ("ENTRYPOINT", "CMD")
    }
    return found["ENTRYPOINT"], found.get("CMD", [])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def container_argv(container: dict[str, Any], paths: PathMap) -> list[str]:
    """``command`` replaces the image's ENTRYPOINT and ``args`` its CMD, as Kubernetes runs them."""
    entrypoint, cmd = entrypoint_and_cmd()
    return command(container.get("command") or entrypoint, container.get("args", cmd), paths)


def container_env(
    container: dict[str, Any], paths: PathMap, injected: dict[str, str]
) -> dict[str, str]:
    manifest_env = {item["name"]: item["value"] for item in container.get("env", [])}
    return environment(read_image(), paths, emulator=injected, job=manifest_env, platform={})


def on_loopback(argv: list[str], port: int) -> list[str]:
    """The server's ``--host``/``--port`` values moved to 127.0.0.1 and a free port."""
    moved = list(argv)
    moved[moved.index("--host") + 1] = "127.0.0.1"
    moved[moved.index("--port") + 1] = str(port)
    return moved


@contextmanager
def serving(argv: list[str], env: dict[str, str], log: Path) -> Iterator[None]:
    with log.open("w") as sink:
        process = subprocess.Popen(argv, env=env, cwd=REPO_ROOT, stdout=sink, stderr=sink)
        try:
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_ready(url: str, log: Path) -> float:
    """Seconds until ``GET url`` answers 200; fails with the server's log after the probe budget."""
    start = time.monotonic()
    while time.monotonic() - start < READY_SECONDS:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - start
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError(f"{url} never became ready:\n{log.read_text()}")


def score(url: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = json.dumps({"instances": rows}).encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["predictions"]


@pytest.fixture(scope="module")
def model_tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ml.data import generate
    from ml.io import write_table
    from ml.train import TrainParams, run_training

    root = tmp_path_factory.mktemp("trained")
    write_table(generate(3000, seed=5), root / "train.parquet")
    run_training(root / "train.parquet", None, root / "model", TrainParams(max_iter=20, seed=2))
    return pack(root / "model", root / TARBALL)


def register(aws: Any, tarball: Path) -> tuple[str, dict[str, Any]]:
    """Upload the artifact, register and approve the package as the pipeline and a reviewer do."""
    aws.s3.create_bucket(Bucket=BUCKET)
    aws.s3.upload_file(str(tarball), BUCKET, KEY)
    aws.sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = aws.sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        InferenceSpecification={
            "Containers": [
                {
                    "Image": IMAGE,
                    "ModelDataUrl": f"s3://{BUCKET}/{KEY}",
                    "Environment": {"OMP_NUM_THREADS": "1"},
                }
            ],
            "SupportedContentTypes": ["application/json", "text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        ModelApprovalStatus="Approved",
        CustomerMetadataProperties={
            "ModelSha256": hashlib.sha256(tarball.read_bytes()).hexdigest()
        },
    )["ModelPackageArn"]
    return arn, aws.sagemaker.describe_model_package(ModelPackageName=arn)


def stable_pod(arn: str, described: dict[str, Any]) -> dict[str, Any]:
    from infra.plan.engine import synthesize

    plan = synthesize(
        "prod",
        overrides=["kubernetes.enabled=true", f"serving.modelPackageArn={arn}"],
        model_packages={arn: described},
    )
    deployment = next(
        manifest(r)
        for r in plan.of_type("kubernetes:apps/v1:Deployment")
        if r["inputs"]["metadata"]["name"] == "model-server"
    )
    return deployment["spec"]["template"]["spec"]


def test_a_pod_fetches_the_stack_model_then_serves_it_like_the_sagemaker_container(
    tmp_path: Path, model_tarball: Path
) -> None:
    from ml.data import generate
    from ml.feature_columns import FEATURES

    rows = json.loads(generate(40, seed=99)[list(FEATURES)].to_json(orient="records"))
    pod_paths = PathMap(tmp_path / "pod" / "opt" / "ml")
    with aws_emulator("us-east-1", log_path=tmp_path / "moto.log") as aws:
        arn, described = register(aws, model_tarball)
        spec = stable_pod(arn, described)
        (init,) = spec["initContainers"]
        (server,) = spec["containers"]
        # What EKS Pod Identity adds to every container: credentials (the emulator's here).
        injected = aws.step_environment()
        fetched = subprocess.run(
            container_argv(init, pod_paths),
            env=container_env(init, pod_paths, injected),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert fetched.returncode == 0, fetched.stderr
    assert (pod_paths.local("/opt/ml/model") / MODEL_FILE).is_file()
    probe = server["readinessProbe"]["httpGet"]["path"]

    pod_port, sagemaker_port = free_port(), free_port()
    pod_argv = on_loopback(container_argv(server, pod_paths), pod_port)
    sagemaker_paths = PathMap(tmp_path / "sagemaker" / "opt" / "ml")
    unpack(model_tarball, sagemaker_paths.local("/opt/ml/model"))
    entrypoint, cmd = entrypoint_and_cmd()
    sagemaker_env = environment(
        read_image(),
        sagemaker_paths,
        emulator={},
        job=described["InferenceSpecification"]["Containers"][0]["Environment"],
        platform={"SAGEMAKER_BIND_TO_PORT": str(sagemaker_port), "MLOPS_SERVE_HOST": "127.0.0.1"},
    )
    with (
        serving(pod_argv, container_env(server, pod_paths, {}), tmp_path / "pod.log"),
        serving(command(entrypoint, cmd, sagemaker_paths), sagemaker_env, tmp_path / "sm.log"),
    ):
        wait_ready(f"http://127.0.0.1:{pod_port}{probe}", tmp_path / "pod.log")
        wait_ready(f"http://127.0.0.1:{sagemaker_port}/ping", tmp_path / "sm.log")
        from_pod = score(f"http://127.0.0.1:{pod_port}/invocations", rows)
        from_sagemaker = score(f"http://127.0.0.1:{sagemaker_port}/invocations", rows)
    assert len(from_pod) == len(rows)
    assert from_pod == from_sagemaker


def test_the_init_container_refuses_an_artifact_that_is_not_the_registered_one(
    tmp_path: Path, model_tarball: Path
) -> None:
    with aws_emulator("us-east-1", log_path=tmp_path / "moto.log") as aws:
        arn, described = register(aws, model_tarball)
        spec = stable_pod(arn, described)
        aws.s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"not the model that was registered")
        (init,) = spec["initContainers"]
        paths = PathMap(tmp_path / "opt" / "ml")
        fetched = subprocess.run(
            container_argv(init, paths),
            env=container_env(init, paths, aws.step_environment()),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    assert fetched.returncode == 1
    assert fetched.stderr.strip().startswith("error: ") and "registry recorded" in fetched.stderr
    assert not (paths.local("/opt/ml/model") / MODEL_FILE).exists()
