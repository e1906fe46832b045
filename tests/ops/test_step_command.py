"""``mlops <step>`` options come from the step's dataclass, as the container's parser does."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from typer.testing import CliRunner

from ml.options import MISSING, Option, option_fields
from ml.step_options import (
    DriftOptions,
    EvaluateOptions,
    QualityOptions,
    ServeOptions,
    TrainOptions,
)
from ops.cli import app as mlops
from ops.commands.step_command import step_command


@dataclass(frozen=True)
class Inner:
    low: Annotated[float, Option("Lowest value.")] = 0.5


@dataclass(frozen=True)
class Example:
    target: Annotated[Path, Option("Output.", container=Path("/opt/ml/out"), env="EX_OUT")]
    count: Annotated[int, Option("How many.")] = 3
    strict: Annotated[bool, Option("Be strict.")] = True
    detect: Annotated[bool | None, Option("Guess when unset.", cli_flag="--detect/--plain")] = None
    inner: Inner = field(default_factory=Inner)


def _app(seen: list[Any]) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    @step_command(Example)
    def example(
        options: Example, loud: Annotated[bool, typer.Option("--loud", help="Shout.")] = False
    ) -> None:
        """An example step."""
        seen.append((options, loud))

    @app.command()
    def other() -> None:
        """A second command, so the first keeps its name."""

    return app


def test_the_command_gets_the_built_options_and_its_own_parameters():
    seen: list[Any] = []
    result = CliRunner().invoke(
        _app(seen),
        ["example", "--target", "t", "--count", "5", "--no-strict", "--plain", "--low", "0.1",
         "--loud"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert seen == [(Example(Path("t"), 5, False, False, Inner(0.1)), True)]


def test_defaults_are_the_fields_and_a_field_without_one_is_required():
    seen: list[Any] = []
    assert CliRunner().invoke(_app(seen), ["example", "--target", "t"]).exit_code == 0
    assert seen == [(Example(Path("t")), False)]
    missing = CliRunner().invoke(_app(seen), ["example"])
    assert missing.exit_code == 2 and "--target" in missing.output


def test_help_shows_the_fields_help_and_the_container_default_stays_out():
    result = CliRunner().invoke(_app([]), ["example", "--help"], env={"COLUMNS": "200"})
    assert "How many." in result.output and "--detect" in result.output
    assert "/opt/ml/out" not in result.output and "EX_OUT" not in result.output


STEPS = {
    "train": TrainOptions,
    "evaluate": EvaluateOptions,
    "serve": ServeOptions,
    "drift": DriftOptions,
    "quality": QualityOptions,
}


@pytest.mark.parametrize(("command", "options"), STEPS.items())
def test_mlops_step_defaults_are_the_step_options_defaults(command: str, options: type):
    group: Any = typer.main.get_command(mlops)
    params = {p.name: p for p in group.commands[command].params}
    for item in option_fields(options):
        param = params[item.name]
        assert item.flag in param.opts, item.name
        if item.default is MISSING:
            assert param.required, item.name
        else:
            assert param.default == item.default, item.name
