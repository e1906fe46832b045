"""Warm start for job steps: a pre-imported interpreter forked once per step.

A step subprocess spends 1-2 s starting Python and importing pandas, numpy,
scikit-learn and boto3 before it does anything; a simulated week runs hundreds
of steps. ``WarmStart`` keeps one interpreter (``fork_server.py``) that has
imported those third-party modules and nothing of the project (and has read
botocore's service models, ``fork_server.warm_botocore``), and forks it for each
step: the step is still a separate process, with the container's
environment (replaced whole), argv and working directory, and runs the
project's code as it is on disk. It is a ``JobRunner`` launcher with the same
contract as ``ops.local.container.run``; ``mlops pipeline run-local`` keeps the
plain subprocess, and a test runs one step both ways and compares.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from ml.errors import MlopsError
from ops.local import container
from ops.local.container import PathMap

SERVER = Path(__file__).with_name("fork_server.py")
# What the step modules import at their top or first call; third-party only. The lazy
# imports matter most: the image's interpreter has them compiled, a venv may not, and a
# step (which writes no bytecode) would compile them again each time (pandera's checks
# import hypothesis: about 100 modules).
PRELOAD = (
    "numpy",
    "pandas",
    "pandas.core.arrays.arrow.extension_types",
    "pandas.io.formats.csvs",
    "pyarrow",
    "pyarrow.csv",
    "pyarrow.dataset",
    "pyarrow.pandas_compat",
    "pyarrow.parquet",
    "joblib",
    "sklearn.base",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "sklearn.metrics",
    "sklearn.pipeline",
    "pandera.pandas",
    "pandera.errors",
    "pandera.accessors.pandas_accessor",
    "pandera.backends.pandas.builtin_checks",
    "pandera.backends.pandas.builtin_hypotheses",
    "pandera.backends.pandas.register",
    "boto3",
    "boto3.s3.inject",
    "boto3.s3.transfer",
    "botocore.exceptions",
    "matplotlib",
    "matplotlib.backends.backend_agg",
    "matplotlib.pyplot",
)


# The services every monitoring and training step makes a client of.
BOTOCORE_SERVICES = ("s3", "sagemaker", "cloudwatch")
# The step code the image compiles at build time (ml/Dockerfile: ``python3 -m compileall``).
STEP_CODE = ("ml", "pipelines")


class WarmStartError(MlopsError):
    """The pre-imported interpreter could not start or stopped answering."""


class WarmStart:
    """A ``JobRunner`` launcher: the step's command, forked from a pre-imported interpreter."""

    def __init__(
        self,
        base_env: dict[str, str],
        preload: tuple[str, ...] = PRELOAD,
        botocore_services: tuple[str, ...] = BOTOCORE_SERVICES,
    ) -> None:
        """Start the server with ``base_env`` (the image's environment, as a step gets it)."""
        importable = [name for name in preload if _installed(name)]
        warm = ["--botocore", ",".join(botocore_services)] if botocore_services else []
        self._pycache = tempfile.TemporaryDirectory(prefix="warm-start-pycache-")
        code = ",".join(str(container.REPO_ROOT / folder) for folder in STEP_CODE)
        compiled = ["--compile", code, "--pycache", self._pycache.name]
        self._process = subprocess.Popen(  # this interpreter running a file of this package
            [sys.executable, str(SERVER), *importable, *warm, *compiled],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**base_env, "MPLBACKEND": "Agg"},
            cwd=str(container.REPO_ROOT),
            text=True,
        )
        self.steps = 0
        self.by_module: dict[str, list[float]] = {}  # module: steps, wall, CPU seconds
        self.calls: list[tuple[str, float, float]] = []  # each step: module, wall, CPU seconds
        ready = self._reply()
        if "ready" not in ready:
            raise WarmStartError(f"the warm-start interpreter did not start: {ready}")

    def __call__(
        self, argv: list[str], env: dict[str, str], cwd: Path, log_path: Path, paths: PathMap
    ) -> str | None:
        """Run one step; None on exit 0, else why it failed (``container.run``'s contract)."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("", encoding="utf-8")
        stderr_path = log_path.with_name(f"{log_path.name}.stderr")
        request = {
            "argv": argv,
            "env": env,
            "cwd": str(cwd),
            "stdout": str(log_path),
            "stderr": str(stderr_path),
        }
        before, began = self.children_cpu(), time.perf_counter()
        self._send(request)
        code = int(self._reply()["returncode"])
        self.steps += 1
        module = argv[2] if len(argv) > 2 else argv[0]
        wall, cpu = time.perf_counter() - began, self.children_cpu() - before
        spent = self.by_module.setdefault(module, [0, 0.0, 0.0])
        spent[0] += 1
        spent[1] += wall
        spent[2] += cpu
        self.calls.append((module, wall, cpu))
        stderr = stderr_path.read_text(encoding="utf-8", errors="replace")
        stderr_path.unlink()
        with log_path.open("a", encoding="utf-8") as log:
            log.write(stderr)
        return container.failure_reason(code, stderr, argv, paths)

    def children_cpu(self) -> float:
        """CPU seconds of the steps forked so far (the server's reaped children, from /proc)."""
        try:
            fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[13]) + int(fields[14])) / ticks  # cutime, cstime

    def _send(self, request: dict[str, Any]) -> None:
        stdin = self._pipe(self._process.stdin)
        try:
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
        except BrokenPipeError:
            raise WarmStartError("the warm-start interpreter has stopped") from None

    def _reply(self) -> dict[str, Any]:
        line = self._pipe(self._process.stdout).readline()
        if not line:
            raise WarmStartError(
                f"the warm-start interpreter exited with {self._process.wait()}; "
                "run without it to see the step's own error"
            )
        reply: dict[str, Any] = json.loads(line)
        return reply

    @staticmethod
    def _pipe(stream: IO[str] | None) -> IO[str]:
        if stream is None:
            raise WarmStartError("the warm-start interpreter has no pipe")
        return stream

    def close(self) -> None:
        """Stop the server (it exits when its stdin closes) and wait for it."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._pycache.cleanup()

    def __enter__(self) -> WarmStart:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _installed(name: str) -> bool:
    from importlib.util import find_spec

    try:
        return find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def base_environment(emulator: dict[str, str]) -> dict[str, str]:
    """What every step's container starts with: the image's ENV and the emulator's variables."""
    image = container.read_image()
    paths = PathMap(container.REPO_ROOT / "build" / "warm-start")
    return container.environment(image, paths, emulator=emulator, job={}, platform={})
