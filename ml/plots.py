"""Evaluation plots as PNG files, drawn with matplotlib's Agg backend (no display).

matplotlib is imported by the first plot drawn, never by importing this module:
it costs about 0.4 s, which a step that draws nothing should not pay.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


Point = tuple[float, float]  # (recall, precision) at a model's decision threshold


def operating_point(evaluation: dict[str, Any]) -> Point:
    """Recall and precision at the model's own threshold, from its evaluation document."""
    metrics = evaluation["binary_classification_metrics"]
    return float(metrics["recall"]["value"]), float(metrics["precision"]["value"])


def draw_pr_curves(ax: Any, models: list[tuple[str, dict[str, list[float]], Point | None]]) -> None:
    """PR curves as steps (the area under them is PR AUC), then each operating point.

    Curves come first in the legend, in the order given; each point has its curve's colour.
    """
    colours = []
    for label, curve, _ in models:
        (line,) = ax.plot(
            curve["recalls"], curve["precisions"], drawstyle="steps-post", label=label
        )
        colours.append(line.get_color())
    for (label, _, point), colour in zip(models, colours, strict=True):
        if point is None:
            continue
        ax.plot(
            [point[0]],
            [point[1]],
            marker="o",
            markersize=8,
            color=colour,
            markeredgecolor="black",
            linestyle="none",
            label=f"{label.split(' (')[0]} at its threshold "
            f"(recall {point[0]:.2f}, precision {point[1]:.2f})",
        )


def _pr_axes(ax: Any, title: str = "Precision-recall") -> None:
    ax.axhline(0.9, color="grey", linestyle="--", linewidth=1, label="90% precision")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title=title)
    ax.legend(loc="lower left", fontsize="small")


def pr_curve(
    curve: dict[str, list[float]], pr_auc: float, path: Path, point: Point | None = None
) -> None:
    """Precision against recall as steps, the operating point and the 90% target marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    draw_pr_curves(ax, [(f"challenger (PR AUC {pr_auc:.3f})", curve, point)])
    _pr_axes(ax)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def score_distribution(y: np.ndarray, score: np.ndarray, threshold: float, path: Path) -> None:
    """Score histograms of fraud and legitimate rows (log counts), with the threshold."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    bins = np.linspace(0, 1, 51)
    ax.hist(score[y == 0], bins=bins, alpha=0.6, label="legitimate", log=True)
    ax.hist(score[y == 1], bins=bins, alpha=0.6, label="fraud", log=True)
    ax.axvline(
        threshold, color="black", linestyle="--", linewidth=1, label=f"threshold {threshold:.3f}"
    )
    ax.set(xlabel="fraud score", ylabel="rows (log)", title="Score distribution")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def champion_vs_challenger(
    challenger: dict[str, Any], champion: dict[str, Any], names: list[str], path: Path
) -> None:
    """PR curves (steps, operating points) of both evaluations, and their headline metrics."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    models = (("champion", champion), ("challenger", challenger))
    empty: dict[str, list[float]] = {"recalls": [], "precisions": []}
    draw_pr_curves(
        left,
        [
            (
                label,
                evaluation["binary_classification_metrics"].get("precision_recall_curve", empty),
                operating_point(evaluation),
            )
            for label, evaluation in models
        ],
    )
    _pr_axes(left, "PR curves")
    x = np.arange(len(names))
    for offset, (label, evaluation) in zip((-0.2, 0.2), models, strict=True):
        metrics = evaluation["binary_classification_metrics"]
        values = [metrics.get(n, {}).get("value", np.nan) for n in names]
        right.bar(x + offset, values, width=0.4, label=label)
    right.set_xticks(x, names, rotation=15)
    right.set(ylim=(0, 1), title="Headline metrics")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def pr_curves(
    curves: Sequence[tuple[str, dict[str, list[float]], float, Point | None]], path: Path
) -> list[str]:
    """Several models' PR curves as steps on one plot, each with its operating point.

    Returns the legend's labels.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5))
    draw_pr_curves(
        ax, [(f"{label} (PR AUC {auc:.3f})", curve, point) for label, curve, auc, point in curves]
    )
    _pr_axes(ax)
    labels = [str(label) for label in ax.get_legend_handles_labels()[1]]
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return labels


def psi_by_feature(psi: dict[str, float], warn: float, alarm: float, path: Path) -> None:
    """PSI of each feature as bars, with the warn and alarm thresholds the drift alarms use."""
    plt = _pyplot()
    names = sorted(psi, key=lambda name: psi[name], reverse=True)
    values = [psi[name] for name in names]
    colours = [
        "tab:red" if v >= alarm else "tab:orange" if v >= warn else "tab:green" for v in values
    ]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.bar(np.arange(len(names)), values, color=colours)
    ax.axhline(warn, color="orange", linestyle="--", linewidth=1, label=f"warn {warn:g}")
    ax.axhline(alarm, color="red", linestyle="--", linewidth=1, label=f"alarm {alarm:g}")
    ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right")
    ax.set(ylabel="PSI", title="Drift per feature (PSI against the training baseline)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
