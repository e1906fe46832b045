"""The warm start runs a step as the plain subprocess does: same argv, cwd, environment, result."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ops.local import container
from ops.local.container import PathMap
from ops.simulate.warm_start import WarmStart, base_environment

PROBE = "tests.ops.simulate.probe_step"


@pytest.fixture(scope="module")
def warm() -> Iterator[WarmStart]:
    with WarmStart(base_environment({"AWS_DEFAULT_REGION": "us-east-1"})) as started:
        yield started


def step_environment(tmp_path: Path) -> dict[str, str]:
    paths = PathMap(tmp_path / "opt" / "ml")
    return container.environment(
        container.read_image(),
        paths,
        emulator={
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
            "AWS_ACCESS_KEY_ID": "step-key",
            "AWS_SECRET_ACCESS_KEY": "step-secret",
        },
        job={"JOB_SETTING": "from the definition"},
        platform={"TRAINING_JOB_NAME": "probe-job"},
    )


def run_probe(launcher: Any, tmp_path: Path, name: str, code: int = 0) -> tuple[Any, dict, str]:
    folder = tmp_path / name
    folder.mkdir()
    out = folder / "report.json"
    paths = PathMap(folder / "opt" / "ml")
    argv = [sys.executable, "-m", PROBE, str(out), str(code)]
    log = folder / "log.txt"
    reason = launcher(argv, step_environment(tmp_path), container.REPO_ROOT, log, paths)
    return reason, json.loads(out.read_text()), log.read_text()


def test_a_forked_step_sees_what_a_subprocess_sees(warm: WarmStart, tmp_path: Path) -> None:
    _, cold, cold_log = run_probe(container.run, tmp_path, "cold")
    _, forked, forked_log = run_probe(warm, tmp_path, "warm")
    for key in ("argv", "argv0", "cwd", "env", "path0", "name", "boto3"):
        assert forked[key] == cold[key], key
    assert forked["boto3"] == {
        "region": "eu-west-1",
        "endpoint": "http://127.0.0.1:1",
        "access_key": "step-key",
    }
    assert forked_log == cold_log == "probe ran\n"


def test_the_warm_interpreter_holds_no_module_of_the_project(
    warm: WarmStart, tmp_path: Path
) -> None:
    _, forked, _ = run_probe(warm, tmp_path, "modules")
    assert forked["project_modules"] == []


def test_a_failing_step_fails_alike_with_its_last_stderr_line(
    warm: WarmStart, tmp_path: Path
) -> None:
    cold, _, cold_log = run_probe(container.run, tmp_path, "cold", code=3)
    forked, _, forked_log = run_probe(warm, tmp_path, "warm", code=3)
    assert cold == forked == "probe failed on purpose"
    assert forked_log == cold_log


def test_step_code_is_compiled_once_outside_the_source_tree(
    warm: WarmStart, tmp_path: Path
) -> None:
    """As the image compiles it at build time; the repository gets no ``__pycache__``."""
    _, forked, _ = run_probe(warm, tmp_path, "bytecode")
    bytecode = forked["bytecode"]
    assert bytecode["compiled"], bytecode
    assert bytecode["prefix"] and not Path(bytecode["cached"]).is_relative_to(
        container.REPO_ROOT / "ml"
    )


def test_what_the_server_imported_is_outside_the_steps_collections(
    warm: WarmStart, tmp_path: Path
) -> None:
    _, cold, _ = run_probe(container.run, tmp_path, "cold")
    _, forked, _ = run_probe(warm, tmp_path, "warm")
    assert cold["frozen_objects"] == 0 and forked["frozen_objects"] > 100_000


def test_each_step_is_counted(warm: WarmStart, tmp_path: Path) -> None:
    before, calls = warm.steps, len(warm.calls)
    run_probe(warm, tmp_path, "counted")
    assert warm.steps == before + 1 and len(warm.calls) == calls + 1
    module, wall, cpu = warm.calls[-1]
    assert module == PROBE and wall > 0 and cpu >= 0
