"""PR curves kept as their corners and drawn as steps with the operating point."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from ml.metrics import CURVE_POINTS, pr_curve_steps


def step_area(curve: dict[str, list[float]]) -> float:
    """Area under the curve drawn as steps-post with recall falling (how the plots draw it)."""
    recalls, precisions = np.array(curve["recalls"]), np.array(curve["precisions"])
    return float(np.sum((recalls[:-1] - recalls[1:]) * precisions[:-1]))


@pytest.fixture(scope="module")
def rare() -> tuple[np.ndarray, np.ndarray]:
    """40 frauds among 4,000 rows: most thresholds separate legitimate rows only."""
    rng = np.random.default_rng(5)
    y = np.zeros(4_000, dtype=int)
    y[:40] = 1
    score = np.where(y == 1, rng.beta(4, 2, y.size), rng.beta(1, 6, y.size))
    return y, score


def test_the_curve_keeps_a_corner_for_every_recall_level(rare):
    y, score = rare
    curve = pr_curve_steps(y, score)
    recalls = curve["recalls"]
    assert sorted(set(recalls), reverse=True) == recalls  # one point per level, falling
    assert len(recalls) == 41  # recall 1.0, 39/40, ..., 0
    assert step_area(curve) == pytest.approx(average_precision_score(y, score), abs=1e-5)


def test_thinning_by_row_index_would_have_drawn_the_top_of_the_curve_as_one_line(rare):
    """The old thinning took 101 evenly spaced thresholds: few of them above the frauds."""
    from sklearn.metrics import precision_recall_curve

    y, score = rare
    _, recall, _ = precision_recall_curve(y, score)
    by_index = recall[np.unique(np.linspace(0, recall.size - 1, 101).astype(int))]
    assert np.max(-np.diff(by_index)) > 0.25  # a jump drawn as a straight line
    kept = np.array(pr_curve_steps(y, score)["recalls"])
    assert np.max(-np.diff(kept)) == pytest.approx(1 / 40)


def test_a_long_curve_is_thinned_evenly_in_recall():
    rng = np.random.default_rng(2)
    y = (rng.random(60_000) < 0.05).astype(int)
    score = rng.random(60_000) + y * 0.5
    curve = pr_curve_steps(y, score)
    recalls = np.array(curve["recalls"])
    assert len(recalls) <= CURVE_POINTS
    assert np.max(-np.diff(recalls)) < 2.5 / CURVE_POINTS
    assert step_area(curve) == pytest.approx(average_precision_score(y, score), abs=0.01)


def test_curves_are_drawn_as_steps_with_each_operating_point_in_its_colour():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ml.plots import draw_pr_curves

    curve = {"recalls": [1.0, 0.5, 0.0], "precisions": [0.1, 0.8, 1.0]}
    fig, ax = plt.subplots()
    draw_pr_curves(ax, [("champion (PR AUC 0.4)", curve, (0.5, 0.8)), ("challenger", curve, None)])
    steps, other, point = ax.lines
    assert steps.get_drawstyle() == other.get_drawstyle() == "steps-post"
    assert list(point.get_xdata()) == [0.5] and list(point.get_ydata()) == [0.8]
    assert point.get_color() == steps.get_color()
    assert point.get_label() == "champion at its threshold (recall 0.50, precision 0.80)"
    plt.close(fig)
