"""The Champion step's report: the decision in words, the intervals, both PR curves.

``champion_vs_challenger.md`` says first whether the challenger is registered
and why, then the evidence behind it: the checks with their values and
limits, each compared metric's difference with its 95% interval, the margin
and what this split can resolve, and one plot with both PR curves drawn as
steps and each model's operating point marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ml.comparison import RESOLUTION_Z

REPORT_FILE = "champion_vs_challenger.md"
PLOT_FILE = "pr_curves.png"
NAMES = {
    "pr_auc": "PR AUC",
    "recall": "recall at the challenger's alert volume",
    "precision": "precision at the challenger's alert volume",
}


def write_report(
    document: dict[str, Any],
    challenger: dict[str, Any],
    champion: dict[str, Any] | None,
    out_dir: Path,
) -> list[str]:
    """Write the Markdown and the PR plot; returns the plot's legend labels."""
    from ml import plots
    from ml.io import write_atomic

    curves = []
    for label, evaluation in (("champion", champion), ("challenger", challenger)):
        if evaluation is None:
            continue
        metrics = evaluation["binary_classification_metrics"]
        curves.append(
            (
                label,
                metrics["precision_recall_curve"],
                metrics["pr_auc"]["value"],
                plots.operating_point(evaluation),
            )
        )
    labels = plots.pr_curves(curves, out_dir / PLOT_FILE)
    lines = ["# Champion vs challenger", "", *who(document), *decision_lines(document)]
    lines += checks_table(document)
    lines += headline_table(document)
    lines += ["", f"![Precision-recall curves of champion and challenger]({PLOT_FILE})", ""]
    write_atomic(out_dir / REPORT_FILE, "\n".join(lines))
    return labels


def who(document: dict[str, Any]) -> list[str]:
    """Which models are compared, on which rows."""
    champion, challenger = document["champion"], document["challenger"]
    evidence = document["evidence"]
    dataset = f" (dataset {champion['dataset_version']})" if champion["dataset_version"] else ""
    held = (
        f", already registered as `{challenger['registered_as']}`"
        if challenger["registered_as"]
        else ""
    )
    return [
        f"- champion: `{champion['package_arn']}`{dataset}",
        f"- challenger: model sha256 `{challenger['model_sha256'][:16]}`{held}",
        f"- both scored on the same {evidence['rows']} held-out rows "
        f"({evidence['positives']} frauds); the challenger's threshold "
        f"{evidence['decision_threshold']:.4f} flags {evidence['flagged']} of them",
        "",
    ]


def decision_lines(document: dict[str, Any]) -> list[str]:
    """The decision and, per compared metric, the difference and its interval, in words."""
    decision = document["decision"]
    verdict = "registered" if decision["passed"] else "not registered"
    lines = [f"**Decision: the challenger is {verdict}.** {_sentence(decision['reason'])}", ""]
    comparison = document.get("comparison")
    if comparison is None:
        return [*lines, "No approved champion yet: only the evidence and the floors apply.", ""]
    lines += [
        f"Against the champion ({comparison['method']}, {comparison['resamples']} resamples, "
        f"{comparison['confidence']:.0%} intervals; challenger less champion):",
        "",
    ]
    for name, m in comparison["metrics"].items():
        lines.append(f"- {_metric_sentence(name, m)}")
    lines += ["", *_volume_sentence(comparison), _margin_sentence(comparison), ""]
    return lines


def _volume_sentence(comparison: dict[str, Any]) -> list[str]:
    """How the champion's threshold was moved to raise as many alerts as the challenger."""
    volume = comparison.get("alert_volume")
    if not volume:
        return []
    return [
        f"Recall and precision are compared at the same number of alerts: the challenger "
        f"flags {volume['challenger_flagged']} rows; the champion flags "
        f"{volume['champion_flagged_at_own_threshold']} at its own threshold "
        f"{volume['champion_threshold']:.4f}, and {volume['challenger_flagged']} at "
        f"{volume['champion_matched_threshold']:.4f}. Each model's own operating point is "
        "judged by the floors.",
        "",
    ]


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _metric_sentence(name: str, m: dict[str, Any]) -> str:
    direction = "higher" if m["difference"] >= 0 else "lower"
    verdict = (
        f"non-inferior: the interval stays above -{m['margin']:g}"
        if m["non_inferior"]
        else f"not shown non-inferior: the interval reaches below -{m['margin']:g}"
    )
    return (
        f"{NAMES.get(name, name)}: {m['challenger']:.3f} against {m['champion']:.3f}, "
        f"{abs(m['difference']):.3f} {direction} (95% interval {m['low']:+.3f} to "
        f"{m['high']:+.3f}); {verdict}."
    )


def _margin_sentence(comparison: dict[str, Any]) -> str:
    """Why the margins are what they are: what this split can resolve, metric by metric."""
    parts = []
    short = []
    for name, m in comparison["metrics"].items():
        parts.append(f"{NAMES.get(name, name)} {m['resolution']:.3f} (margin {m['margin']:g})")
        if not m["resolvable"]:
            short.append(NAMES.get(name, name))
    text = (
        f"Margins come from `pipeline.gates.margins`. This split resolves a difference of "
        f"{RESOLUTION_Z:.1f} standard errors (detected 4 times in 5): {'; '.join(parts)}. "
    )
    if short:
        return text + (
            f"The margin on {', '.join(short)} is smaller than that, so an equal challenger "
            "fails that comparison more often than 1 time in 5: a larger test split or a wider "
            "margin fixes it."
        )
    return text + (
        "Every margin is at least that, so an equal challenger passes each comparison at "
        "least 4 times in 5."
    )


def checks_table(document: dict[str, Any]) -> list[str]:
    """Every check with its value, its limit and its result."""
    lines = ["| check | value | limit | result |", "|---|---|---|---|"]
    for item in document["decision"]["checks"]:
        result = "pass" if item["passed"] else "**fail**"
        lines.append(f"| {item['check']} | {item['value']:.4f} | {item['limit']:.4f} | {result} |")
    return [*lines, ""]


def headline_table(document: dict[str, Any]) -> list[str]:
    """The headline metrics of both models side by side."""
    ours, theirs = document["metrics"]["challenger"], document["metrics"]["champion"]
    lines = ["| metric | champion | challenger |", "|---|---|---|"]
    for name, value in ours.items():
        old = f"{theirs[name]:.4f}" if theirs is not None else "-"
        lines.append(f"| {name} | {old} | {value:.4f} |")
    return lines
