"""Training: gradient-boosted trees for rare fraud, as a SageMaker training entry point.

``python -m ml.train`` follows the SageMaker training contract (``SM_MODEL_DIR``,
``SM_CHANNEL_TRAIN``, ``SM_CHANNEL_VALIDATION``, hyperparameters as
``--name value`` arguments); every path can be overridden, so the local runner
and ``mlops train`` run exactly this code.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml import schema
from ml.errors import MlopsError
from ml.io import read_table, sha256_files, table_files
from ml.model_artifact import MODEL_FILE, write_model
from ml.options import parse
from ml.step_options import TrainOptions
from ml.step_options import TrainParams as TrainParams  # declared with the step's options

VALIDATION_SHARE = 0.2


class TrainingDataError(MlopsError):
    """Training data that cannot train a model (missing columns, one class only)."""


@dataclass
class TrainedModel:
    """A fitted model and what it learned about its own data."""

    model: Any
    threshold: float
    validation_metrics: dict[str, float]
    info: dict[str, Any] = field(default_factory=dict)


def train_model(
    train: pd.DataFrame, validation: pd.DataFrame | None, params: TrainParams
) -> TrainedModel:
    """Fit features + HistGradientBoosting, calibrate and pick the 90%-precision threshold."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import average_precision_score
    from sklearn.pipeline import Pipeline

    from ml.calibration import PlattCalibrated
    from ml.features import build_preprocessor, feature_frame
    from ml.metrics import recall_at_precision, threshold_at_precision
    from ml.trees import SmallBatchPipeline

    _check_training_frame(train, "training")
    if validation is None:
        train, validation = time_split(train, VALIDATION_SHARE)
    _check_training_frame(validation, "validation")
    y = train[schema.LABEL_COLUMN].to_numpy(dtype=np.int64)
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
    pipeline.fit(feature_frame(train), y, classifier__sample_weight=np.where(y == 1, weight, 1.0))
    x_val = feature_frame(validation)
    y_val = validation[schema.LABEL_COLUMN].to_numpy(dtype=np.int64)
    # Category codes are split on as ordered numbers, not as native categories: on
    # the generated data that costs about 0.01 PR AUC and lets small online
    # batches walk flat trees (ml.trees) at a fraction of the per-row cost.
    model: Any = SmallBatchPipeline(pipeline).fit()
    if params.calibrate:
        model = PlattCalibrated(model).fit(x_val, y_val)
    score = model.predict_proba(x_val)[:, 1]
    threshold = threshold_at_precision(y_val, score)
    return TrainedModel(
        model=model,
        threshold=threshold,
        validation_metrics={
            "pr_auc": float(average_precision_score(y_val, score)),
            "recall_at_precision_90": recall_at_precision(y_val, score),
        },
        info={
            "train_rows": int(y.size),
            "train_fraud_rate": positives / y.size,
            "validation_rows": int(y_val.size),
            "positive_weight": weight,
            "iterations": int(classifier.n_iter_),
        },
    )


def time_split(frame: pd.DataFrame, share: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out the latest ``share`` of rows by event time: validate on the future."""
    ordered = (
        frame.sort_values(schema.TIME_COLUMN, kind="stable")
        if schema.TIME_COLUMN in frame
        else frame
    )
    cut = int(len(ordered) * (1 - share))
    return ordered.iloc[:cut], ordered.iloc[cut:]


def _check_training_frame(frame: pd.DataFrame, name: str) -> None:
    missing = [c for c in (*schema.FEATURE_COLUMNS, schema.LABEL_COLUMN) if c not in frame.columns]
    if missing:
        raise TrainingDataError(
            f"{name} data lacks columns {', '.join(missing)}; check it with 'mlops data validate'"
        )
    labels = frame[schema.LABEL_COLUMN]
    if labels.nunique() < 2:
        raise TrainingDataError(
            f"{name} data has only one class in {len(frame)} rows; it needs fraud and non-fraud"
        )


def git_revision() -> str | None:
    """The code's git revision: $MLOPS_GIT_REVISION, else ``git rev-parse``, else None."""
    if os.environ.get("MLOPS_GIT_REVISION"):
        return os.environ["MLOPS_GIT_REVISION"]
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def library_versions() -> dict[str, str]:
    """Versions that decide whether a saved model loads and predicts the same."""
    import joblib
    import sklearn

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
    }


def run_training(
    train_path: Path, validation_path: Path | None, model_dir: Path, params: TrainParams
) -> dict[str, Any]:
    """Read the channels, train, and write model, metadata and drift baseline to model_dir."""
    from ml.drift import build_baseline
    from ml.features import OUTPUT_FEATURES

    train_files = table_files(train_path)
    train = read_table(train_path)
    validation = read_table(validation_path) if validation_path is not None else None
    trained = train_model(train, validation, params)
    metadata = {
        "model_file": MODEL_FILE,
        "features": {
            "numeric": list(schema.NUMERIC_FEATURES),
            "categorical": {k: list(v) for k, v in schema.CATEGORICAL_FEATURES.items()},
            "input_order": list(schema.FEATURE_COLUMNS),
            "model_inputs": list(OUTPUT_FEATURES),
        },
        "label": schema.LABEL_COLUMN,
        "decision_threshold": trained.threshold,
        "training_data_sha256": sha256_files(train_files),
        "training_files": [p.name for p in train_files],
        "hyperparameters": asdict(params),
        "validation_metrics": trained.validation_metrics,
        "training": trained.info,
        "library_versions": library_versions(),
        "git_revision": git_revision(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_model(model_dir, trained.model, metadata, build_baseline(train))
    return metadata


def run_step(options: TrainOptions) -> dict[str, Any]:
    """Training as ``python -m ml.train`` and ``mlops train`` run it; returns the metadata."""
    return run_training(options.train, options.validation, options.model_dir, options.params)


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse the SageMaker arguments and environment, train, write outputs."""
    options = parse(TrainOptions, argv, "Train the fraud model (SageMaker contract).")
    try:
        metadata = run_step(options)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"validation_metrics": metadata["validation_metrics"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
