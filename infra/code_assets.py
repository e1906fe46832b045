"""The step code, uploaded once per content as ``code/<sha256>/sourcedir.tar.gz``.

The archive is built deterministically (sorted entries, zero mtimes and owners,
gzip without a timestamp), so its sha256 changes only when the code does. The
key carries that hash: a new revision is a new object, old executions keep
reading the code they ran with, and the pipeline definition changes exactly when
the code does.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the local runner builds archives without loading Pulumi
    import pulumi
    import pulumi_aws as aws

    from infra.components.context import StackContext
    from infra.components.storage import StackStorage

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO_ROOT / "build" / "code"
ARCHIVE_NAME = "sourcedir.tar.gz"
# What the jobs import: the ML library, the dataset, feature-ingestion and champion steps
# (and the registry reads the champion step makes).
CODE_FILES = (
    "ml/**/*.py",
    "pipelines/__init__.py",
    "pipelines/champion.py",
    "pipelines/dataset.py",
    "pipelines/ingest.py",
    "pipelines/registry.py",
)
# SageMaker's scikit-learn serving container imports the module named by
# SAGEMAKER_PROGRAM from the top of the archive; this one hands it our handlers.
SERVING_ENTRY = "inference_entry.py"
GENERATED_FILES = {
    SERVING_ENTRY: (
        b'"""Entry of SageMaker\'s scikit-learn serving container (SAGEMAKER_PROGRAM)."""\n\n'
        b"from ml.inference import input_fn, model_fn, output_fn, predict_fn\n\n"
        b'__all__ = ["input_fn", "model_fn", "output_fn", "predict_fn"]\n'
    ),
}


@dataclass(frozen=True)
class CodeArchive:
    """A built archive of the step code and its content hash."""

    path: Path
    sha256: str

    @property
    def prefix(self) -> str:
        return f"code/{self.sha256}/"

    @property
    def key(self) -> str:
        return f"{self.prefix}{ARCHIVE_NAME}"


def code_files(root: Path = REPO_ROOT) -> list[Path]:
    """The files that go into the archive, relative to ``root``, in a stable order."""
    found: set[Path] = set()
    for pattern in CODE_FILES:
        found.update(p.relative_to(root) for p in root.glob(pattern) if p.is_file())
    return sorted(p for p in found if "__pycache__" not in p.parts)


def archive_bytes(root: Path = REPO_ROOT) -> bytes:
    """A tar.gz of the step code whose bytes depend only on file names and contents."""
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        entries = {p.as_posix(): (root / p).read_bytes() for p in code_files(root)}
        entries.update(GENERATED_FILES)
        for name, data in sorted(entries.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def build_archive(root: Path = REPO_ROOT, build_dir: Path = BUILD_DIR) -> CodeArchive:
    """Write the archive under ``build/code/<sha256>/`` (once per content) and return it."""
    data = archive_bytes(root)
    digest = hashlib.sha256(data).hexdigest()
    path = build_dir / digest / ARCHIVE_NAME
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        partial.replace(path)
    return CodeArchive(path=path, sha256=digest)


@dataclass(frozen=True)
class StepCode:
    """The uploaded step code: the object, its S3 prefix URI and its content hash."""

    archive: CodeArchive
    object: aws.s3.BucketObjectv2
    uri: pulumi.Output[str]


def upload_step_code(
    context: StackContext, storage: StackStorage, parent: pulumi.Resource
) -> StepCode:
    """Upload the archive to the artifacts bucket, encrypted with the stack key."""
    import pulumi
    import pulumi_aws as aws

    archive = build_archive()
    bucket = storage.artifacts
    uploaded = aws.s3.BucketObjectv2(
        context.name("step-code"),
        bucket=bucket.bucket.id,
        key=archive.key,
        source=pulumi.FileAsset(str(archive.path)),
        content_type="application/gzip",
        server_side_encryption="aws:kms",
        kms_key_id=storage.key.arn,
        bucket_key_enabled=True,
        tags={**context.tags("pipeline"), "sha256": archive.sha256},
        # A new revision replaces the resource; the old object stays for the runs that used it.
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True),
    )
    uri = pulumi.Output.concat("s3://", bucket.name, "/", archive.prefix)
    return StepCode(archive=archive, object=uploaded, uri=uri)
