"""The AWS the local runner and its job steps talk to: a ``moto_server`` on 127.0.0.1.

The steps run as subprocesses (as SageMaker runs containers), so the emulator
must be reachable over HTTP: without ``--endpoint-url`` (or ``AWS_ENDPOINT_URL``)
the runner starts ``moto_server -H 127.0.0.1 -p <free port>`` itself, waits
until it answers and stops it by pid when the run ends, fails or is
interrupted. With an endpoint URL the emulator is the caller's and outlives
the run, so ``mlops registry list --endpoint-url ...`` can inspect it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.s3 import split_s3_uri

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0
START_ATTEMPTS = 3


@dataclass(frozen=True)
class AwsClients:
    """The clients a local run needs, all pointed at the same emulator."""

    s3: Any
    sagemaker: Any
    region: str
    endpoint_url: str
    server_pid: int | None = None

    def step_environment(self) -> dict[str, str]:
        """What a job step needs to reach the emulator with a default boto3 client."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            **FAKE_CREDENTIALS,
            # A container has no ~/.aws: no profile may redirect the step elsewhere.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }


@contextmanager
def aws_emulator(
    region: str, endpoint_url: str | None = None, log_path: Path | None = None
) -> Iterator[AwsClients]:
    """Clients for the emulator at ``endpoint_url``, or for a ``moto_server`` started here."""
    if endpoint_url:
        yield _clients(region, endpoint_url, None)
        return
    with moto_server(log_path) as (url, pid):
        yield _clients(region, url, pid)


@contextmanager
def moto_server(log_path: Path | None = None) -> Iterator[tuple[str, int]]:
    """``moto_server`` on a free port of 127.0.0.1: yields its URL and pid, stops it after."""
    process, url = _start(log_path)
    try:
        yield url, process.pid
    finally:
        _stop(process)


def _executable() -> str:
    beside = Path(sys.executable).with_name("moto_server")
    found = str(beside) if beside.is_file() else shutil.which("moto_server")
    if found is None:
        from ml.errors import MlopsError

        raise MlopsError("moto_server is not installed; run `make install` (moto[server])")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _start(log_path: Path | None) -> tuple[subprocess.Popen[bytes], str]:
    """Start the server and wait until it answers; a port taken meanwhile gets another try."""
    from ml.errors import MlopsError

    executable = _executable()
    for _ in range(START_ATTEMPTS):
        port = _free_port()
        url = f"http://{HOST}:{port}"
        process = _launch([executable, "-H", HOST, "-p", str(port)], log_path)
        try:
            if _wait_until_up(process, url):
                return process, url
        except BaseException:
            _stop(process)
            raise
        _stop(process)
    raise MlopsError(
        f"moto_server did not start on {HOST} after {START_ATTEMPTS} attempts; "
        "see its log in the work directory, or pass --endpoint-url"
    )


def _launch(argv: list[str], log_path: Path | None) -> subprocess.Popen[bytes]:
    if log_path is None:
        return _popen(argv, subprocess.DEVNULL)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return _popen(argv, log)


def _popen(argv: list[str], log: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        # Its own session: Ctrl-C reaches the runner, which stops the server by pid.
        start_new_session=True,
    )


def _wait_until_up(process: subprocess.Popen[bytes], url: str) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):  # noqa: S310 (http://127.0.0.1)
                return process.poll() is None
        except urllib.error.HTTPError:
            return process.poll() is None  # it answered, whatever the status
        except OSError:
            time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


def _clients(region: str, endpoint_url: str, pid: int | None) -> AwsClients:
    import boto3

    session = boto3.session.Session(
        region_name=region,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    return AwsClients(
        s3=session.client("s3", endpoint_url=endpoint_url),
        sagemaker=session.client("sagemaker", endpoint_url=endpoint_url),
        region=region,
        endpoint_url=endpoint_url,
        server_pid=pid,
    )


def ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    """Create the bucket unless it exists (an external emulator keeps them between runs)."""
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError:
        pass
    options = (
        {}
        if region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    )
    s3.create_bucket(Bucket=bucket, **options)


def download_input(s3: Any, uri: str, data_type: str, local: Path) -> int:
    """Download a job input the way SageMaker does for ``S3DataType`` (S3Prefix, ManifestFile)."""
    if data_type == "S3Prefix":
        return download_prefix(s3, uri, local)
    if data_type == "ManifestFile":
        return download_manifest(s3, uri, local)
    from ml.errors import MlopsError

    raise MlopsError(
        f"S3DataType {data_type!r} is not supported locally; use S3Prefix or ManifestFile"
    )


def download_prefix(s3: Any, uri: str, local: Path) -> int:
    """Download every object under the S3 prefix ``uri`` into ``local`` (SageMaker's S3Prefix)."""
    bucket, prefix = split_s3_uri(uri)
    local.mkdir(parents=True, exist_ok=True)
    count = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            # Keys land relative to the prefix; a prefix naming one object lands as its file name.
            relative = item["Key"][len(prefix) :].lstrip("/") or item["Key"].rsplit("/", 1)[-1]
            target = local / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, item["Key"], str(target))
            count += 1
    return count


def manifest_uris(document: Any) -> list[tuple[str, str]]:
    """(S3 URI, relative path) of each entry of a SageMaker manifest.

    The manifest is a JSON list: ``[{"prefix": "s3://bucket/some/prefix/"}, "relative/key", ...]``;
    each entry is appended to the prefix, all in the prefix's bucket (API reference,
    S3DataSource.S3Uri: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_S3DataSource.html).
    """
    from ml.errors import MlopsError

    head = document[0] if isinstance(document, list) and document else None
    prefix = head.get("prefix") if isinstance(head, dict) else None
    if not isinstance(prefix, str) or not prefix.startswith("s3://") or prefix == "s3://":
        raise MlopsError(
            'a manifest is a JSON list whose first element is {"prefix": "s3://bucket/prefix/"}'
        )
    entries = document[1:]
    if not entries or not all(isinstance(entry, str) and entry for entry in entries):
        raise MlopsError("a manifest lists one or more object keys (strings) after its prefix")
    return [(f"{prefix}{entry}", entry) for entry in entries]


def download_manifest(s3: Any, uri: str, local: Path) -> int:
    """Download exactly the objects a manifest lists, each at its path relative to the prefix."""
    from botocore.exceptions import ClientError

    from ml.errors import MlopsError

    bucket, key = split_s3_uri(uri)
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        raise MlopsError(f"manifest {uri} cannot be read: {error}") from None
    try:
        document = json.loads(body)
    except ValueError:
        raise MlopsError(f"manifest {uri} is not JSON") from None
    local.mkdir(parents=True, exist_ok=True)
    entries = manifest_uris(document)
    for object_uri, relative in entries:
        target = local / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        object_bucket, object_key = split_s3_uri(object_uri)
        try:
            s3.download_file(object_bucket, object_key, str(target))
        except ClientError:
            raise MlopsError(f"manifest {uri} lists {object_uri}, which does not exist") from None
    return len(entries)
