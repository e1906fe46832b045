"""Step options declared once: the container's argparse parser is derived from the dataclass."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import pytest

from ml.options import Option, build, container_parser, option_fields, parse, parse_bool
from ml.step_options import (
    PROCESSING,
    DriftOptions,
    EvaluateOptions,
    QualityOptions,
    ServeOptions,
    Thresholds,
    TrainOptions,
    TrainParams,
)


@dataclass(frozen=True)
class Limits:
    low: Annotated[float, Option("Lowest value.")] = 0.5


@dataclass(frozen=True)
class Example:
    source: Annotated[Path, Option("Input.", container=Path("/opt/ml/input"), env="EX_INPUT")]
    target: Annotated[Path, Option("Output, required everywhere.")]
    count: Annotated[int, Option("How many.", env="EX_COUNT")] = 3
    strict: Annotated[bool, Option("Be strict.")] = True
    detect: Annotated[bool | None, Option("Decide for me when unset.")] = None
    limits: Limits = field(default_factory=Limits)
    note: str = "not an option"


def test_fields_are_flattened_in_order_and_plain_fields_are_not_options():
    assert [f.flag for f in option_fields(Example)] == [
        "--source", "--target", "--count", "--strict", "--detect", "--low",
    ]  # fmt: skip


def test_the_container_default_comes_from_its_variable_then_its_own_then_the_field():
    parser = container_parser(Example, "x", environ={"EX_COUNT": "7"})
    options = build(Example, vars(parser.parse_args(["--target", "t"])))
    assert options == Example(Path("/opt/ml/input"), Path("t"), count=7)
    parser = container_parser(Example, "x", environ={"EX_INPUT": "/data", "EX_COUNT": ""})
    assert parser.parse_args(["--target", "t"]).source == Path("/data")
    assert parser.parse_args(["--target", "t"]).count == 3


def test_an_option_without_any_default_is_required_in_the_container(capsys):
    with pytest.raises(SystemExit):
        container_parser(Example, "x", environ={}).parse_args([])
    assert "--target" in capsys.readouterr().err


def test_booleans_are_valued_in_the_container_and_optional_ones_are_switches():
    parser = container_parser(Example, "x", environ={})
    args = parser.parse_args(["--target", "t", "--strict", "false", "--no-detect", "--low", "0.1"])
    options = build(Example, vars(args))
    assert (options.strict, options.detect, options.limits) == (False, False, Limits(0.1))


@pytest.mark.parametrize(("text", "value"), [("true", True), ("No", False), ("1", True)])
def test_hyperparameter_booleans_read_as_sagemaker_writes_them(text, value):
    assert parse_bool(text) is value


def test_a_bad_boolean_names_the_accepted_words():
    with pytest.raises(argparse.ArgumentTypeError, match="expected true or false, got 'maybe'"):
        parse_bool("maybe")


def test_the_steps_keep_the_flags_the_pipeline_and_the_readme_use():
    flags = {cls: {f.flag for f in option_fields(cls)} for cls in (TrainOptions, EvaluateOptions)}
    assert {"--model-dir", "--train", "--validation", "--calibrate", "--pos-weight"} <= flags[
        TrainOptions
    ]
    assert {"--model-dir", "--test", "--out", "--gates", "--champion-metrics"} <= flags[
        EvaluateOptions
    ]
    drift = {f.flag for f in option_fields(DriftOptions)}
    assert {"--psi-warn", "--psi-alarm", "--window-hours", "--quarantine", "--capture"} <= drift


def test_every_hyperparameter_is_a_training_flag_with_its_default():
    parser = container_parser(TrainOptions, "x", environ={})
    defaults = vars(parser.parse_args([]))
    assert build(TrainParams, defaults) == TrainParams()
    assert {f.name for f in option_fields(TrainParams)} <= defaults.keys()


def test_the_container_reads_the_sagemaker_paths_and_variables():
    environ = {"SM_MODEL_DIR": "/m", "SM_CHANNEL_TRAIN": "/t", "SAGEMAKER_BIND_TO_PORT": "9000"}
    train = build(TrainOptions, vars(container_parser(TrainOptions, "x", environ).parse_args([])))
    assert (train.model_dir, train.train, train.validation) == (Path("/m"), Path("/t"), None)
    serve = build(ServeOptions, vars(container_parser(ServeOptions, "x", environ).parse_args([])))
    assert (serve.model_dir, serve.host, serve.port) == (Path("/m"), "127.0.0.1", 9000)
    drift = parse(DriftOptions, [], "x")
    assert drift.baseline == PROCESSING / "baseline"
    assert drift.reading.quarantine == PROCESSING / "output" / "quarantine"
    assert drift.thresholds == Thresholds(0.1, 0.25)
    quality = parse(QualityOptions, ["--window-hours", "2"], "x")
    assert quality.out == PROCESSING / "output" / "quality.json"
    assert quality.reading.window_hours == 2.0


@pytest.mark.parametrize(
    "options", [TrainOptions, EvaluateOptions, ServeOptions, DriftOptions, QualityOptions]
)
def test_every_container_parser_prints_its_help_with_the_defaults(options, capsys):
    with pytest.raises(SystemExit) as done:
        container_parser(options, "x", environ={}).parse_args(["--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for item in option_fields(options):
        assert item.flag in text
    if options is TrainOptions:
        assert "latest 20% of training rows" in text and "(default: 0.08)" in text
