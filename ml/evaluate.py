"""Evaluation of a trained model on held-out data, and the gate against the champion.

Writes ``evaluation.json`` in SageMaker's model-quality shape
(``binary_classification_metrics.<name>.value``), so a pipeline condition or the
model registry reads it unchanged; ``comparison.json`` holds the gate verdict.
``python -m ml.evaluate`` is the processing entry point; ``mlops evaluate`` runs it
locally.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml import schema
from ml.errors import MlopsError
from ml.options import parse
from ml.step_options import PROCESSING, EvaluateOptions

EVALUATION_FILE = "evaluation.json"
COMPARISON_FILE = "comparison.json"
HEADLINE = ["pr_auc", "roc_auc", "recall_at_precision_90", "precision", "recall"]
GUARDED = ("pr_auc", "recall_at_precision_90")


class EvaluationInputError(MlopsError):
    """Evaluation inputs that cannot be used (no labels, bad gate, bad champion file)."""


@dataclass(frozen=True)
class Gates:
    """What a challenger must reach: absolute floors and the largest drop vs the champion."""

    min_pr_auc: float = 0.5
    min_recall_at_precision: float = 0.2
    max_regression: float = 0.02

    @classmethod
    def parse(cls, text: str | None) -> Gates:
        """Read ``"min_pr_auc=0.6,max_regression=0.01"``; unnamed gates keep their defaults."""
        if not text:
            return cls()
        known = {f.name for f in fields(cls)}
        values: dict[str, float] = {}
        for item in text.split(","):
            name, _, raw = item.partition("=")
            name = name.strip()
            if name not in known:
                raise EvaluationInputError(
                    f"unknown gate {name!r}; use one of {', '.join(sorted(known))}"
                )
            try:
                values[name] = float(raw)
            except ValueError:
                raise EvaluationInputError(f"gate {name} needs a number, got {raw!r}") from None
        return cls(**values)


def evaluate_scores(y: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, Any]:
    """The evaluation document for labels and scores."""
    from ml.metrics import binary_metrics

    return {
        "binary_classification_metrics": binary_metrics(y, score, threshold),
        "evaluation": {
            "rows": int(y.size),
            "fraud_rate": float(y.mean()) if y.size else 0.0,
            "decision_threshold": threshold,
        },
    }


def score_frame(model_dir: Path, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, float]:
    """Labels, scores and the model's threshold for a labelled frame."""
    from ml.inference import model_fn, predict_fn

    if schema.LABEL_COLUMN not in frame.columns:
        raise EvaluationInputError(
            f"test data has no {schema.LABEL_COLUMN} column; evaluation needs labels"
        )
    loaded = model_fn(model_dir)
    score = predict_fn(frame, loaded)[:, 0]
    return frame[schema.LABEL_COLUMN].to_numpy(dtype=np.int64), score, loaded.threshold


def compare(
    challenger: dict[str, Any], champion: dict[str, Any] | None, gates: Gates
) -> dict[str, Any]:
    """Check the challenger against the gates (and the champion, when there is one)."""
    new = challenger["binary_classification_metrics"]
    checks = [
        _check("pr_auc >= min_pr_auc", new["pr_auc"]["value"], gates.min_pr_auc, ">="),
        _check(
            "recall_at_precision_90 >= min_recall_at_precision",
            new["recall_at_precision_90"]["value"],
            gates.min_recall_at_precision,
            ">=",
        ),
    ]
    if champion is not None:
        old = champion["binary_classification_metrics"]
        for name in GUARDED:
            drop = old[name]["value"] - new[name]["value"]
            checks.append(
                _check(
                    f"{name} drop vs champion <= max_regression", drop, gates.max_regression, "<="
                )
            )
    return {
        "verdict": "pass" if all(c["passed"] for c in checks) else "fail",
        "gates": asdict(gates),
        "checks": checks,
        "challenger": {n: new[n]["value"] for n in HEADLINE},
        "champion": None
        if champion is None
        else {n: champion["binary_classification_metrics"][n]["value"] for n in HEADLINE},
    }


def _check(name: str, value: float, limit: float, op: str) -> dict[str, Any]:
    passed = bool(value >= limit) if op == ">=" else bool(value <= limit)
    return {"check": name, "value": value, "limit": limit, "passed": passed}


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
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Score the test data, write evaluation.json, comparison.json and the plots."""
    from ml import plots
    from ml.io import read_table
    from ml.quality_reference import segment_counts

    champion = load_evaluation(champion_path) if champion_path is not None else None
    frame = read_table(test_path)
    y, score, threshold = score_frame(model_dir, frame)
    evaluation = evaluate_scores(y, score, threshold)
    evaluation.update(segment_counts(frame, y, score, threshold))  # production quality's yardstick
    comparison = compare(evaluation, champion, gates or Gates())
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / EVALUATION_FILE).write_text(json.dumps(evaluation, indent=2))
    (out_dir / COMPARISON_FILE).write_text(json.dumps(comparison, indent=2))
    metrics = evaluation["binary_classification_metrics"]
    plots.pr_curve(
        metrics["precision_recall_curve"], metrics["pr_auc"]["value"], out_dir / "pr_curve.png"
    )
    plots.score_distribution(y, score, threshold, out_dir / "score_distribution.png")
    if champion is not None:
        plots.champion_vs_challenger(
            metrics,
            champion["binary_classification_metrics"],
            HEADLINE,
            out_dir / "champion_vs_challenger.png",
        )
    return evaluation, comparison


def run_step(options: EvaluateOptions) -> tuple[dict[str, Any], dict[str, Any]]:
    """Evaluation as ``python -m ml.evaluate`` and ``mlops evaluate`` run it."""
    return run_evaluation(
        options.model_dir,
        options.test,
        options.out,
        options.champion_metrics,
        Gates.parse(options.gates),
    )


def main(argv: list[str] | None = None) -> int:
    """Processing entry point; exit 1 when the challenger fails its gates.

    Without ``--champion-metrics``, a champion's evaluation.json in the
    processing job's ``champion`` input is used when there is one.
    """
    options = parse(EvaluateOptions, argv, "Evaluate a model and gate it against the champion.")
    champion = PROCESSING / "champion" / EVALUATION_FILE
    if options.champion_metrics is None and champion.exists():
        options = replace(options, champion_metrics=champion)
    try:
        _, comparison = run_step(options)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"verdict": comparison["verdict"], **comparison["challenger"]}))
    return 0 if comparison["verdict"] == "pass" else 1


if __name__ == "__main__":
    sys.exit(main())
