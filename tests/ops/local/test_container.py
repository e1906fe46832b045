"""The container a job step runs in: the image's ENV and WORKDIR, paths and command mapped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ml.errors import MlopsError
from ops.local.container import Image, PathMap, command, environment, read_image


def image_of(tmp_path: Path, text: str) -> Image:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(text, encoding="utf-8")
    return read_image(dockerfile)


def test_env_lines_continued_and_quoted_are_read(tmp_path) -> None:
    image = image_of(
        tmp_path,
        "FROM python:3.11-slim\n# a comment\n"
        'ENV A=1 \\\n    # inside\n    B="two words" \\\n    C=3\n',
    )
    assert image.env == {"A": "1", "B": "two words", "C": "3"}


def test_the_legacy_env_form_takes_the_rest_of_the_line(tmp_path) -> None:
    assert image_of(tmp_path, "FROM x\nENV GREETING hello there\n").env == {
        "GREETING": "hello there"
    }


def test_env_values_may_refer_to_earlier_ones(tmp_path) -> None:
    image = image_of(tmp_path, "FROM x\nENV ROOT=/opt/program\nENV PYTHONPATH=${ROOT}/src:$ROOT\n")
    assert image.env["PYTHONPATH"] == "/opt/program/src:/opt/program"


def test_only_the_final_stage_and_the_stages_it_builds_on_count(tmp_path) -> None:
    image = image_of(
        tmp_path,
        "FROM python AS build\nENV BUILD=1\n"
        "FROM python AS base\nENV BASE=1\nWORKDIR /opt/program\n"
        "FROM base\nENV FINAL=1\n",
    )
    assert image.env == {"BASE": "1", "FINAL": "1"}
    assert image.workdir == "/opt/program"


def test_a_later_stage_resolves_variables_and_workdirs_it_inherits(tmp_path) -> None:
    image = image_of(
        tmp_path,
        "FROM python AS base\nENV ROOT=/srv\nWORKDIR $ROOT\n"
        "FROM BASE\nENV DATA=${ROOT}/data\nWORKDIR app\n",
    )
    assert image.env == {"ROOT": "/srv", "DATA": "/srv/data"}
    assert image.workdir == "/srv/app"


@pytest.mark.parametrize("line", ["ENV A=1 B", "ENV"])
def test_a_malformed_env_line_is_one_clear_error(tmp_path, line) -> None:
    with pytest.raises(MlopsError, match=r"^cannot read the ENV of .*Dockerfile: "):
        image_of(tmp_path, f"FROM x\n{line}\n")


def test_the_project_image_works_in_opt_program() -> None:
    assert read_image().workdir == "/opt/program"


def test_a_missing_dockerfile_is_one_clear_error(tmp_path) -> None:
    with pytest.raises(MlopsError, match="does not exist"):
        read_image(tmp_path / "Dockerfile")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/opt/ml/processing/input", "{ml}/processing/input"),
        ("/opt/ml", "{ml}"),
        ("--model-dir=/opt/ml/model", "--model-dir={ml}/model"),
        ("/opt/program:/opt/ml/code", "{code}:{ml}/code"),
        ("/opt/mlx/data", "/opt/mlx/data"),
        ("/srv/opt/ml/data", "/srv/opt/ml/data"),
    ],
)
def test_container_paths_are_mapped_wherever_they_start_a_value(value, expected) -> None:
    paths = PathMap(Path("/tmp/step/opt/ml"), Path("/repo"))
    assert paths.text(value) == expected.format(ml="/tmp/step/opt/ml", code="/repo")


def test_python3_of_the_entrypoint_is_this_interpreter() -> None:
    paths = PathMap(Path("/tmp/step/opt/ml"))
    argv = command(["python3", "-m", "ml.train"], ["--model-dir", "/opt/ml/model"], paths)
    assert argv == [sys.executable, "-m", "ml.train", "--model-dir", "/tmp/step/opt/ml/model"]


def test_a_step_without_an_entrypoint_is_refused() -> None:
    with pytest.raises(MlopsError, match="ContainerEntrypoint"):
        command([], ["--x"], PathMap(Path("/tmp")))


def test_the_job_environment_overrides_the_image_and_the_platform_overrides_both() -> None:
    image = Image({"MODE": "image", "OMP_NUM_THREADS": "1"})
    env = environment(
        image,
        PathMap(Path("/tmp/ml")),
        emulator={},
        job={"MODE": "job", "TRAINING_JOB_NAME": "spoofed"},
        platform={"TRAINING_JOB_NAME": "exec-Train"},
    )
    assert (env["MODE"], env["OMP_NUM_THREADS"], env["TRAINING_JOB_NAME"]) == (
        "job",
        "1",
        "exec-Train",
    )
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)


def test_a_job_gets_a_thread_per_cpu_of_its_container_and_waiting_threads_sleep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("ml.threads.container_cpus", lambda: 3)
    env = environment(Image({}), PathMap(Path("/tmp/ml")), emulator={}, job={}, platform={})
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "3"
    assert env["OMP_WAIT_POLICY"] == "PASSIVE"
    pinned = environment(
        Image({"OMP_NUM_THREADS": "1"}), PathMap(Path("/tmp/ml")), emulator={}, job={}, platform={}
    )
    assert pinned["OMP_NUM_THREADS"] == "1"


def test_the_image_lets_waiting_openmp_threads_sleep() -> None:
    assert read_image().env["OMP_WAIT_POLICY"] == "PASSIVE"
