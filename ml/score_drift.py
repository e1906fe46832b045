"""Drift of the model's output: score distribution and flag rate against a same-hour reference.

Input drift misses changes that leave the inputs alike but move what the
model does with them, so the drift job also compares the window's scores with
reference scores: the serving model's scores of the traffic captured in the
same clock hour on earlier days. The clock matters: at night fraud is
several times likelier, and so are high scores and flags, so an hourly window
compared with a whole day's scores would drift every night.

- ``score_psi``: PSI of the window's scores on bins cut from the reference
  scores (``ml.drift_baseline.psi_edges``).
- ``flag_rate_change``: how surely the share of rows flagged (score at or above
  the decision threshold) moved by more than a tolerance factor, as a z value.
  Given the flags of both samples, the window's count is binomial under "the
  rate ratio is exactly the tolerance"; the smaller one-sided tail of the two
  boundaries (``tolerance`` and ``1/tolerance``), doubled, is the p-value,
  and z is its normal quantile. A tolerance above 1 keeps ordinary day-to-day
  variation of real traffic from alarming at high volume.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import binom

from ml.distributions import Distribution
from ml.drift import psi
from ml.drift_baseline import psi_edges
from ml.quality_stats import z_value

DEFAULT_TOLERANCE = 1.5


def flag_rate_change(
    flagged: int, rows: int, reference_flagged: int, reference_rows: int, tolerance: float
) -> dict[str, Any]:
    """The z of "the flag rate moved by more than ``tolerance`` times", and its direction."""
    total = flagged + reference_flagged
    if not total or not rows or not reference_rows:
        return {"z": 0.0, "p_value": 1.0, "direction": "none"}
    up = tolerance * rows / (tolerance * rows + reference_rows)
    down = rows / tolerance / (rows / tolerance + reference_rows)
    p_up = float(binom.sf(flagged - 1, total, up))  # P(X >= flagged) at ratio = tolerance
    p_down = float(binom.cdf(flagged, total, down))  # P(X <= flagged) at ratio = 1/tolerance
    p_value = min(1.0, 2 * min(p_up, p_down))
    direction = "up" if p_up < p_down else "down"
    return {"z": z_value(p_value / 2), "p_value": p_value, "direction": direction}


def score_drift(
    scores: np.ndarray,
    reference: np.ndarray,
    threshold: float,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    min_rows: int = 0,
) -> dict[str, Any]:
    """Score PSI and flag-rate change of a window against reference scores.

    Either sample under ``min_rows`` rows gives ``insufficient_data`` and no numbers.
    """
    scores = np.asarray(scores, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    counts = {"rows": int(scores.size), "reference_rows": int(reference.size)}
    if min(scores.size, reference.size) < max(min_rows, 1):
        return {"status": "insufficient_data", "min_rows": min_rows, **counts}
    base = Distribution.of(reference)
    edges = psi_edges(base)
    expected = base.bin_counts(edges) / reference.size
    actual = Distribution.of(scores).bin_counts(edges) / scores.size
    flagged = int((scores >= threshold).sum())
    reference_flagged = int((reference >= threshold).sum())
    return {
        "status": "measured",
        **counts,
        "threshold": threshold,
        "psi": psi(expected, actual),
        "flag_rate": flagged / scores.size,
        "reference_flag_rate": reference_flagged / reference.size,
        "flags": flagged,
        "reference_flags": reference_flagged,
        "tolerance": tolerance,
        "flag_rate_change": flag_rate_change(
            flagged, int(scores.size), reference_flagged, int(reference.size), tolerance
        ),
    }
