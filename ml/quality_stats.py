"""The tests behind the quality and bias alarms: a drop from the evaluated value, with intervals.

A quality alarm asks one question: is the model now worse than it was
when it was evaluated, beyond what chance explains? Both sides are samples:
the evaluation's test split (a few hundred frauds at most) and the window's
labelled traffic. So each test compares two counts, never a count with a
fixed floor, and says how sure it is as a z value (the normal quantile of its
one-sided p-value; 3.09 is p = 0.001). A fixed floor near the model's true
value fires on noise in a third of windows; a test does not.

- ``proportion_drop``: recall or precision below the evaluated one. Fisher's
  exact test, one-sided: given both samples' successes, the window's count is
  hypergeometric when nothing changed.
- ``segment_drop``: a merchant category whose recall fell behind the other
  categories more than it was behind them in the evaluation (a difference in
  differences, with the Agresti-Caffo adjustment that keeps the variance of
  small counts honest), for the worst category, Bonferroni-corrected for how
  many categories were compared. A gap that was already there when the model
  was evaluated is not news; a gap that opened is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import hypergeom, norm

CONFIDENCE = 0.95


def z_value(one_sided_p: float) -> float:
    """The normal quantile of a one-sided p-value, floored at 0 (no evidence)."""
    return max(0.0, float(norm.isf(min(max(one_sided_p, 1e-300), 0.5))))


def wilson_interval(successes: int, trials: int) -> list[float] | None:
    """The 95% Wilson score interval of a proportion; None without trials."""
    if trials <= 0:
        return None
    z = float(norm.isf((1 - CONFIDENCE) / 2))
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * np.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    half /= 1 + z * z / trials
    return [float(max(0.0, centre - half)), float(min(1.0, centre + half))]


def proportion_drop(
    reference_successes: int, reference_trials: int, successes: int, trials: int
) -> dict[str, Any]:
    """How surely ``successes/trials`` fell below the reference proportion (Fisher, one-sided)."""
    population = reference_trials + trials
    total = reference_successes + successes
    p_value = float(hypergeom.cdf(successes, population, total, trials))
    return {"z": z_value(p_value), "p_value": p_value}


def _adjusted(successes: int, trials: int) -> tuple[float, float]:
    """Agresti-Caffo: one success and one failure added; the share and its variance."""
    share = (successes + 1) / (trials + 2)
    return share, share * (1 - share) / (trials + 2)


def segment_drop(
    observed: dict[str, tuple[int, int]], reference: dict[str, tuple[int, int]]
) -> dict[str, Any] | None:
    """The category whose recall fell furthest behind the rest, relative to the evaluation.

    ``observed`` and ``reference`` map a category to (frauds caught, frauds),
    for the categories with enough frauds on both sides. None with fewer than two.
    """
    names = sorted(set(observed) & set(reference))
    if len(names) < 2:
        return None
    found: dict[str, dict[str, float]] = {}
    for name in names:
        parts = [
            _adjusted(*side[name]) if inside else _adjusted(*_rest(side, name, names))
            for side in (observed, reference)
            for inside in (True, False)
        ]
        (now, v1), (now_rest, v2), (then, v3), (then_rest, v4) = parts
        shortfall = (then - then_rest) - (now - now_rest)
        z = shortfall / float(np.sqrt(v1 + v2 + v3 + v4))
        found[name] = {"gap_now": now - now_rest, "gap_evaluated": then - then_rest, "z": z}
    worst = max(found, key=lambda n: found[n]["z"])
    p_value = min(1.0, len(names) * float(norm.sf(found[worst]["z"])))
    return {
        "segment": worst,
        "z": z_value(p_value),
        "p_value": p_value,
        "compared": len(names),
        "per_segment": found,
    }


def _rest(side: dict[str, tuple[int, int]], name: str, names: list[str]) -> tuple[int, int]:
    caught = sum(side[n][0] for n in names if n != name)
    return caught, sum(side[n][1] for n in names if n != name)
