"""The model a Kubernetes pod serves: its init container downloads and unpacks it.

The model-server Deployment runs this in the project image before the server
starts (``python3 -m pipelines.jobs.fetch_model``): it downloads the model
package's artifact (the ``ModelDataUrl`` the SageMaker endpoint serves, read by
the program from the package), refuses it unless its sha256 is the one the
registry recorded (``ModelSha256``), and unpacks it into the volume the server
reads (``--model-dir``), as SageMaker unpacks ``model.tar.gz`` into
``/opt/ml/model``. An init container that ran before leaves a complete model
or none: the files are unpacked beside the target and moved in last.

AWS clients come from boto3's default chain: EKS Pod Identity in a pod,
``AWS_ENDPOINT_URL`` for an emulator.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from ml.errors import MlopsError
from ml.model_artifact import METADATA_FILE, MODEL_FILE, TARBALL, unpack
from pipelines.s3 import split_s3_uri

CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_model(s3: Any, url: str, model_dir: Path, sha256: str | None = None) -> Path:
    """Download ``url`` (a model tarball), check it, and unpack it into ``model_dir``."""
    from botocore.exceptions import ClientError

    bucket, key = split_s3_uri(url)
    model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=model_dir) as scratch:
        archive = Path(scratch) / TARBALL
        try:
            s3.download_file(bucket, key, str(archive))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "error")
            raise MlopsError(
                f"cannot download the model {url} ({code}); the pod's role reads only the "
                "pinned package's artifact: check the Pod Identity association"
            ) from None
        found = sha256_of(archive)
        if sha256 and found != sha256:
            raise MlopsError(
                f"{url} has sha256 {found}, but the registry recorded {sha256}; "
                "the artifact changed after registration: refusing to serve it"
            )
        unpacked = unpack(archive, Path(scratch) / "model")
        if not (unpacked / MODEL_FILE).is_file() or not (unpacked / METADATA_FILE).is_file():
            raise MlopsError(f"{url} holds no {MODEL_FILE} and {METADATA_FILE} at its root")
        for item in unpacked.iterdir():
            target = model_dir / item.name
            if target.is_dir():
                shutil.rmtree(target)
            item.replace(target)
    return model_dir


def main(argv: list[str] | None = None) -> int:
    """Init container entry point."""
    parser = argparse.ArgumentParser(description="Download and unpack the served model.")
    parser.add_argument("--model-data-url", required=True, help=f"s3:// URI of the {TARBALL}")
    parser.add_argument("--sha256", default=None, help="the artifact's recorded sha256")
    parser.add_argument("--model-dir", type=Path, default=Path("/opt/ml/model"))
    args = parser.parse_args(argv)
    import boto3

    try:
        fetch_model(boto3.client("s3"), args.model_data_url, args.model_dir, args.sha256)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"model {args.model_data_url} ready in {args.model_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
