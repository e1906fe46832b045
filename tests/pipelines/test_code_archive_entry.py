"""The registered model's container finds our handlers in the step-code archive."""

from __future__ import annotations

import importlib
import io
import sys
import tarfile

from infra.code_assets import ARCHIVE_NAME, SERVING_ENTRY, archive_bytes
from pipelines.gating import register_step
from pipelines.local import load_config, local_spec


def test_archive_top_level_entry_exposes_the_sagemaker_handlers(tmp_path, monkeypatch) -> None:
    with tarfile.open(fileobj=io.BytesIO(archive_bytes()), mode="r:gz") as tar:
        tar.extractall(tmp_path, filter="data")
    assert (tmp_path / SERVING_ENTRY).is_file()
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "ml" or m.startswith("ml.")]:
        monkeypatch.delitem(sys.modules, name)
    entry = importlib.import_module(SERVING_ENTRY.removesuffix(".py"))
    assert {"model_fn", "input_fn", "predict_fn", "output_fn"} <= set(dir(entry))
    assert entry.model_fn.__module__ == "ml.inference"
    assert str(tmp_path) in sys.modules["ml"].__path__[0]


def test_registered_container_runs_the_entry_from_the_code_archive() -> None:
    spec = local_spec(load_config("dev"), "s3://artifacts/code/abc/", "abc")
    container = register_step(spec)["Arguments"]["InferenceSpecification"]["Containers"][0]
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == SERVING_ENTRY
    assert (
        container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"]
        == f"s3://artifacts/code/abc/{ARCHIVE_NAME}"
    )


def test_every_module_a_job_step_runs_is_in_the_code_archive() -> None:
    from pipelines.training import build_definition, flatten_steps

    with tarfile.open(fileobj=io.BytesIO(archive_bytes()), mode="r:gz") as tar:
        names = set(tar.getnames())
    spec = local_spec(load_config("dev"), "s3://artifacts/code/abc/", "abc")
    for step in flatten_steps(build_definition(spec)):
        app = step["Arguments"].get("AppSpecification") or step["Arguments"].get(
            "AlgorithmSpecification"
        )
        if app is None:
            continue
        module = app["ContainerEntrypoint"][-1]
        assert f"{module.replace('.', '/')}.py" in names, step["Name"]
