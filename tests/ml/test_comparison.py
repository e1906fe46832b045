"""Champion vs challenger: a paired bootstrap decides, not a coin toss."""

from __future__ import annotations

import numpy as np
import pytest

from ml.bootstrap import Scored
from ml.comparison import RESOLUTION_Z, compare_paired, compare_unpaired, volume_threshold
from ml.evaluate import evaluate_scores

MARGINS = {"pr_auc": 0.05, "recall": 0.1, "precision": 0.15}


@pytest.fixture(scope="module")
def split() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A test split with 80 frauds and two models that agree on most rows."""
    rng = np.random.default_rng(11)
    y = np.zeros(10_000, dtype=int)
    y[:80] = 1
    signal = rng.normal(0, 1, y.size) + 3.0 * y
    champion = 1 / (1 + np.exp(-(signal + rng.normal(0, 0.1, y.size) - 5)))
    challenger = 1 / (1 + np.exp(-(signal + rng.normal(0, 0.1, y.size) - 5)))
    return y, champion, challenger


def threshold_at_rank(score: np.ndarray, rank: int) -> float:
    return float(np.sort(score)[-rank])


def test_the_difference_is_far_more_certain_than_either_metric(split):
    y, champion, challenger = split
    t = threshold_at_rank(champion, 40)
    comparison = compare_paired(y, Scored(champion, t), Scored(challenger, t), MARGINS)
    separate = evaluate_scores(y, challenger, t)["binary_classification_metrics"]
    pr_auc = comparison["metrics"]["pr_auc"]
    assert pr_auc["standard_error"] < separate["pr_auc"]["standard_deviation"] / 2
    assert pr_auc["low"] < pr_auc["difference"] < pr_auc["high"]
    assert comparison["method"] == "paired stratified bootstrap"
    assert comparison["positives"] == 80 and comparison["resamples"] == 1000


def test_an_equivalent_challenger_is_non_inferior(split):
    y, champion, challenger = split
    comparison = compare_paired(
        y,
        Scored(champion, threshold_at_rank(champion, 40)),
        Scored(challenger, threshold_at_rank(challenger, 40)),
        MARGINS,
    )
    assert comparison["non_inferior"]
    assert all(m["resolvable"] for m in comparison["metrics"].values())


def test_recall_and_precision_are_compared_at_the_challengers_alert_volume(split):
    """Same ranking, a threshold that flags a fifth as many rows: not a worse model."""
    y, champion, _ = split
    comparison = compare_paired(
        y,
        Scored(champion, threshold_at_rank(champion, 60)),
        Scored(champion, threshold_at_rank(champion, 12)),
        MARGINS,
    )
    volume = comparison["alert_volume"]
    assert volume["challenger_flagged"] == 12
    assert volume["champion_flagged_at_own_threshold"] == 60
    assert volume["champion_matched_threshold"] == threshold_at_rank(champion, 12)
    for name in ("recall", "precision"):
        assert comparison["metrics"][name]["difference"] == 0
    assert comparison["non_inferior"]


def test_a_stale_champion_threshold_does_not_out_recall_a_better_challenger(split):
    """A champion flagging ten times the rows keeps its recall lead only by its volume."""
    y, champion, challenger = split
    comparison = compare_paired(
        y,
        Scored(champion, threshold_at_rank(champion, 400)),
        Scored(challenger, threshold_at_rank(challenger, 40)),
        MARGINS,
    )
    own_recall = float(np.mean(champion[y == 1] >= threshold_at_rank(champion, 400)))
    assert own_recall - comparison["metrics"]["recall"]["challenger"] > MARGINS["recall"]
    assert comparison["non_inferior"]


def test_fewer_frauds_at_the_same_volume_is_rejected(split):
    y, champion, _ = split
    rng = np.random.default_rng(5)
    worse = champion + rng.normal(0, 0.15, y.size) * (champion > np.quantile(champion, 0.99))
    comparison = compare_paired(
        y,
        Scored(champion, threshold_at_rank(champion, 400)),
        Scored(worse, threshold_at_rank(worse, 40)),
        MARGINS,
    )
    assert not comparison["metrics"]["recall"]["non_inferior"]
    assert comparison["metrics"]["recall"]["high"] < 0


@pytest.mark.parametrize("flagged", [0, 1, 40, 10_000, 20_000])
def test_the_volume_threshold_flags_that_many_rows(split, flagged):
    _, champion, _ = split
    threshold = volume_threshold(champion, flagged)
    assert np.count_nonzero(champion >= threshold) == min(flagged, champion.size)


def test_a_clearly_worse_challenger_is_rejected_on_pr_auc(split):
    y, champion, _ = split
    rng = np.random.default_rng(2)
    worse = champion + rng.normal(0, 0.15, y.size)
    t = threshold_at_rank(champion, 40)
    comparison = compare_paired(
        y, Scored(champion, t), Scored(worse, threshold_at_rank(worse, 40)), MARGINS
    )
    assert not comparison["metrics"]["pr_auc"]["non_inferior"]
    assert comparison["metrics"]["pr_auc"]["high"] < 0


def test_a_margin_below_what_the_split_resolves_is_flagged(split):
    y, champion, challenger = split
    t = threshold_at_rank(champion, 40)
    tight = {"pr_auc": 0.001, "recall": 0.001, "precision": 0.001}
    comparison = compare_paired(y, Scored(champion, t), Scored(challenger, t), tight)
    pr_auc = comparison["metrics"]["pr_auc"]
    assert not pr_auc["resolvable"]
    assert pr_auc["resolution"] == pytest.approx(RESOLUTION_Z * pr_auc["standard_error"])


def test_without_shared_rows_the_comparison_is_wider(split):
    y, champion, challenger = split
    t = threshold_at_rank(champion, 40)
    paired = compare_paired(y, Scored(champion, t), Scored(challenger, t), MARGINS)
    unpaired = compare_unpaired(
        evaluate_scores(y, champion, t), evaluate_scores(y, challenger, t), MARGINS
    )
    for name in ("pr_auc", "recall"):
        assert (
            unpaired["metrics"][name]["standard_error"] > paired["metrics"][name]["standard_error"]
        )
    assert unpaired["rows"] == 10_000 and unpaired["positives"] == 80
