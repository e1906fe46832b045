"""The decision threshold: chosen on enough frauds, never a silent 0.5."""

from __future__ import annotations

import numpy as np
import pytest

from ml.threshold import MIN_FLAGGED_POSITIVES, choose_threshold


def separable(positives: int, negatives: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Frauds score above most legitimate rows, with overlap at the top."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(positives, dtype=int), np.zeros(negatives, dtype=int)]
    score = np.r_[rng.uniform(0.5, 1.0, positives), rng.uniform(0.0, 0.8, negatives)]
    return y, score


def test_the_threshold_reaches_the_target_precision_on_the_scores_it_was_chosen_on():
    y, score = separable(200, 5_000)
    choice = choose_threshold(y, score, 0.9, 100, "out_of_fold")
    flagged = score >= choice.threshold
    assert not choice.fallback and choice.reason == ""
    assert y[flagged].mean() >= 0.9 == pytest.approx(choice.precision, abs=0.1)
    assert choice.flagged_positives == int(y[flagged].sum()) >= MIN_FLAGGED_POSITIVES
    assert (choice.positives, choice.rows, choice.scores) == (200, 5_200, "out_of_fold")


def test_too_few_frauds_fall_back_visibly_and_not_to_one_half():
    y, score = separable(23, 3_177)  # the demo's old validation split: 3,200 rows, 23 frauds
    choice = choose_threshold(y, score, 0.9, 100, "validation")
    assert choice.fallback
    assert choice.reason == ("23 frauds in the validation scores; choosing a threshold needs 100")
    assert choice.threshold != 0.5
    assert choice.flagged == 23  # as many rows flagged as there are frauds


def test_an_unreachable_precision_falls_back_with_the_best_it_reached():
    rng = np.random.default_rng(1)
    y = (rng.random(20_000) < 0.05).astype(int)
    score = rng.random(20_000)  # no signal: precision stays near 5%
    choice = choose_threshold(y, score, 0.9, 100, "validation")
    assert choice.fallback
    assert choice.reason.startswith("no threshold reaches 90% precision with at least 10")
    assert choice.threshold != 0.5


def test_a_precision_reached_on_two_frauds_does_not_count():
    y = np.r_[np.ones(2, dtype=int), np.zeros(3, dtype=int), np.ones(120, dtype=int)]
    y = np.r_[y, np.zeros(4_000, dtype=int)]
    score = np.r_[np.full(2, 0.99), np.full(3, 0.98), np.linspace(0.9, 0.1, 120)]
    score = np.r_[score, np.linspace(0.97, 0.0, 4_000)]
    choice = choose_threshold(y, score, 0.9, 100, "out_of_fold")
    assert choice.fallback  # 2 of 2 at the top is 100% precision, but on 2 frauds
