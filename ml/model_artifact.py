"""The model artifact: the files a trained model is made of, in a directory or a tarball.

Training writes a model directory; a SageMaker training job hands it on as
``model.tar.gz`` with the directory's files at the archive root (the registry's
``ModelDataUrl``). Serving, evaluation, drift and quality read either form.
Every reader and writer of these files goes through this module, so each file
name is defined here and nowhere else.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ml.errors import MlopsError

MODEL_FILE = "model.joblib"  # the fitted estimator (joblib)
METADATA_FILE = "metadata.json"  # features, decision threshold, provenance
BASELINE_FILE = "drift_baseline.json"  # training distributions for drift
TARBALL = "model.tar.gz"  # the directory's files at the archive root, as SageMaker packs them


# What a truncated or corrupt gzipped tarball raises while it is read.
_BROKEN = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile)


class ModelLoadError(MlopsError):
    """A model directory or tarball without a loadable model."""


def write_model(
    model_dir: Path, model: Any, metadata: dict[str, Any], baseline: dict[str, Any]
) -> None:
    """Write the model, its metadata and its drift baseline, each file atomically."""
    import joblib

    from ml.io import write_atomic

    model_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    write_atomic(model_dir / MODEL_FILE, buffer.getvalue())
    write_atomic(model_dir / BASELINE_FILE, json.dumps(baseline, indent=2))
    write_atomic(model_dir / METADATA_FILE, json.dumps(metadata, indent=2))


def pack(model_dir: Path, archive: Path) -> Path:
    """Pack a model directory as SageMaker does: every file, relative to the archive root.

    The archive is written under a temporary name and renamed, so a reader never
    sees half of it; an archive inside the directory is not packed into itself.
    """
    tmp = archive.with_name(f".{archive.name}.tmp")
    skip = {archive.resolve(), tmp.resolve()}
    files = sorted(p for p in model_dir.rglob("*") if p.is_file() and p.resolve() not in skip)
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tmp, "w:gz") as tar:
        for path in files:
            tar.add(path, arcname=path.relative_to(model_dir).as_posix())
    tmp.replace(archive)
    return archive


def unpack(archive: Path, destination: Path) -> Path:
    """Extract a model tarball safely, with tarfile's ``data`` filter.

    A member that would land outside ``destination`` (``..``, a link out) or is
    a device is refused; a leading ``/`` is stripped, so absolute names land inside.
    """
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(destination, filter="data")
    except tarfile.FilterError as error:
        raise ModelLoadError(
            f"{archive}: unsafe member {error.tarinfo.name!r}; rebuild the artifact from "
            "a model directory"
        ) from None
    except _BROKEN:
        raise _unreadable(archive) from None
    return destination


@contextmanager
def model_files(model_dir: Path) -> Iterator[Path]:
    """A directory holding the model's files: ``model_dir`` itself, or its tarball unpacked.

    A tarball is unpacked into a temporary directory (removed afterwards), so a
    read-only model mount works.
    """
    archive = model_dir / TARBALL
    if (model_dir / MODEL_FILE).exists() or not archive.is_file():
        yield model_dir
        return
    with tempfile.TemporaryDirectory(prefix="mlops-model-") as scratch:
        yield unpack(archive, Path(scratch))


def load_model(model_dir: Path) -> tuple[Any, dict[str, Any]]:
    """The fitted model and its metadata, from a model directory or its tarball."""
    import joblib

    with model_files(model_dir) as directory:
        model_file, metadata_file = directory / MODEL_FILE, directory / METADATA_FILE
        if not model_file.is_file() or not metadata_file.is_file():
            raise ModelLoadError(
                f"{model_dir}: no {MODEL_FILE} and {METADATA_FILE}; run 'mlops train' first"
            )
        try:
            metadata = json.loads(metadata_file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ModelLoadError(
                f"{model_dir}: {METADATA_FILE} is not JSON; retrain the model"
            ) from None
        return joblib.load(model_file), metadata


def read_file(path: Path, name: str) -> bytes | None:
    """One file of a model: ``path`` itself when it is a file, else ``name`` in the directory
    or, failing that, in its tarball; None when none of them holds it.

    Only that member is read from the tarball, so nothing is extracted.
    """
    if path.is_file():
        return path.read_bytes()
    direct = path / name
    if direct.is_file():
        return direct.read_bytes()
    archive = path / TARBALL
    if not archive.is_file():
        return None
    try:
        with tarfile.open(archive) as tar:
            for candidate in (name, f"./{name}"):
                try:
                    member = tar.getmember(candidate)
                except KeyError:
                    continue
                handle = tar.extractfile(member)
                return handle.read() if handle is not None else None
    except _BROKEN:
        raise _unreadable(archive) from None
    return None


def _unreadable(archive: Path) -> ModelLoadError:
    return ModelLoadError(
        f"{archive}: not a readable gzipped tar model artifact; rebuild it from a model directory"
    )
