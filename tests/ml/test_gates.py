"""Gates at the operating point: evidence, floors at the model's own threshold, reasons."""

from __future__ import annotations

import numpy as np
import pytest

from ml.evaluate import compare, evaluate_scores
from ml.gates import Gates


def scored(positives: int, rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.zeros(rows, dtype=int)
    y[:positives] = 1
    score = np.where(y == 1, rng.uniform(0.4, 1.0, rows), rng.uniform(0.0, 0.7, rows))
    return y, score


def test_a_threshold_that_flags_nothing_fails_with_its_reason():
    y, score = scored(60, 6_000)
    evaluation = evaluate_scores(y, score, 1.5, {"fallback": False})
    verdict = compare(evaluation, None, Gates(min_precision=0, min_recall=0))
    assert verdict["verdict"] == "fail"
    assert verdict["reason"] == "the threshold 1.5000 flags 0 of 6000 test rows"


def test_a_threshold_that_fell_back_fails_with_the_reason_training_recorded():
    y, score = scored(60, 6_000)
    info = {"fallback": True, "reason": "23 frauds in the validation scores"}
    verdict = compare(evaluate_scores(y, score, 0.69, info), None, Gates(0, 0, 0))
    assert verdict["verdict"] == "fail"
    assert verdict["reason"] == (
        "the decision threshold fell back: 23 frauds in the validation scores"
    )


def test_too_few_test_frauds_fail_in_one_line():
    y, score = scored(20, 4_000)
    verdict = compare(evaluate_scores(y, score, 0.69), None, Gates(0, 0, 0))
    assert verdict["verdict"] == "fail"
    assert "\n" not in verdict["reason"]
    assert verdict["reason"].startswith(
        "the test split holds 20 frauds, fewer than the 30 the gates need"
    )


def test_recall_is_gated_at_the_threshold_not_at_the_best_threshold_of_the_test_rows():
    y, score = scored(100, 10_000, seed=3)
    threshold = float(np.sort(score[y == 1])[-5])  # flags the top few frauds only
    evaluation = evaluate_scores(y, score, threshold)
    metrics = evaluation["binary_classification_metrics"]
    assert metrics["recall_at_precision_90"]["value"] > 0.3  # the biased, threshold-free figure
    verdict = compare(evaluation, None, Gates(min_pr_auc=0, min_precision=0, min_recall=0.2))
    assert verdict["verdict"] == "fail"
    assert verdict["reason"] == (
        f"recall {metrics['recall']['value']:.3f} at the threshold is below its floor 0.2"
    )


def test_every_failed_check_is_in_the_reason_and_passing_ones_are_not():
    y, score = scored(20, 4_000)
    verdict = compare(evaluate_scores(y, score, 1.5), None, Gates(min_pr_auc=0))
    assert [c["check"] for c in verdict["checks"] if not c["passed"]] == [
        "test_positives >= min_test_positives",
        "flagged >= min_flagged",
        "precision >= min_precision",
        "recall >= min_recall",
    ]
    assert verdict["reason"].count("; ") == 3


@pytest.mark.parametrize("text", ["none", " none "])
def test_gates_none_only_measure(text):
    y, score = scored(5, 1_000)
    assert compare(evaluate_scores(y, score, 2.0), None, Gates.parse(text))["verdict"] == "pass"
