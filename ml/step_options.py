"""The options of each ML step, declared once: flags, defaults, help, container paths.

``python3 -m ml.<step>`` (SageMaker's container contract: ``/opt/ml`` paths,
``SM_*`` variables, hyperparameters as ``--name value``) and ``mlops <step>``
(``ops/commands/ml_steps.py``) both derive from these dataclasses (see
``ml.options``), so a default changes here and nowhere else. The
hyperparameters (``TrainParams``) and drift thresholds (``Thresholds``) are
groups that the library functions take as they are. Stdlib only: the command
line imports this while it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from ml.model_artifact import BASELINE_FILE, TARBALL
from ml.options import Option

if TYPE_CHECKING:
    from ml.window import Window

PROCESSING = Path("/opt/ml/processing")
DRIFT_FILE = "drift.json"
QUALITY_FILE = "quality.json"
MODEL_DIR_HELP = f"Trained model directory (or one holding its {TARBALL})."
# Below this many rows a batch's PSI is mostly sampling noise (docs/monitoring.md).
MIN_DRIFT_ROWS = 300


@dataclass(frozen=True)
class TrainParams:
    """Hyperparameters; ``pos_weight`` None means sqrt(negatives / positives)."""

    learning_rate: Annotated[float, Option("Shrinkage of each boosting iteration.")] = 0.08
    max_iter: Annotated[
        int, Option("Boosting iterations at most (early stopping may end sooner).")
    ] = 300
    max_leaf_nodes: Annotated[int, Option("Leaves per tree at most.")] = 31
    min_samples_leaf: Annotated[int, Option("Training rows per leaf at least.")] = 80
    l2_regularization: Annotated[float, Option("L2 penalty on leaf values.")] = 1.0
    pos_weight: Annotated[
        float | None, Option("Weight of fraud rows; default sqrt(negatives/positives).")
    ] = None
    calibrate: Annotated[
        bool, Option("Platt-calibrate the scores (on validation or out-of-fold scores).")
    ] = True
    seed: Annotated[int, Option("Random seed; training is deterministic for a seed.")] = 42
    candidates: Annotated[
        str,
        Option(
            "Models to fit, comma-separated; the best on validation PR AUC is kept "
            "(gradient_boosting, logistic_regression)."
        ),
    ] = "gradient_boosting,logistic_regression"
    inverse_regularization: Annotated[
        float, Option("C of the logistic regression: larger means weaker L2 regularisation.")
    ] = 1.0
    target_precision: Annotated[
        float, Option("Precision the decision threshold aims at on held-out scores.")
    ] = 0.9
    min_threshold_positives: Annotated[
        int,
        Option(
            "Frauds the threshold must be chosen on; fewer means a fallback threshold, "
            "recorded as such, that the gates refuse."
        ),
    ] = 100
    holdout_positives: Annotated[
        int,
        Option(
            "Frauds the validation split must hold to choose the threshold alone; fewer "
            "means out-of-fold scores over the whole training window."
        ),
    ] = 500
    folds: Annotated[int, Option("Folds of the out-of-fold scores.")] = 5


@dataclass(frozen=True)
class TrainOptions:
    """``ml.train``: the channels, where the model goes, the hyperparameters."""

    train: Annotated[
        Path,
        Option(
            "Training file or directory.",
            container=Path("/opt/ml/input/data/train"),
            env="SM_CHANNEL_TRAIN",
        ),
    ]
    model_dir: Annotated[
        Path,
        Option("Where the model is written.", container=Path("/opt/ml/model"), env="SM_MODEL_DIR"),
    ]
    validation: Annotated[
        Path | None,
        Option(
            "Validation file or directory (default: the latest 20% of training rows).",
            env="SM_CHANNEL_VALIDATION",
        ),
    ] = None
    params: TrainParams = field(default_factory=TrainParams)


@dataclass(frozen=True)
class EvaluateOptions:
    """``ml.evaluate``: the model, the test data, where results go, the gates."""

    model_dir: Annotated[Path, Option(MODEL_DIR_HELP, container=PROCESSING / "model")]
    test: Annotated[Path, Option("Labelled test file or directory.", container=PROCESSING / "test")]
    out: Annotated[
        Path,
        Option(
            "Directory for evaluation.json, comparison.json and the plots.",
            container=PROCESSING / "evaluation",
        ),
    ]
    champion_metrics: Annotated[
        Path | None,
        Option("The champion's evaluation.json (an unpaired, wider comparison)."),
    ] = None
    champion_model: Annotated[
        Path | None,
        Option("The champion's model, scored on the same rows (a paired comparison)."),
    ] = None
    gates: Annotated[
        str | None,
        Option(
            "Gates to change, e.g. min_precision=0.6,margin_recall=0.08, or none to only "
            "measure (min_pr_auc, min_precision, min_recall, min_test_positives, "
            "min_flagged, allow_fallback, margin_pr_auc, margin_recall, margin_precision)."
        ),
    ] = None
    plots: Annotated[bool, Option("Draw the PR curve and score plots beside the JSON.")] = True


@dataclass(frozen=True)
class ServeOptions:
    """``ml.serve``: the model, the address, the worker processes and their threads.

    Workers, their timeout and the port follow SageMaker's serving variables
    (``SAGEMAKER_MODEL_SERVER_WORKERS``, ``SAGEMAKER_MODEL_SERVER_TIMEOUT``,
    ``SAGEMAKER_BIND_TO_PORT``); threads follow OpenMP's ``OMP_NUM_THREADS``.
    """

    model_dir: Annotated[
        Path, Option(MODEL_DIR_HELP, container=Path("/opt/ml/model"), env="SM_MODEL_DIR")
    ]
    host: Annotated[
        str, Option("Address to bind; 0.0.0.0 inside a container.", env="MLOPS_SERVE_HOST")
    ] = "127.0.0.1"
    port: Annotated[int, Option("Port to listen on.", env="SAGEMAKER_BIND_TO_PORT")] = 8080
    workers: Annotated[
        int | None,
        Option(
            "Server processes; default one per CPU the container has.",
            env="SAGEMAKER_MODEL_SERVER_WORKERS",
        ),
    ] = None
    threads: Annotated[
        int | None,
        Option(
            "OpenMP threads per worker; default the CPUs divided among the workers.",
            env="OMP_NUM_THREADS",
        ),
    ] = None
    timeout: Annotated[
        int,
        Option(
            "Seconds a worker may stay busy on one request before it is restarted.",
            env="SAGEMAKER_MODEL_SERVER_TIMEOUT",
        ),
    ] = 60
    read_timeout: Annotated[
        float,
        Option("Seconds a client has to send a whole request; a slower one is answered 408."),
    ] = 10.0


@dataclass(frozen=True)
class Thresholds:
    """PSI levels for a feature to count as drifted (warn) or alarming."""

    psi_warn: Annotated[float, Option("PSI from which a feature's status is warn.")] = 0.1
    psi_alarm: Annotated[float, Option("PSI from which a feature's status is alarm.")] = 0.25


@dataclass(frozen=True)
class CaptureOptions:
    """Which endpoint capture to read (its time window), and where refused lines go."""

    window_start: Annotated[
        str | None, Option("Read capture from this UTC time on (ISO 8601).")
    ] = None
    window_end: Annotated[str | None, Option("Read capture until this UTC time (ISO 8601).")] = None
    window_hours: Annotated[
        float | None, Option("Read this many hours of capture (alone: the last full ones).")
    ] = None
    quarantine: Annotated[
        Path | None,
        Option(
            "Copy unreadable capture lines here, with their reasons.",
            container=PROCESSING / "output" / "quarantine",
        ),
    ] = None

    def window(self) -> Window:
        """The time window these options describe (open on a side that is not given)."""
        from ml.window import Window

        return Window.parse(self.window_start, self.window_end, self.window_hours)


@dataclass(frozen=True)
class DriftOptions:
    """``ml.drift``: the baseline, the batch or capture, the thresholds."""

    baseline: Annotated[
        Path,
        Option(
            f"{BASELINE_FILE}, or the model directory (or one holding its {TARBALL}).",
            container=PROCESSING / "baseline",
        ),
    ]
    current: Annotated[
        Path,
        Option(
            "Batch file or directory, or endpoint data capture.",
            container=PROCESSING / "input" / "current",
        ),
    ]
    out: Annotated[
        Path | None,
        Option("Write the JSON report here.", container=PROCESSING / "output" / DRIFT_FILE),
    ] = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    capture: Annotated[
        bool | None,
        Option(
            "Read --current as endpoint data capture or as a table (default: detect .jsonl).",
            cli_flag="--capture/--table",
        ),
    ] = None
    reading: CaptureOptions = field(default_factory=CaptureOptions)
    min_rows: Annotated[
        int,
        Option("Fewest rows worth comparing; a smaller batch is reported as insufficient data."),
    ] = MIN_DRIFT_ROWS


@dataclass(frozen=True)
class QualityOptions:
    """``ml.quality``: the capture, the labels, the decision threshold, the report."""

    capture: Annotated[
        Path,
        Option(
            "Endpoint data capture (directory or .jsonl file).",
            container=PROCESSING / "input" / "capture",
        ),
    ]
    labels: Annotated[
        Path,
        Option(
            "Ground truth: event_id, is_fraud [, event_row].",
            container=PROCESSING / "input" / "labels",
        ),
    ]
    model_dir: Annotated[
        Path | None,
        Option("The serving model (its decision threshold).", container=PROCESSING / "model"),
    ] = None
    threshold: Annotated[float | None, Option("Decision threshold instead of the model's.")] = None
    out: Annotated[
        Path,
        Option("Write the JSON report here.", container=PROCESSING / "output" / QUALITY_FILE),
    ] = Path(QUALITY_FILE)
    reading: CaptureOptions = field(default_factory=CaptureOptions)
    evaluation: Annotated[
        Path | None,
        Option(
            "The serving model's evaluation.json: recall and precision are tested for a drop "
            "from it, and per-category recall for a gap that opened."
        ),
    ] = None
    min_positives: Annotated[
        int, Option("Frauds (flagged rows for precision) a metric needs to be reported.")
    ] = 30
    min_segment_positives: Annotated[
        int, Option("Frauds a merchant category needs for its recall to be compared.")
    ] = 20
    min_label_coverage: Annotated[
        float, Option("Share of predictions that must have a label before metrics are reported.")
    ] = 0.9
