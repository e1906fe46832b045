"""Evaluation of a trained model on held-out data, and the gates a challenger must pass.

Writes ``evaluation.json`` in SageMaker's model-quality shape
(``binary_classification_metrics.<name>.value``), so a pipeline condition or the
model registry reads it unchanged, with the evidence beside it (frauds in the
split, rows flagged, how the threshold was chosen) and each metric's 95%
bootstrap interval; ``comparison.json`` holds the gate verdict (``ml.gates``)
and, with a champion, the non-inferiority comparison (``ml.comparison``):
paired when the champion's model is given (``--champion-model``), scored on the
same rows, unpaired and wider when only its evaluation.json is.
``python -m ml.evaluate`` is the processing entry point; ``mlops evaluate`` runs it
locally.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml import schema
from ml.errors import MlopsError
from ml.gates import GateError, Gates, champion_checks, decide, evidence_checks, floor_checks
from ml.options import parse
from ml.step_options import PROCESSING, EvaluateOptions

__all__ = ["GateError", "Gates"]

EVALUATION_FILE = "evaluation.json"
COMPARISON_FILE = "comparison.json"
HEADLINE = ["pr_auc", "roc_auc", "recall_at_precision_90", "precision", "recall"]
GUARDED = ("pr_auc", "precision", "recall")


class EvaluationInputError(MlopsError):
    """Evaluation inputs that cannot be used (no labels, bad champion file)."""


@dataclass(frozen=True)
class ScoredSplit:
    """A model's scores of a labelled split, its threshold and how that was chosen."""

    y: np.ndarray
    score: np.ndarray
    threshold: float
    threshold_info: dict[str, Any] = field(default_factory=dict)


def score_model(model_dir: Path, frame: pd.DataFrame) -> ScoredSplit:
    """Score a labelled frame with the model in ``model_dir`` (directory or tarball)."""
    from ml.inference import model_fn, predict_fn

    if schema.LABEL_COLUMN not in frame.columns:
        raise EvaluationInputError(
            f"test data has no {schema.LABEL_COLUMN} column; evaluation needs labels"
        )
    loaded = model_fn(model_dir)
    score = predict_fn(frame, loaded)[:, 0]
    return ScoredSplit(
        frame[schema.LABEL_COLUMN].to_numpy(dtype=np.int64),
        score,
        loaded.threshold,
        dict(loaded.metadata.get("threshold") or {}),
    )


def score_frame(model_dir: Path, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, float]:
    """Labels, scores and the model's threshold for a labelled frame."""
    scored = score_model(model_dir, frame)
    return scored.y, scored.score, scored.threshold


def evaluate_scores(
    y: np.ndarray, score: np.ndarray, threshold: float, threshold_info: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The evaluation document for labels and scores at the model's threshold."""
    from ml.metrics import metrics_with_intervals

    metrics, intervals = metrics_with_intervals(y, score, threshold)
    info = dict(threshold_info or {})
    return {
        "binary_classification_metrics": metrics,
        "evaluation": {
            "rows": int(y.size),
            "positives": int(y.sum()),
            "flagged": int((score >= threshold).sum()),
            "fraud_rate": float(y.mean()) if y.size else 0.0,
            "decision_threshold": threshold,
            "threshold_fallback": int(bool(info.get("fallback", False))),
            "threshold": info,
        },
        "intervals": intervals,
    }


def evaluate_split(scored: ScoredSplit) -> dict[str, Any]:
    """``evaluate_scores`` of a scored split."""
    return evaluate_scores(scored.y, scored.score, scored.threshold, scored.threshold_info)


def compare(
    challenger: dict[str, Any],
    champion: dict[str, Any] | None,
    gates: Gates,
    paired: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The gate verdict: evidence, floors and, with a champion, non-inferiority.

    ``paired`` is ``ml.comparison.compare_paired`` on the same rows; without it a
    champion's evaluation alone gives the unpaired comparison.
    """
    from ml.comparison import compare_unpaired

    checks = evidence_checks(challenger, gates) + floor_checks(challenger, gates)
    comparison = paired
    if comparison is None and champion is not None:
        comparison = compare_unpaired(champion, challenger, gates.margins())
    if comparison is not None:
        checks += champion_checks(comparison)
    return {
        **decide(checks),
        "gates": gates.as_dict(),
        "comparison": comparison,
        "challenger": headline(challenger),
        "champion": headline(champion) if champion is not None else None,
    }


def headline(evaluation: dict[str, Any]) -> dict[str, float]:
    """The headline metrics' values of an evaluation document."""
    metrics = evaluation["binary_classification_metrics"]
    return {name: float(metrics[name]["value"]) for name in HEADLINE if name in metrics}


def load_evaluation(path: Path) -> dict[str, Any]:
    """Read an evaluation.json (a file, or a directory holding one)."""
    file = path / EVALUATION_FILE if path.is_dir() else path
    try:
        document = json.loads(file.read_text())
    except FileNotFoundError:
        raise EvaluationInputError(f"{file}: no such evaluation file; check the path") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise EvaluationInputError(
            f"{file}: not JSON; pass the champion's {EVALUATION_FILE}"
        ) from None
    metrics = document.get("binary_classification_metrics") if isinstance(document, dict) else None
    if not isinstance(metrics, dict) or any(n not in metrics for n in GUARDED):
        raise EvaluationInputError(
            f"{file}: no binary_classification_metrics; pass an {EVALUATION_FILE}"
        )
    return document


def run_evaluation(
    model_dir: Path,
    test_path: Path,
    out_dir: Path,
    champion_path: Path | None = None,
    gates: Gates | None = None,
    champion_model: Path | None = None,
    draw_plots: bool = True,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Score the test data, write evaluation.json, comparison.json and (optionally) the plots."""
    from ml.bootstrap import Scored
    from ml.comparison import compare_paired
    from ml.io import read_table, write_atomic
    from ml.quality_reference import segment_counts

    gates = gates or Gates()
    frame = read_table(test_path)
    scored = score_model(model_dir, frame)
    evaluation = evaluate_split(scored)
    # production quality's yardstick
    evaluation.update(segment_counts(frame, scored.y, scored.score, scored.threshold))
    champion: dict[str, Any] | None = None
    paired: dict[str, Any] | None = None
    if champion_model is not None:
        rival = score_model(champion_model, frame)
        champion = evaluate_split(rival)
        paired = compare_paired(
            scored.y,
            Scored(rival.score, rival.threshold),
            Scored(scored.score, scored.threshold),
            gates.margins(),
        )
    elif champion_path is not None:
        champion = load_evaluation(champion_path)
    comparison = compare(evaluation, champion, gates, paired)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(out_dir / EVALUATION_FILE, json.dumps(evaluation, indent=2))
    write_atomic(out_dir / COMPARISON_FILE, json.dumps(comparison, indent=2))
    if draw_plots:
        _plots(scored, evaluation, champion, out_dir)
    return evaluation, comparison


def _plots(
    scored: ScoredSplit,
    evaluation: dict[str, Any],
    champion: dict[str, Any] | None,
    out_dir: Path,
) -> None:
    from ml import plots

    metrics = evaluation["binary_classification_metrics"]
    plots.pr_curve(
        metrics["precision_recall_curve"],
        metrics["pr_auc"]["value"],
        out_dir / "pr_curve.png",
        plots.operating_point(evaluation),
    )
    plots.score_distribution(
        scored.y, scored.score, scored.threshold, out_dir / "score_distribution.png"
    )
    if champion is not None:
        plots.champion_vs_challenger(
            evaluation, champion, HEADLINE, out_dir / "champion_vs_challenger.png"
        )


def run_step(options: EvaluateOptions) -> tuple[dict[str, Any], dict[str, Any]]:
    """Evaluation as ``python -m ml.evaluate`` and ``mlops evaluate`` run it."""
    return run_evaluation(
        options.model_dir,
        options.test,
        options.out,
        options.champion_metrics,
        Gates.parse(options.gates),
        options.champion_model,
        options.plots,
    )


def main(argv: list[str] | None = None) -> int:
    """Processing entry point; exit 1 when the challenger fails its gates.

    Without ``--champion-metrics``, a champion's evaluation.json in the
    processing job's ``champion`` input is used when there is one.
    """
    options = parse(EvaluateOptions, argv, "Evaluate a model and gate it against the champion.")
    champion = PROCESSING / "champion" / EVALUATION_FILE
    if options.champion_metrics is None and options.champion_model is None and champion.exists():
        options = replace(options, champion_metrics=champion)
    try:
        _, comparison = run_step(options)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"verdict": comparison["verdict"], **comparison["challenger"]}))
    if comparison["verdict"] != "pass":
        print(f"gates failed: {comparison['reason']}", file=sys.stderr)
    return 0 if comparison["verdict"] == "pass" else 1


if __name__ == "__main__":
    sys.exit(main())
