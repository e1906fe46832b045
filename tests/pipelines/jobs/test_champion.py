"""The Champion step (moto): both models scored alike, compared paired, decided, reported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ml.data import generate
from ml.gates import Gates
from ml.io import write_table
from ml.model_artifact import TARBALL, pack
from ml.train import TrainParams, run_training
from pipelines.jobs.champion import compare_with_champion
from tests.factories import GROUP

pytestmark = pytest.mark.slow
BUCKET = "mlops-dev-artifacts-123456789012-us-east-1"
PARAMS = TrainParams(max_iter=40, seed=7)
GATES = Gates(min_pr_auc=0.1, min_precision=0.0, min_recall=0.0, min_test_positives=10)


def packed(model_dir: Path) -> Path:
    """The training job's artifact layout: model files at the root of the tarball."""
    out = model_dir.parent / f"{model_dir.name}-artifact"
    pack(model_dir, out / TARBALL)
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("champion")
    train = generate(16_000, seed=11)
    noisy = train.assign(is_fraud=train["is_fraud"].sample(frac=1, random_state=3).to_numpy())
    write_table(train, root / "train" / "train.parquet")
    write_table(noisy, root / "noisy" / "train.parquet")
    write_table(generate(4_000, seed=12), root / "test" / "test.parquet")
    run_training(root / "train", None, root / "good", PARAMS)
    run_training(root / "noisy", None, root / "bad", PARAMS)
    return {
        "good": packed(root / "good"),
        "bad": packed(root / "bad"),
        "test": root / "test",
    }


@pytest.fixture
def aws(sagemaker) -> Iterator[tuple[Any, Any]]:
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    yield sagemaker, s3


def register_champion(sagemaker: Any, s3: Any, artifact: Path) -> str:
    """An approved package whose ModelDataUrl is ``artifact``, as a previous run registers it."""
    key = f"pipeline-runs/1/train/{TARBALL}"
    s3.upload_file(str(artifact / TARBALL), BUCKET, key)
    created = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": "image", "ModelDataUrl": f"s3://{BUCKET}/{key}"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        CustomerMetadataProperties={"DatasetVersion": "abc123", "ModelSha256": "0" * 64},
    )
    return str(created["ModelPackageArn"])


def run(
    aws: tuple[Any, Any], model: Path, test: Path, out: Path, gates: Gates = GATES
) -> dict[str, Any]:
    sagemaker, s3 = aws
    return compare_with_champion(sagemaker, s3, GROUP, gates, model, test, out)


def test_without_a_champion_only_evidence_and_floors_decide(aws, data, tmp_path) -> None:
    document = run(aws, data["good"], data["test"], tmp_path)
    assert document["champion"]["package_arn"] == "none"
    assert document["comparison"] is None
    values = document["gate_values"]
    assert [values[f"{m}_difference_low"] for m in ("pr_auc", "recall", "precision")] == [0, 0, 0]
    assert document["decision"] == {
        "verdict": "pass",
        "passed": 1,
        "reason": "every gate passed",
        "checks": document["decision"]["checks"],
    }
    assert document["challenger"]["is_new"] == 1
    assert "No approved champion yet" in (tmp_path / "champion_vs_challenger.md").read_text()


def test_the_champion_is_rescored_on_this_split_and_a_worse_challenger_fails_paired(
    aws, data, tmp_path
) -> None:
    from ml.evaluate import evaluate_scores, score_frame
    from ml.io import read_table

    register_champion(*aws, data["good"])
    document = run(aws, data["bad"], data["test"], tmp_path)
    y, scores, threshold = score_frame(data["good"], read_table(data["test"]))
    expected = evaluate_scores(y, scores, threshold)["binary_classification_metrics"]
    assert document["champion"]["pr_auc"] == pytest.approx(expected["pr_auc"]["value"])
    pr_auc = document["comparison"]["metrics"]["pr_auc"]
    assert pr_auc["champion"] == pytest.approx(expected["pr_auc"]["value"])
    assert pr_auc["high"] < -GATES.margin_pr_auc  # trained on shuffled labels: clearly worse
    assert document["gate_values"]["pr_auc_difference_low"] == pytest.approx(pr_auc["low"])
    assert document["decision"]["passed"] == 0
    assert "pr_auc" in document["decision"]["reason"] and "\n" not in document["decision"]["reason"]
    saved = json.loads((tmp_path / "champion.json").read_text())
    assert saved["gate_values"] == document["gate_values"]


def test_the_definitions_conditions_agree_with_the_steps_decision(aws, data, tmp_path) -> None:
    from ops.local.run_state import RunState, condition_holds
    from pipelines.definitions.gates import gate_conditions
    from tests.factories import make_spec

    spec = make_spec(gates=GATES)
    documents = [run(aws, data["good"], data["test"], tmp_path / "first")]
    register_champion(*aws, data["good"])
    documents += [
        run(aws, data["bad"], data["test"], tmp_path / "worse"),
        run(aws, data["good"], data["test"], tmp_path / "same"),
        run(aws, data["good"], data["test"], tmp_path / "strict", Gates(min_test_positives=10_000)),
    ]
    for document in documents:
        strict = document["gates"]["min_test_positives"] == 10_000
        state = RunState({}, {}, property_files={("Champion", "ChampionReport"): document})
        holds = all(
            condition_holds(state, c)
            for c in gate_conditions(
                make_spec(gates=Gates(min_test_positives=10_000)) if strict else spec
            )
        )
        assert holds == bool(document["decision"]["passed"])
    assert [d["decision"]["passed"] for d in documents] == [1, 0, 1, 0]


def test_report_shows_both_pr_curves_in_one_plot(aws, data, tmp_path) -> None:
    arn = register_champion(*aws, data["good"])
    document = run(aws, data["bad"], data["test"], tmp_path)
    labels = document["report"]["curves"]
    assert [label.split(" (")[0] for label in labels[:2]] == ["champion", "challenger"]
    assert (tmp_path / "pr_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (tmp_path / "champion_vs_challenger.md").read_text()
    assert arn in report and "(dataset abc123)" in report
    assert "![Precision-recall curves of champion and challenger](pr_curves.png)" in report
    assert "| pr_auc |" in report
    assert "**Decision: the challenger is not registered.**" in report
    assert "95% interval" in report and "resolves a difference" in report


def test_a_challenger_the_group_already_holds_is_not_new(aws, data, tmp_path) -> None:
    from pipelines.jobs.champion import model_sha256

    sagemaker, _ = aws
    held = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": "image", "ModelDataUrl": f"s3://{BUCKET}/m.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        CustomerMetadataProperties={"ModelSha256": model_sha256(data["good"])},
    )["ModelPackageArn"]
    document = run(aws, data["good"], data["test"], tmp_path)
    assert document["challenger"]["is_new"] == 0
    assert document["challenger"]["registered_as"] == held
