"""The ``mlops`` command line: every command documents itself; failures are one line, exit 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ops.cli import app

REPO = Path(__file__).resolve().parents[2]


def command_paths(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        paths.append(path)
        if hasattr(command, "commands"):
            paths.extend(command_paths(command, path))
    return paths


ALL_COMMANDS = command_paths(typer.main.get_group(app))


def test_the_documented_interface_exists() -> None:
    names = {" ".join(path) for path in ALL_COMMANDS}
    for command in (
        "synth",
        "scan",
        "cost",
        "data generate",
        "data validate",
        "train",
        "evaluate",
        "serve",
        "drift",
        "quality",
        "pipeline definition",
        "pipeline run-local",
        "feature-store lock",
        "promote",
        "deploy",
        "rollback",
        "release changes",
        "emulator start",
        "emulator stop",
        "demo",
    ):
        assert command in names, command
    assert any(name.startswith("registry ") for name in names)


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p))
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


@pytest.mark.parametrize("arguments", [["nosuch"], ["synth"], ["synth", "--stack"]])
def test_usage_errors_exit_1_without_a_traceback(arguments: list[str]) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "ops.cli", "nosuch"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr and "Error:" in completed.stderr
