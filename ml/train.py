"""Training: the better of a small candidate set, calibrated, with a gated threshold.

``python -m ml.train`` follows the SageMaker training contract (``SM_MODEL_DIR``,
``SM_CHANNEL_TRAIN``, ``SM_CHANNEL_VALIDATION``, hyperparameters as
``--name value`` arguments); every path can be overridden, so the local runner
and ``mlops train`` run exactly this code.

Each candidate (``ml.candidates``) is fitted on the training rows and ranked
by PR AUC on the validation rows. The decision threshold and the calibration
need held-out frauds: when validation holds at least ``holdout_positives`` the
winner's validation scores serve; otherwise the winner is scored out of fold
over the whole training window (train and validation) and refitted on all of
it. A threshold chosen on a hundred frauds moves recall by about 0.07 from
one model to the next; on six hundred, by about 0.03. How the threshold was
chosen, on how many frauds, and whether it fell back (fewer than
``min_threshold_positives``) is in the model's metadata (``threshold``).
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
    threshold_choice: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HeldOut:
    """Held-out raw scores of the chosen candidate, and the model that serves."""

    model: Any
    raw: np.ndarray
    y: np.ndarray
    source: str
    info: dict[str, Any]


def train_model(
    train: pd.DataFrame, validation: pd.DataFrame | None, params: TrainParams
) -> TrainedModel:
    """Fit the candidates, keep the best on validation, calibrate, choose the threshold."""
    from sklearn.metrics import average_precision_score

    from ml.calibration import PlattCalibrated
    from ml.candidates import candidate_names, fit_candidate
    from ml.features import feature_frame
    from ml.metrics import recall_at_precision
    from ml.threshold import choose_threshold

    names = candidate_names(params.candidates)
    _check_training_frame(train, "training")
    if validation is None:
        train, validation = time_split(train, VALIDATION_SHARE)
    _check_training_frame(validation, "validation")
    y, y_val = labels(train), labels(validation)
    x_val = feature_frame(validation)
    ranked: dict[str, float] = {}
    fitted: dict[str, tuple[Any, dict[str, Any], np.ndarray]] = {}
    for name in names:
        model, info = fit_candidate(name, feature_frame(train), y, params)
        raw = model.predict_proba(x_val)[:, 1]
        fitted[name] = (model, info, raw)
        ranked[name] = float(average_precision_score(y_val, raw))
    best = max(names, key=lambda name: ranked[name])
    held = _held_out(best, fitted[best], train, validation, params)
    model, score = held.model, held.raw
    if params.calibrate:
        model = PlattCalibrated(model).fit_scores(held.raw, held.y)
        score = model.calibrate(held.raw)
    choice = choose_threshold(
        held.y, score, params.target_precision, params.min_threshold_positives, held.source
    )
    best_raw = fitted[best][2]
    return TrainedModel(
        model=model,
        threshold=choice.threshold,
        validation_metrics={
            "pr_auc": ranked[best],
            "recall_at_precision_90": recall_at_precision(y_val, best_raw),
        },
        info={
            "train_rows": int(y.size),
            "train_fraud_rate": float(y.mean()),
            "validation_rows": int(y_val.size),
            "validation_positives": int(y_val.sum()),
            "model": best,
            "candidates": {name: {"validation_pr_auc": ranked[name]} for name in names},
            **held.info,
        },
        threshold_choice=choice.as_dict(),
    )


def labels(frame: pd.DataFrame) -> np.ndarray:
    """The fraud labels of a frame as 0/1 integers."""
    return frame[schema.LABEL_COLUMN].to_numpy(dtype=np.int64)


def _held_out(
    name: str,
    fitted: tuple[Any, dict[str, Any], np.ndarray],
    train: pd.DataFrame,
    validation: pd.DataFrame,
    params: TrainParams,
) -> HeldOut:
    """Validation scores when they hold enough frauds, else out-of-fold over the window."""
    model, info, raw = fitted
    y_val = labels(validation)
    if y_val.sum() >= params.holdout_positives:
        return HeldOut(model, raw, y_val, "validation", {**info, "fitted_rows": len(train)})
    from ml.candidates import fit_candidate
    from ml.features import feature_frame

    window = pd.concat([train, validation], ignore_index=True)
    y = labels(window)
    oof = out_of_fold(name, window, params)
    final, final_info = fit_candidate(name, feature_frame(window), y, params)
    return HeldOut(final, oof, y, "out_of_fold", {**final_info, "fitted_rows": len(window)})


def out_of_fold(name: str, frame: pd.DataFrame, params: TrainParams) -> np.ndarray:
    """Each row's score from the candidate fitted on the other folds (stratified, seeded)."""
    from sklearn.model_selection import StratifiedKFold

    from ml.candidates import fit_candidate
    from ml.features import feature_frame

    y = labels(frame)
    folds = max(2, min(params.folds, int(y.sum()), int((y == 0).sum())))
    x = feature_frame(frame)
    scores = np.empty(y.size, dtype=np.float64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=params.seed)
    for fit_rows, score_rows in splitter.split(x, y):
        model, _ = fit_candidate(name, x.iloc[fit_rows], y[fit_rows], params)
        scores[score_rows] = model.predict_proba(x.iloc[score_rows])[:, 1]
    return scores


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
        "threshold": trained.threshold_choice,
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
