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

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml.errors import MlopsError

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "ml" / "Dockerfile"
IMAGE_CODE_ROOT = "/opt/program"
ML_ROOT = "/opt/ml"
FAILURE_FILE = "/opt/ml/output/failure"
FAILURE_LIMIT = 1024  # SageMaker keeps the first 1 KiB of the failure file as FailureReason
PYTHON_NAMES = frozenset({"python", "python3", "python3.11"})
_CONTAINER_PATH = re.compile(r"(?<![^\s=:,])(/opt/ml|/opt/program)(?=$|[/\s:,])")
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


@dataclass(frozen=True)
class Image:
    """What a job's container gets from the image: its ``ENV`` and ``WORKDIR``."""

    env: dict[str, str] = field(default_factory=dict)
    workdir: str = IMAGE_CODE_ROOT


def read_image(dockerfile: Path = DOCKERFILE) -> Image:
    """The final stage's ``ENV`` (inherited from ``FROM <stage>``) and ``WORKDIR``."""
    if not dockerfile.is_file():
        raise MlopsError(f"{dockerfile} does not exist; the local runner reads the image's ENV")
    stages: dict[str, Image] = {}
    env: dict[str, str] = {}
    workdir, alias = "/", None
    for instruction, rest in _instructions(dockerfile.read_text(encoding="utf-8")):
        if instruction == "FROM":
            if alias is not None:
                stages[alias] = Image(dict(env), workdir)
            words = [word for word in rest.split() if not word.startswith("--")]
            base = stages.get(words[0].lower()) if words else None
            env, workdir = (dict(base.env), base.workdir) if base else ({}, "/")
            alias = words[2].lower() if len(words) >= 3 and words[1].upper() == "AS" else None
        elif instruction == "ENV":
            env.update(_env_pairs(rest, env))
        elif instruction == "WORKDIR":
            path = _substitute(rest.strip(), env)
            workdir = path if path.startswith("/") else f"{workdir.rstrip('/')}/{path}"
    return Image(dict(env), workdir)


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # Docker drops comment lines inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        if whole:
            word, _, rest = whole.partition(" ")
            found.append((word.upper(), rest.strip()))
    if pending.strip():
        word, _, rest = pending.strip().partition(" ")
        found.append((word.upper(), rest.strip()))
    return found


def _env_pairs(rest: str, env: Mapping[str, str]) -> dict[str, str]:
    """``ENV k=v k2="v 2"`` or the legacy ``ENV key value with spaces``."""
    words = shlex.split(rest)
    if not words:
        return {}
    if "=" not in words[0]:
        key, _, value = rest.partition(" ")
        return {key: _substitute(" ".join(shlex.split(value)), env)}
    pairs: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            raise MlopsError(f"cannot read ENV {rest!r} in the Dockerfile: {word!r} has no '='")
        pairs[key] = _substitute(value, {**env, **pairs})
    return pairs


def _substitute(value: str, env: Mapping[str, str]) -> str:
    return _VARIABLE.sub(lambda m: env.get(m.group(1) or m.group(2), ""), value)


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
    """The environment from scratch: image ENV < emulator < job Environment < platform."""
    env = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    for layer in (image.env, emulator, job, platform):
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
    if done.returncode == 0:
        return None
    failure = paths.local(FAILURE_FILE)
    if failure.is_file():
        reason = failure.read_text(encoding="utf-8", errors="replace")[:FAILURE_LIMIT].strip()
        if reason:
            return reason
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"{Path(argv[0]).name} exited {done.returncode}"


def image_digest(root: Path = REPO_ROOT) -> str:
    """sha256 of the image's build context: locally, what an image digest stands for."""
    from infra.image_context import context_sha256

    return context_sha256(root)
