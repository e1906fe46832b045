"""Training time against bare scikit-learn doing the same work on the same split.

``ml.train.train_model`` fits the candidate set (boosted trees and the
log-linear model), scores validation once per candidate, keeps the better,
Platt-calibrates it and chooses the threshold. The bare version does the same
with scikit-learn's own building blocks only (``ColumnTransformer`` with an
``OrdinalEncoder`` or a ``OneHotEncoder``, the same estimators and
hyperparameters, ``precision_recall_curve`` for the threshold), so the ratio
is what the project's code adds. Each repeat runs both, alternately; the
minimum and maximum over repeats are printed, because a shared machine's
noise is larger than the difference being measured. Both run with one
OpenMP thread by default (``--threads``): oversubscribed OpenMP threads on a
shared machine make boosted-tree fits many times slower, at random. The
target is a ratio of at most 1.15 at 1,000,000 rows.

Run with ``.venv/bin/python benchmarks/train_speed.py [--rows 1000000] [--repeats 3]``;
at 1,000,000 rows each repeat takes about a minute on the 2-core benchmark machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def ours(train: Any, validation: Any) -> float:
    from ml.train import TrainParams, train_model

    return train_model(train, validation, TrainParams()).threshold


def _ratio(x: Any) -> Any:
    import numpy as np

    values = np.asarray(x, dtype=np.float64)
    return np.log1p(values[:, [0]]) - np.log1p(values[:, [1]])


def bare_trees(params: Any) -> Any:
    """Boosted trees behind an ``OrdinalEncoder`` with the schema's categories."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

    from ml import schema

    categories = schema.CATEGORICAL_FEATURES
    encoder = ColumnTransformer(
        [
            ("numeric", "passthrough", list(schema.NUMERIC_FEATURES)),
            ("ratio", FunctionTransformer(_ratio), ["amount", "avg_amount_30d"]),
            (
                "categories",
                OrdinalEncoder(
                    categories=[list(v) for v in categories.values()],
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                ),
                list(categories),
            ),
        ]
    )
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
    return Pipeline([("features", encoder), ("classifier", classifier)])


def bare_linear(params: Any) -> Any:
    """The log-linear model: log1p columns and one-hot indicators, scaled, then logistic."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    from ml import schema

    categories = schema.CATEGORICAL_FEATURES
    logs = ["amount", "avg_amount_30d", "account_age_days", "txn_count_24h"]
    encoder = ColumnTransformer(
        [
            ("logs", FunctionTransformer(np.log1p), [*logs, "distance_from_home_km"]),
            ("device", "passthrough", ["is_new_device"]),
            ("ratio", FunctionTransformer(_ratio), ["amount", "avg_amount_30d"]),
            (
                "indicators",
                OneHotEncoder(
                    categories=[*(list(v) for v in categories.values()), list(range(24))],
                    handle_unknown="ignore",
                    sparse_output=False,
                ),
                [*categories, "hour"],
            ),
        ]
    )
    classifier = LogisticRegression(C=params.inverse_regularization, max_iter=1000)
    return make_pipeline(encoder, StandardScaler(), classifier)


def bare(train: Any, validation: Any) -> float:
    """The same candidates, selection, calibration and threshold in plain scikit-learn."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score, precision_recall_curve

    from ml.step_options import TrainParams

    params = TrainParams()
    y, y_val = train["is_fraud"].to_numpy(), validation["is_fraud"].to_numpy()
    trees, linear = bare_trees(params), bare_linear(params)
    weight = float(np.sqrt((y.size - y.sum()) / y.sum()))
    trees.fit(train, y, classifier__sample_weight=np.where(y == 1, weight, 1.0))
    linear.fit(train, y)
    scores = {m: m.predict_proba(validation)[:, 1] for m in (trees, linear)}
    best = max(scores, key=lambda m: average_precision_score(y_val, scores[m]))
    p = np.clip(scores[best], 1e-7, 1 - 1e-7)
    odds = (np.log(p) - np.log1p(-p)).reshape(-1, 1)
    calibrated = LogisticRegression(C=1e6).fit(odds, y_val).predict_proba(odds)[:, 1]
    precision, _, thresholds = precision_recall_curve(y_val, calibrated)
    reached = np.flatnonzero(precision[:-1] >= params.target_precision)
    return float(thresholds[reached[0]]) if reached.size else float("nan")


def main() -> int:
    from ml.data import generate
    from ml.train import VALIDATION_SHARE, time_split

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=1, help="OpenMP/BLAS threads for both (default 1)"
    )
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    train, validation = time_split(generate(args.rows, 0), VALIDATION_SHARE)
    print(f"{len(train):,} training and {len(validation):,} validation rows")
    times: dict[str, list[float]] = {"ours": [], "bare": []}
    for repeat in range(args.repeats):
        for name, fn in (("ours", ours), ("bare", bare)):
            started = time.perf_counter()
            threshold = fn(train, validation)
            times[name].append(time.perf_counter() - started)
            print(
                f"repeat {repeat + 1} {name}: {times[name][-1]:.1f} s (threshold {threshold:.4f})"
            )
    for name, found in times.items():
        print(f"{name}: min {min(found):.1f} s, max {max(found):.1f} s")
    best, worst = min(times["ours"]) / min(times["bare"]), max(times["ours"]) / max(times["bare"])
    print(
        f"ratio ours / bare: {best:.3f} (min over min), {worst:.3f} (max over max); target <= 1.15"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
