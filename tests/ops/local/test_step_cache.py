"""The step cache keys on what SageMaker keys on, and honours Enabled and ExpireAfter."""

from __future__ import annotations

import copy
import time
from datetime import timedelta

import pytest

from ml.errors import MlopsError
from ops.local.step_cache import CachePolicy, StepCache, cache_key, parse_duration
from pipelines.definitions.training import build_definition
from tests.factories import make_spec


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P30D", timedelta(days=30)),
        ("PT12H", timedelta(hours=12)),
        ("P1W", timedelta(days=7)),
        ("P1DT2H30M", timedelta(days=1, hours=2, minutes=30)),
        ("p1y", timedelta(days=365)),
    ],
)
def test_iso_8601_durations_are_read(text, expected) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["30 days", "P", "PT", "30D"])
def test_a_malformed_duration_is_one_clear_error(text) -> None:
    with pytest.raises(MlopsError, match="ISO 8601"):
        parse_duration(text)


JOB_TYPES = ("Processing", "Training")
# They read what changes under unchanged arguments (the objects under raw/, the registry).
ALWAYS_RUN = ("Dataset", "Champion")


def steps() -> dict[str, dict]:
    """Every job step of the definition, by name."""
    return {s["Name"]: s for s in build_definition(make_spec())["Steps"] if s["Type"] in JOB_TYPES}


def key(step: dict) -> str:
    return cache_key("mlops-dev-training", step, step["Arguments"], "d" * 64)


def test_processing_keys_change_with_an_input_uri() -> None:
    step = steps()["Validate"]
    changed = copy.deepcopy(step)
    (data,) = [i for i in changed["Arguments"]["ProcessingInputs"] if i["InputName"] == "data"]
    data["S3Input"]["S3Uri"] = "s3://data/raw/v2/"
    assert key(changed) != key(step)


def test_processing_keys_ignore_outputs_and_instance_type() -> None:
    step = steps()["Validate"]
    changed = copy.deepcopy(step)
    changed["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] = "s3://x/"
    changed["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceType"] = "ml.c5.9xlarge"
    assert key(changed) == key(step)


def test_training_keys_change_with_the_algorithm_but_not_the_output_path() -> None:
    step = steps()["Train"]
    moved = copy.deepcopy(step)
    moved["Arguments"]["OutputDataConfig"]["S3OutputPath"] = "s3://elsewhere/"
    assert key(moved) == key(step)
    retuned = copy.deepcopy(step)
    retuned["Arguments"]["AlgorithmSpecification"]["ContainerArguments"] += ["--max-iter", "9"]
    assert key(retuned) != key(step)


def test_keys_change_with_the_image_the_code_is_built_into() -> None:
    step = steps()["Evaluate"]
    assert cache_key("p", step, step["Arguments"], "a" * 64) != cache_key(
        "p", step, step["Arguments"], "b" * 64
    )


def test_an_entry_older_than_expire_after_is_not_reused(tmp_path) -> None:
    cache = StepCache(tmp_path)
    cache.store("k", "exec-1", {"p": "v"}, {}, {})
    policy = CachePolicy(True, timedelta(days=1))
    assert cache.lookup("k", policy) is not None
    assert cache.lookup("k", policy, now=time.time() + timedelta(days=2).total_seconds()) is None


def test_a_disabled_cache_is_never_consulted(tmp_path) -> None:
    cache = StepCache(tmp_path)
    cache.store("k", "exec-1", {}, {}, {})
    assert (
        cache.lookup("k", CachePolicy.of({"Name": "S", "CacheConfig": {"Enabled": False}})) is None
    )


def test_every_job_step_but_dataset_and_champion_caches_with_the_stack_expiry() -> None:
    found = steps()
    assert set(ALWAYS_RUN) < set(found)
    for name, step in found.items():
        expected = (
            CachePolicy(False) if name in ALWAYS_RUN else CachePolicy(True, timedelta(days=30))
        )
        assert CachePolicy.of(step) == expected, name
