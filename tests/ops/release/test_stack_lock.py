"""Two release operations on one stack run one after the other, and the second finds its work done.

Real processes, as two workflow runs or two people would start them: ``mlops
deploy`` and ``mlops promote`` against one moto_server, started while this test
holds the lock of the stack files' folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from infra.config import load_stack
from infra.config.stack_file import stack_file
from ml.model_artifact import TARBALL
from ops.local.emulator import moto_server
from ops.local.stack_emulation import provision_stack, push_image
from ops.release.promote import PromotionClients
from ops.release.stack_lock import StackLockTimeoutError, stack_file_lock
from pipelines import registry
from tests.factories import IMAGE, register_package

REPO = Path(__file__).resolve().parents[3]
DEV_ARTIFACTS = "mlops-dev-artifacts-123456789012-us-east-1"
HOLD_SECONDS = 6.0


@pytest.fixture(scope="module")
def aws() -> Iterator[tuple[str, PromotionClients]]:
    with moto_server() as endpoint:
        session = boto3.session.Session(region_name="us-east-1")
        clients = PromotionClients(
            *(
                session.client(name, endpoint_url=endpoint)
                for name in ("sagemaker", "s3", "kms", "sts", "ecr")
            )
        )
        for stack in ("dev", "staging"):
            provision_stack(clients, load_stack(stack))
            push_image(clients.ecr, f"mlops-{stack}-image", [b"layers"], IMAGE.split("@")[1])
        for key in (f"m/{TARBALL}", "m/evaluation.json"):
            clients.s3.put_object(Bucket=DEV_ARTIFACTS, Key=key, Body=b"x")
        yield endpoint, clients


def approved_dev_package(clients: PromotionClients) -> str:
    return register_package(
        clients.sagemaker,
        status="Approved",
        model_data_url=f"s3://{DEV_ARTIFACTS}/m/{TARBALL}",
        metrics_uri=f"s3://{DEV_ARTIFACTS}/m/evaluation.json",
    )


def start(endpoint: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1"}
    return subprocess.Popen(
        [sys.executable, "-m", "ops.cli", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def both_while_locked(folder: Path, *commands: subprocess.Popen[str]) -> list[str]:
    """Hold the lock while the commands start; they must wait; then let them finish."""
    with stack_file_lock(folder / "any"):
        time.sleep(HOLD_SECONDS)
        assert all(command.poll() is None for command in commands), "a command did not wait"
        assert not (folder / "Pulumi.dev.yaml").exists()
    outputs = []
    for command in commands:
        out, err = command.communicate(timeout=120)
        assert command.returncode == 0, err
        outputs.append(out)
    return outputs


def test_two_deploys_of_one_package_pin_it_once(aws, tmp_path) -> None:
    endpoint, clients = aws
    arn = approved_dev_package(clients)
    path = tmp_path / "Pulumi.dev.yaml"
    args = ("deploy", "--stack", "dev", "--arn", arn, "--stack-file", str(path))
    outputs = both_while_locked(tmp_path, start(endpoint, *args), start(endpoint, *args))
    assert sorted(out.split(" ")[0] for out in outputs) == ["already", "pinned"]
    assert path.read_text().startswith(stack_file("dev").read_text())


def test_two_promotions_of_one_package_register_one_copy(aws, tmp_path) -> None:
    endpoint, clients = aws
    arn = approved_dev_package(clients)
    before = len(registry.list_packages(clients.sagemaker, "mlops-staging-fraud-models"))
    args = ("promote", "--arn", arn, "--stack-file", str(tmp_path / "Pulumi.staging.yaml"))
    outputs = both_while_locked(tmp_path, start(endpoint, *args), start(endpoint, *args))
    assert sorted(out.split(" ")[0] for out in outputs) == ["found", "registered"]
    copies = registry.list_packages(clients.sagemaker, "mlops-staging-fraud-models")
    assert len(copies) == before + 1
    assert [c.metadata["PromotedFrom"] for c in copies].count(arn) == 1


def test_waiting_too_long_for_the_lock_is_one_clear_error(tmp_path) -> None:
    path = tmp_path / "Pulumi.prod.yaml"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from ops.release.stack_lock import stack_file_lock\n"
            f"with stack_file_lock(Path({str(path)!r})):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(30)\n",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        waiting = pytest.raises(
            StackLockTimeoutError, match="another deploy, promotion or rollback"
        )
        with waiting, stack_file_lock(path, wait_seconds=0.3):
            pass
    finally:
        holder.kill()
        holder.wait()
    with stack_file_lock(path, wait_seconds=5):  # the kernel dropped the lock with the process
        pass
