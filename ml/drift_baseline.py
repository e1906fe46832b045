"""The drift baseline: the training data's feature distributions, saved beside the model.

Per numeric feature it holds the reference distribution itself (sorted
distinct values with counts, ``ml.distributions``; exact unless a feature has
more than ``REFERENCE_POINTS`` distinct values, then blocks of neighbours) and
the PSI bins cut from it. Bins are cut on the values, not on quantiles alone:
walking the sorted distinct values, a bin closes once it holds a tenth of the
rows, so a value that holds more (``is_new_device`` = 0, a count of 2) is a
bin of its own and a binary feature gets two bins instead of collapsing into
one decile. Per categorical feature it holds the category frequencies.
Features that are a function of the clock (``CLOCK_FEATURES``) are marked: a
window of traffic covers only the clock hours it lasted, so ``ml.drift``
compares them only on windows that cover every hour of the day.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml import schema
from ml.distributions import Distribution
from ml.errors import MlopsError
from ml.model_artifact import BASELINE_FILE, read_file

PSI_BINS = 10
BASELINE_VERSION = 2
REFERENCE_POINTS = 250_000  # distinct values kept per feature; more are merged into blocks
CLOCK_FEATURES = ("hour",)  # the hour of the transaction: one value per hour-long window
HOURS_PER_DAY = 24


class DriftInputError(MlopsError):
    """A baseline or batch that drift cannot compare (wrong file, missing columns)."""


def psi_edges(reference: Distribution, bins: int = PSI_BINS) -> np.ndarray:
    """Bin edges from the reference: a bin closes once it holds 1/bins of the rows.

    Edges fall halfway between neighbouring distinct values, so a value with a
    large share is a bin by itself; a last bin under half a share joins the one before.
    """
    values, cumulative, total = reference.values, reference.cumulative(), reference.total
    if values.size < 2:
        return np.empty(0)
    share = total / bins
    ends: list[int] = []
    done = 0
    while True:
        end = int(np.searchsorted(cumulative, done + share, side="left"))
        if end >= values.size - 1:
            break
        ends.append(end)
        done = int(cumulative[end])
    if ends and total - cumulative[ends[-1]] < share / 2:
        ends.pop()
    index = np.asarray(ends, dtype=np.int64)
    return (values[index] + values[index + 1]) / 2


def numeric_baseline(column: pd.Series) -> dict[str, Any]:
    """One numeric feature's reference distribution and PSI bins (one ordering pass)."""
    exact = Distribution.of(finite_values(column))
    reference = exact.quantile_points(REFERENCE_POINTS)
    edges = psi_edges(exact)
    return {
        "values": reference.values.tolist(),
        "counts": reference.counts.tolist(),
        "exact": reference is exact,
        "edges": edges.tolist(),
        "proportions": (exact.bin_counts(edges) / max(exact.total, 1)).tolist(),
        "null_fraction": float(1 - exact.total / max(len(column), 1)),
    }


def build_baseline(frame: pd.DataFrame) -> dict[str, Any]:
    """Summarise the training data's feature distributions for later comparison."""
    numeric = {name: numeric_baseline(frame[name]) for name in schema.NUMERIC_FEATURES}
    categorical: dict[str, Any] = {}
    for name in schema.CATEGORICAL_FEATURES:
        freq = frame[name].astype(str).value_counts(normalize=True, sort=False)
        categorical[name] = {"frequencies": {str(k): float(v) for k, v in freq.items()}}
    return {
        "version": BASELINE_VERSION,
        "rows": len(frame),
        "clock_features": [c for c in CLOCK_FEATURES if c in numeric],
        "numeric": numeric,
        "categorical": categorical,
    }


def reference_distribution(base: dict[str, Any]) -> Distribution:
    """A numeric feature's saved reference distribution."""
    return Distribution.from_lists(base["values"], base["counts"])


def finite_values(column: pd.Series) -> np.ndarray:
    """The column as floats, without missing or infinite values."""
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return values[np.isfinite(values)]


def load_baseline(path: Path) -> dict[str, Any]:
    """Read a baseline JSON, from a file or a model directory (or its tarball) holding one."""
    data = read_file(path, BASELINE_FILE)
    if data is None:
        raise DriftInputError(f"{path}: no drift baseline here; train a model to create one")
    try:
        baseline = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise DriftInputError(
            f"{path}: not a drift baseline JSON; pass the model's {BASELINE_FILE}"
        ) from None
    if not isinstance(baseline, dict) or {"numeric", "categorical"} - baseline.keys():
        raise DriftInputError(f"{path}: not a drift baseline; pass the model's {BASELINE_FILE}")
    return upgrade(baseline)


def upgrade(baseline: dict[str, Any]) -> dict[str, Any]:
    """A version 1 baseline (deciles and a 101-point CDF grid) in today's shape.

    Its grid becomes an approximate reference distribution (101 points), so
    models trained before version 2 keep being watched until they are retrained.
    """
    if baseline.get("version", 1) >= BASELINE_VERSION:
        return baseline
    rows = max(int(baseline.get("rows", 0)), 1)
    numeric = {}
    for name, base in baseline["numeric"].items():
        cdf = np.asarray(base["cdf"], dtype=float)
        counts = np.diff(np.r_[0.0, np.rint(cdf * rows)]).astype(np.int64)
        keep = counts > 0
        numeric[name] = {
            **base,
            "values": np.asarray(base["cdf_points"], dtype=float)[keep].tolist(),
            "counts": counts[keep].tolist(),
            "exact": False,
        }
    return {
        **baseline,
        "version": BASELINE_VERSION,
        "clock_features": [c for c in CLOCK_FEATURES if c in numeric],
        "numeric": numeric,
    }
