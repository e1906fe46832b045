"""Platt scaling of a fitted classifier on held-out scores, with no refit of the model.

Class weighting makes raw tree scores overstate fraud; a logistic map of the
score's log-odds, fitted on held-out scores (the validation rows, or
out-of-fold scores over the training window), restores probabilities a fraud
team can read as rates. It is monotone, so rankings (PR AUC) are unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

CLIP = 1e-7


def _log_odds(probability: np.ndarray) -> np.ndarray:
    p = np.clip(probability, CLIP, 1 - CLIP)
    return (np.log(p) - np.log1p(-p)).reshape(-1, 1)


class PlattCalibrated(ClassifierMixin, BaseEstimator):
    """A fitted binary classifier followed by a logistic calibration of its scores."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def fit(self, x: Any, y: np.ndarray) -> PlattCalibrated:
        """Fit only the calibration map, on the wrapped estimator's scores of ``x``."""
        return self.fit_scores(self.estimator.predict_proba(x)[:, 1], y)

    def fit_scores(self, raw: np.ndarray, y: np.ndarray) -> PlattCalibrated:
        """Fit the calibration map on scores already computed (no second scoring pass)."""
        self.calibrator_ = LogisticRegression(C=1e6).fit(_log_odds(raw), y)
        self.classes_ = np.array([0, 1])
        return self

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated fraud probabilities of raw fraud scores."""
        odds = _log_odds(raw)
        coef = float(self.calibrator_.coef_[0, 0])
        intercept = float(self.calibrator_.intercept_[0])
        return 1.0 / (1.0 + np.exp(-(coef * odds[:, 0] + intercept)))

    def predict_proba(self, x: Any) -> np.ndarray:
        """Calibrated probabilities of [not fraud, fraud] per row."""
        fraud = self.calibrate(self.estimator.predict_proba(x)[:, 1])
        return np.column_stack([1.0 - fraud, fraud])

    def predict(self, x: Any) -> np.ndarray:
        """0/1 at probability 0.5 (the served decision uses the metadata threshold)."""
        return (self.predict_proba(x)[:, 1] >= 0.5).astype(np.int64)
