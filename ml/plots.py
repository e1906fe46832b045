"""Evaluation plots as PNG files, drawn with matplotlib's Agg backend (no display)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def pr_curve(curve: dict[str, list[float]], pr_auc: float, path: Path) -> None:
    """Precision against recall, with the 90% precision target marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot(curve["recalls"], curve["precisions"], label=f"challenger (PR AUC {pr_auc:.3f})")
    ax.axhline(0.9, color="grey", linestyle="--", linewidth=1, label="90% precision")
    ax.set(
        xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title="Precision-recall"
    )
    ax.legend(loc="lower left")
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
    """PR curves of both models side by side with their headline metrics."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for label, metrics in (("champion", champion), ("challenger", challenger)):
        curve = metrics.get("precision_recall_curve") or {"recalls": [], "precisions": []}
        left.plot(curve["recalls"], curve["precisions"], label=label)
    left.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title="PR curves")
    left.legend(loc="lower left")
    x = np.arange(len(names))
    for offset, (label, metrics) in zip(
        (-0.2, 0.2), (("champion", champion), ("challenger", challenger)), strict=True
    ):
        values = [metrics.get(n, {}).get("value", np.nan) for n in names]
        right.bar(x + offset, values, width=0.4, label=label)
    right.set_xticks(x, names, rotation=15)
    right.set(ylim=(0, 1), title="Headline metrics")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def pr_curves(curves: list[tuple[str, dict[str, list[float]], float]], path: Path) -> list[str]:
    """Several models' precision-recall curves on one plot; returns the legend's labels."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for label, curve, pr_auc in curves:
        ax.plot(curve["recalls"], curve["precisions"], label=f"{label} (PR AUC {pr_auc:.3f})")
    ax.axhline(0.9, color="grey", linestyle="--", linewidth=1, label="90% precision")
    ax.set(
        xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title="Precision-recall"
    )
    ax.legend(loc="lower left")
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
