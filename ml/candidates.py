"""The candidate models training chooses from: boosted trees and a log-linear model.

Gradient-boosted trees need a few hundred thousand rows to learn this data's
additive risk; a logistic regression on log features learns it from a few
thousand frauds' worth of rows but cannot go beyond additive. Training fits
each named candidate on the same rows and keeps the one that ranks the
validation rows best, so the model is not starved at small sizes and not
capped at large ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ml.errors import MlopsError
from ml.step_options import TrainParams

GRADIENT_BOOSTING = "gradient_boosting"
LOGISTIC_REGRESSION = "logistic_regression"
CANDIDATES = (GRADIENT_BOOSTING, LOGISTIC_REGRESSION)


class CandidateError(MlopsError):
    """A candidate list that names no known model."""


def candidate_names(text: str) -> list[str]:
    """The candidates of a ``--candidates`` value, in order, each known and named once."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in CANDIDATES]
    if unknown or not names:
        raise CandidateError(
            f"unknown candidate(s) {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(CANDIDATES)}"
        )
    return list(dict.fromkeys(names))


def fit_candidate(
    name: str, x: pd.DataFrame, y: np.ndarray, params: TrainParams
) -> tuple[Any, dict[str, Any]]:
    """Fit one candidate on feature rows ``x``; returns the model and what it learned."""
    if name == GRADIENT_BOOSTING:
        return _gradient_boosting(x, y, params)
    return _logistic_regression(x, y, params)


def _gradient_boosting(
    x: pd.DataFrame, y: np.ndarray, params: TrainParams
) -> tuple[Any, dict[str, Any]]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline

    from ml.features import build_preprocessor
    from ml.trees import SmallBatchPipeline

    positives = int(y.sum())
    weight = params.pos_weight or float(np.sqrt((y.size - positives) / positives))
    classifier = HistGradientBoostingClassifier(
        learning_rate=params.learning_rate,
        max_iter=params.max_iter,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=params.min_samples_leaf,
        l2_regularization=params.l2_regularization,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=20,
        random_state=params.seed,
    )
    pipeline = Pipeline([("features", build_preprocessor()), ("classifier", classifier)])
    pipeline.fit(x, y, classifier__sample_weight=np.where(y == 1, weight, 1.0))
    # Category codes are split on as ordered numbers, not as native categories: on
    # the generated data that costs about 0.01 PR AUC and lets small online
    # batches walk flat trees (ml.trees) at a fraction of the per-row cost.
    model = SmallBatchPipeline(pipeline).fit()
    return model, {"positive_weight": weight, "iterations": int(classifier.n_iter_)}


def _logistic_regression(
    x: pd.DataFrame, y: np.ndarray, params: TrainParams
) -> tuple[Any, dict[str, Any]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from ml.features import LogLinearFeatures, build_preprocessor

    classifier = LogisticRegression(C=params.inverse_regularization, max_iter=1000)
    pipeline = Pipeline(
        [
            ("features", build_preprocessor()),
            ("log_linear", LogLinearFeatures()),
            ("scale", StandardScaler()),
            ("classifier", classifier),
        ]
    )
    pipeline.fit(x, y)
    return pipeline, {"iterations": int(np.max(classifier.n_iter_))}
