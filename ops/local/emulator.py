"""The AWS the local runner and its job steps talk to: moto's server on 127.0.0.1.

The steps run as subprocesses (as SageMaker runs containers), so the emulator
must be reachable over HTTP: without ``--endpoint-url`` (or ``AWS_ENDPOINT_URL``)
the runner serves moto from a thread of its own process
(``moto.server.ThreadedMotoServer`` on a free port of 127.0.0.1) and stops it
when the run ends, fails or is interrupted; a thread cannot outlive the process,
so no emulator is ever left behind. With an endpoint URL the emulator is the
caller's and outlives the run, so ``mlops registry list --endpoint-url ...`` can
inspect it.

moto keeps one state per process: the server starts empty (it resets moto's
state), and a process runs one server at a time; a second one is refused with
the URL to pass instead. In-process ``mock_aws`` shares that state, so it is not
used while a server runs.
"""

from __future__ import annotations

import json
import logging
import os
import threading
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
SERVER_LOGGERS = ("werkzeug", "moto")  # the request log and moto's own warnings
_ONE_SERVER = threading.Lock()
_running_url: list[str] = []  # the URL of the server this process runs, for the refusal


@dataclass(frozen=True)
class AwsClients:
    """The clients a local run needs, all pointed at the same emulator."""

    s3: Any
    sagemaker: Any
    region: str
    endpoint_url: str

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
    """Clients for the emulator at ``endpoint_url``, or for a moto server started here."""
    if endpoint_url:
        yield _clients(region, endpoint_url)
        return
    with moto_server(log_path) as url:
        yield _clients(region, url)


@contextmanager
def moto_server(log_path: Path | None = None) -> Iterator[str]:
    """moto's server in a thread, on a free port of 127.0.0.1: yields its URL, stops it after.

    It starts empty; requests and moto's warnings go to ``log_path`` (or nowhere),
    never to the console.
    """
    from moto.server import ThreadedMotoServer

    if not _ONE_SERVER.acquire(blocking=False):
        from ml.errors import MlopsError

        where = f" at {_running_url[0]}" if _running_url else ""
        raise MlopsError(
            f"an AWS emulator already runs in this process{where}; "
            "pass its URL as the endpoint instead of starting another"
        )
    try:
        with _server_log(log_path):
            server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
            server.start()
            try:
                host, port = server.get_host_and_port()  # the port the OS chose for port 0
                url = f"http://{host}:{port}"
                _running_url.append(url)
                _reset(url)
                yield url
            finally:
                _running_url.clear()
                server.stop()
    finally:
        _ONE_SERVER.release()


def _reset(url: str) -> None:
    """Empty moto's state (moto's reset API): what an earlier server of this process left."""
    reset = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310 (http)
    with urllib.request.urlopen(reset, timeout=10):  # noqa: S310 (http://127.0.0.1)
        pass


@contextmanager
def _server_log(log_path: Path | None) -> Iterator[None]:
    """Send the server's loggers to ``log_path`` (or drop them) while it runs; restore after."""
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    handler: logging.Handler = (
        logging.FileHandler(log_path, encoding="utf-8")
        if log_path is not None
        else logging.NullHandler()
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    saved = {}
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = (logger.handlers[:], logger.propagate, logger.level)
        logger.handlers, logger.propagate = [handler], False
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for name, (handlers, propagate, level) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers, logger.propagate = handlers, propagate
            logger.setLevel(level)
        handler.close()


def _clients(region: str, endpoint_url: str) -> AwsClients:
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
