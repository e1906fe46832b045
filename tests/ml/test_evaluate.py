from __future__ import annotations

import json

import pytest

from ml.evaluate import EvaluationInputError, Gates, load_evaluation, main, run_evaluation
from ml.gates import GateError

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def normal_eval(model_dir, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    evaluation, comparison = run_evaluation(model_dir, data_dir / "test.parquet", out)
    return out, evaluation, comparison


def test_evaluation_json_has_the_sagemaker_shape(normal_eval):
    out, evaluation, _ = normal_eval
    written = json.loads((out / "evaluation.json").read_text())
    assert written == evaluation
    metrics = written["binary_classification_metrics"]
    for name in (
        "roc_auc",
        "auc",
        "pr_auc",
        "recall_at_precision_90",
        "precision",
        "recall",
        "calibration_error",
    ):
        assert set(metrics[name]) == {"value", "standard_deviation"}, name
    assert metrics["pr_auc"]["standard_deviation"] > 0
    matrix = metrics["confusion_matrix"]
    assert sum(matrix[a][b] for a in "01" for b in "01") == written["evaluation"]["rows"]


def test_plots_are_png_files(normal_eval):
    out, _, _ = normal_eval
    for name in ("pr_curve.png", "score_distribution.png"):
        assert (out / name).read_bytes()[:8] == PNG


def test_model_scored_on_a_changed_fraud_pattern_degrades(
    normal_eval, model_dir, data_dir, tmp_path
):
    out, normal, _ = normal_eval
    changed, comparison = run_evaluation(
        model_dir, data_dir / "pattern.parquet", tmp_path, champion_path=out / "evaluation.json"
    )
    before = normal["binary_classification_metrics"]["pr_auc"]["value"]
    after = changed["binary_classification_metrics"]["pr_auc"]["value"]
    assert after < before / 3
    assert comparison["verdict"] == "fail"
    assert (tmp_path / "champion_vs_challenger.png").read_bytes()[:8] == PNG


def test_gates_pass_a_model_equal_to_its_champion(normal_eval, model_dir, data_dir, tmp_path):
    _, comparison = run_evaluation(
        model_dir,
        data_dir / "test.parquet",
        tmp_path,
        gates=Gates(min_pr_auc=0.1, min_precision=0.0, min_recall=0.0),
        champion_model=model_dir,
    )
    assert comparison["verdict"] == "pass"
    assert len(comparison["checks"]) == 9
    assert comparison["comparison"]["method"] == "paired stratified bootstrap"
    assert all(m["low"] == m["high"] == 0 for m in comparison["comparison"]["metrics"].values())


def test_absolute_gates_fail_without_a_champion(normal_eval):
    _, evaluation, _ = normal_eval
    from ml.evaluate import compare

    assert compare(evaluation, None, Gates(min_pr_auc=0.99))["verdict"] == "fail"
    assert (
        compare(evaluation, None, Gates(min_pr_auc=0.0, min_precision=0.0, min_recall=0.0))[
            "verdict"
        ]
        == "pass"
    )


def test_gates_parse_and_refuse_unknown_names():
    assert Gates.parse("min_pr_auc=0.6, margin_recall=0.01") == Gates(
        min_pr_auc=0.6, margin_recall=0.01
    )
    with pytest.raises(GateError, match="unknown gate"):
        Gates.parse("min_auc=0.5")
    with pytest.raises(GateError, match="number"):
        Gates.parse("min_pr_auc=high")
    assert Gates.parse(Gates(min_recall=0.123456789).argument()) == Gates(min_recall=0.123456789)


def test_champion_file_must_be_an_evaluation(tmp_path):
    (tmp_path / "evaluation.json").write_text('{"regression_metrics": {}}')
    with pytest.raises(EvaluationInputError, match="binary_classification_metrics"):
        load_evaluation(tmp_path)


def test_entry_point_exit_code_follows_the_verdict(model_dir, data_dir, tmp_path):
    args = [
        "--model-dir",
        str(model_dir),
        "--test",
        str(data_dir / "test.parquet"),
        "--out",
        str(tmp_path),
    ]
    assert main([*args, "--gates", "min_pr_auc=0,min_precision=0,min_recall=0"]) == 0
    assert main([*args, "--gates", "min_pr_auc=0.999"]) == 1


def test_evaluating_without_plots_never_imports_matplotlib(model_dir, data_dir, tmp_path):
    import subprocess
    import sys

    script = (
        "import sys; from pathlib import Path; from ml.evaluate import run_evaluation; "
        f"run_evaluation(Path({str(model_dir)!r}), Path({str(data_dir / 'test.parquet')!r}), "
        f"Path({str(tmp_path)!r}), draw_plots=False); print('matplotlib' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
    assert not list(tmp_path.glob("*.png"))
