"""The vectorised stratified bootstrap: each resample's metrics are scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from ml.bootstrap import Scored, _View, _weights, interval, point_metrics, resample
from ml.metrics import binary_metrics, calibration_error, recall_at_precision


@pytest.fixture(scope="module")
def rows() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    y = (rng.random(3_000) < 0.02).astype(int)
    # Rounded scores: many ties, as boosted trees give.
    score = np.round(rng.random(3_000) * 0.6 + y * rng.random(3_000) * 0.5, 2)
    return y, score


def test_point_metrics_equal_scikit_learn_with_ties(rows):
    y, score = rows
    found = point_metrics(y, Scored(score, 0.6))
    assert found["pr_auc"] == pytest.approx(average_precision_score(y, score))
    assert found["roc_auc"] == pytest.approx(roc_auc_score(y, score))
    assert found["recall_at_precision_90"] == pytest.approx(recall_at_precision(y, score))
    assert found["calibration_error"] == pytest.approx(calibration_error(y, score), abs=1e-6)
    flagged = score >= 0.6
    assert found["precision"] == pytest.approx(y[flagged].mean())
    assert found["recall"] == pytest.approx(flagged[y == 1].mean())


def test_each_resample_equals_scikit_learn_with_its_weights(rows):
    y, score = rows
    view = _View(y, score, 0.6)
    weights = next(_weights(y, 5, seed=3))
    found = view.metrics(weights)
    for i, w in enumerate(weights):
        assert found["pr_auc"][i] == pytest.approx(
            average_precision_score(y, score, sample_weight=w)
        )
        assert found["roc_auc"][i] == pytest.approx(roc_auc_score(y, score, sample_weight=w))
        flagged = score >= 0.6
        assert found["recall"][i] == pytest.approx(w[flagged & (y == 1)].sum() / w[y == 1].sum())


def test_resamples_keep_the_number_of_frauds(rows):
    y, _ = rows
    for weights in _weights(y, 50, seed=1):
        assert np.all(weights[:, y == 1].sum(axis=1) == y.sum())
        assert np.all(weights.sum(axis=1) == y.size)


def test_the_standard_error_is_the_bootstrap_one_not_five_80_percent_subsamples(rows):
    """Five 80% subsamples (SageMaker's deviation) understate the error about twofold."""
    y, score = rows
    rng = np.random.default_rng(0)
    positives, negatives = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    naive = []
    for _ in range(300):
        pick = np.r_[rng.choice(positives, positives.size), rng.choice(negatives, negatives.size)]
        naive.append(average_precision_score(y[pick], score[pick]))
    reported = binary_metrics(y, score, 0.6)["pr_auc"]["standard_deviation"]  # type: ignore[index]
    assert reported == pytest.approx(np.std(naive), rel=0.2)


def test_paired_resamples_share_rows_so_identical_models_never_differ(rows):
    y, score = rows
    first, second = resample(y, [Scored(score, 0.6), Scored(score.copy(), 0.6)], 200)
    assert np.array_equal(first["pr_auc"], second["pr_auc"])
    low, high = interval(second["pr_auc"] - first["pr_auc"])
    assert low == high == 0
