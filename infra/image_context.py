"""The project image's build context: which files it holds and their content hash.

``ml/Dockerfile`` builds from the repository root, and ``.dockerignore`` admits
only the step code (``ml/`` and ``pipelines/``). The hash of those files names
the image's tag, gives the offline plan a deterministic digest, and gives the
local runner the same placeholder reference, so every offline view of the
stack changes exactly when the code in the image does. No Pulumi import: the
local runner uses this module too.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = "ml/Dockerfile"
REQUIREMENTS = "ml/requirements.txt"
# Folders the build context admits (the "!" lines of .dockerignore).
CONTEXT_DIRS = ("ml", "pipelines")
EXCLUDED_PARTS = ("__pycache__",)
EXCLUDED_SUFFIXES = (".pyc",)
LOCAL_ACCOUNT = "123456789012"


def context_files(root: Path = REPO_ROOT) -> list[Path]:
    """The files sent to the builder, relative to ``root``, in a stable order."""
    found: list[Path] = []
    for folder in CONTEXT_DIRS:
        for path in (root / folder).rglob("*"):
            relative = path.relative_to(root)
            if not path.is_file() or any(part in EXCLUDED_PARTS for part in relative.parts):
                continue
            if path.suffix in EXCLUDED_SUFFIXES:
                continue
            found.append(relative)
    return sorted(found)


def context_sha256(root: Path = REPO_ROOT) -> str:
    """sha256 over the context's file names and contents; nothing else (no mtimes)."""
    digest = hashlib.sha256()
    for relative in context_files(root):
        digest.update(relative.as_posix().encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256((root / relative).read_bytes()).digest())
    return digest.hexdigest()


def image_tag(sha256: str) -> str:
    """The tag pushed with each build: the context hash (ECR tags are immutable)."""
    return f"ctx-{sha256[:32]}"


def repository_url(account: str, region: str, repository: str) -> str:
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{repository}"


def local_image_uri(repository: str, region: str, root: Path = REPO_ROOT) -> str:
    """A by-digest reference for offline runs: the context hash stands in for the digest."""
    url = repository_url(LOCAL_ACCOUNT, region, repository)
    return f"{url}@sha256:{context_sha256(root)}"
