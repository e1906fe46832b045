"""The project image's container, reproduced as a local subprocess.

SageMaker runs a job as ``docker run --entrypoint <ContainerEntrypoint> <image>
<ContainerArguments>`` with the image's ``ENV``, the job's ``Environment`` and
what the platform adds (``TRAINING_JOB_NAME``, the ``/opt/ml/config`` files).
Here the same command runs as a subprocess of this interpreter: ``python3``
is ``sys.executable``, the image's ``/opt/program`` is the repository root,
``/opt/ml`` is a directory of the step, and the environment is built from
scratch (nothing of this process leaks in but ``PATH`` and ``HOME``).

Processing contract: https://docs.aws.amazon.com/sagemaker/latest/dg/build-your-own-processing-container.html
Training contract: https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml.errors import MlopsError
from ml.threads import job_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "ml" / "Dockerfile"
IMAGE_CODE_ROOT = "/opt/program"
ML_ROOT = "/opt/ml"
FAILURE_FILE = "/opt/ml/output/failure"
FAILURE_LIMIT = 1024  # SageMaker keeps the first 1 KiB of the failure file as FailureReason
PYTHON_NAMES = frozenset({"python", "python3", "python3.11"})
_CONTAINER_PATH = re.compile(r"(?<![^\s=:,])(/opt/ml|/opt/program)(?=$|[/\s:,])")


@dataclass(frozen=True)
class Image:
    """What a job's container gets from the image: its ``ENV`` and ``WORKDIR``."""

    env: dict[str, str] = field(default_factory=dict)
    workdir: str = IMAGE_CODE_ROOT


def read_image(dockerfile: Path = DOCKERFILE) -> Image:
    """The final stage's ``ENV`` (with what ``FROM <stage>`` inherits) and ``WORKDIR``."""
    from dockerfile_parse import DockerfileParser
    from dockerfile_parse.parser import image_from

    if not dockerfile.is_file():
        raise MlopsError(f"{dockerfile} does not exist; the local runner reads the image's ENV")
    parsed = DockerfileParser(fileobj=io.BytesIO(dockerfile.read_bytes()))
    stages: dict[str, Image] = {}
    image = Image({}, "/")
    try:
        for stage in _stages(parsed.structure):
            base, alias = image_from(stage[0]["value"])
            image = _stage_image(stage, stages.get(str(base).lower(), Image({}, "/")))
            if alias:
                stages[alias.lower()] = image
    except (ValueError, IndexError) as error:  # dockerfile-parse's word for a malformed line
        reason = str(error) or "an ENV line without a value"
        raise MlopsError(f"cannot read the ENV of {dockerfile}: {reason}") from None
    return image


def _stages(structure: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The instructions of each stage, its ``FROM`` first (what precedes the first is dropped)."""
    stages: list[list[dict[str, Any]]] = []
    for instruction in structure:
        if instruction["instruction"] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _stage_image(stage: list[dict[str, Any]], base: Image) -> Image:
    """One stage read on top of its base stage's environment (``$VAR`` resolved as Docker does)."""
    from dockerfile_parse import DockerfileParser
    from dockerfile_parse.util import WordSplitter

    text = "".join(instruction["content"] for instruction in stage)
    parsed = DockerfileParser(fileobj=io.BytesIO(text.encode()), parent_env=dict(base.env))
    workdir, env = base.workdir, dict(base.env)
    for instruction, context in zip(parsed.structure, parsed.context_structure, strict=True):
        env = context.envs
        if instruction["instruction"] == "WORKDIR":
            path = WordSplitter(instruction["value"], envs=env).dequote()
            workdir = path if path.startswith("/") else f"{workdir.rstrip('/')}/{path}"
    return Image(dict(env), workdir)


@dataclass(frozen=True)
class PathMap:
    """Container paths to local ones: ``/opt/ml`` to the step root, ``/opt/program`` to the repo."""

    ml_root: Path
    code_root: Path = REPO_ROOT

    def local(self, container_path: str) -> Path:
        return Path(self.text(container_path))

    def text(self, value: str) -> str:
        """``value`` with its container paths mapped (a path, ``--x=/opt/ml/..``, a list)."""
        return _CONTAINER_PATH.sub(self._replace, value)

    def _replace(self, match: re.Match[str]) -> str:
        return str(self.ml_root if match.group(1) == ML_ROOT else self.code_root)

    def document(self, value: Any) -> Any:
        """A JSON document with every string mapped, as the config files describe the container."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.document(item) for item in value]
        if isinstance(value, dict):
            return {key: self.document(item) for key, item in value.items()}
        return value


def environment(
    image: Image,
    paths: PathMap,
    *,
    emulator: Mapping[str, str],
    job: Mapping[str, str],
    platform: Mapping[str, str],
) -> dict[str, str]:
    """The environment from scratch: threads < image ENV < emulator < job Environment < platform.

    The threads are the container's: the job is the one process of its container,
    so it gets a thread per CPU this machine gives it (affinity and cgroup quota,
    ``ml.threads``), not the host's count that OpenMP would take.
    """
    env = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    for layer in (job_environment(), image.env, emulator, job, platform):
        env.update({key: paths.text(str(value)) for key, value in layer.items()})
    # ``python3`` on PATH is this interpreter, as it is the image's Python in the container.
    interpreter_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([interpreter_dir, *filter(None, env.get("PATH", "").split(":"))])
    return env


def command(entrypoint: list[str], arguments: list[str], paths: PathMap) -> list[str]:
    """``ContainerEntrypoint`` + ``ContainerArguments`` with ``python3`` and paths mapped."""
    if not entrypoint:
        raise MlopsError(
            "the step has no ContainerEntrypoint; the local runner runs the definition's command"
        )
    program, *rest = entrypoint
    executable = sys.executable if program in PYTHON_NAMES else paths.text(program)
    return [executable, *(paths.text(str(part)) for part in [*rest, *arguments])]


def write_config(paths: PathMap, container_path: str, document: Any) -> None:
    """One of SageMaker's ``/opt/ml/...config...json`` files, paths inside mapped."""
    target = paths.local(container_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(paths.document(document), indent=2), encoding="utf-8")


def run(
    argv: list[str], env: dict[str, str], cwd: Path, log_path: Path, paths: PathMap
) -> str | None:
    """Run the container's command; None on exit 0, else why it failed.

    The reason is the failure file (``/opt/ml/output/failure``) when the job wrote
    one, else the last line on stderr. stdout and stderr stay in ``log_path``.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log:
        done = subprocess.run(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        log.write(done.stderr)
    return failure_reason(done.returncode, done.stderr, argv, paths)


def failure_reason(returncode: int, stderr: str, argv: list[str], paths: PathMap) -> str | None:
    """None on exit 0; else the failure file's first KiB, or the last line on stderr."""
    if returncode == 0:
        return None
    failure = paths.local(FAILURE_FILE)
    if failure.is_file():
        reason = failure.read_text(encoding="utf-8", errors="replace")[:FAILURE_LIMIT].strip()
        if reason:
            return reason
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"{Path(argv[0]).name} exited {returncode}"


def image_digest(root: Path = REPO_ROOT) -> str:
    """sha256 of the image's build context: locally, what an image digest stands for."""
    from infra.image_context import context_sha256

    return context_sha256(root)
