"""The champion gate's inputs: champion and challenger scored on the same held-out split.

Runs after Train on every execution (its cache is off: the champion changes
between runs while its arguments do not). It reads the group's champion (the
newest Approved package), downloads its model artifact, scores it and the
challenger on this run's test split with ``ml.evaluate``, and writes
``champion.json`` for ``CheckGates`` (``Std:JsonGet``): both metric sets, the
floors (the champion's metrics less ``maxRegression``; 0 without a champion)
and whether the challenger's model is already registered in the group, so a
run on unchanged data (every job step served from the cache) registers
nothing twice. ``champion_vs_challenger.md`` with ``pr_curves.png`` beside it
is the report a reviewer reads.

AWS clients come from boto3's default chain, so ``AWS_ENDPOINT_URL`` points
the step at an emulator.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from ml.errors import MlopsError
from ml.model_artifact import TARBALL

CHAMPION_FILE = "champion.json"
REPORT_FILE = "champion_vs_challenger.md"
PLOT_FILE = "pr_curves.png"
NO_CHAMPION = "none"
GATED = ("pr_auc", "recall_at_precision_90")


class ChampionError(MlopsError):
    """The champion cannot be scored (artifact missing or unreadable)."""


def model_sha256(model_dir: Path) -> str:
    """sha256 of the model artifact (its tarball), or of the model files in name order."""
    archive = model_dir / TARBALL
    files = (
        [archive] if archive.is_file() else sorted(p for p in model_dir.rglob("*") if p.is_file())
    )
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def score(model_dir: Path, frame: Any) -> dict[str, Any]:
    """The evaluation document (``ml.evaluate`` format) of one model on a labelled frame."""
    from ml.evaluate import evaluate_scores, score_frame

    y, scores, threshold = score_frame(model_dir, frame)
    return evaluate_scores(y, scores, threshold)


def download_model(s3: Any, uri: str, target: Path) -> Path:
    """Fetch a package's ``ModelDataUrl`` (a model tarball) into ``target``."""
    from botocore.exceptions import ClientError

    from pipelines.jobs.dataset import split_uri

    bucket, key = split_uri(uri)
    target.mkdir(parents=True, exist_ok=True)
    try:
        s3.download_file(bucket, key, str(target / TARBALL))
    except ClientError as error:
        raise ChampionError(
            f"cannot read the champion's model {uri}: {error}; grant the execution role "
            "read on it or reject the package"
        ) from None
    return target


def floors(champion: dict[str, float] | None, max_regression: float) -> dict[str, float]:
    """What the challenger must reach not to regress: the champion less ``max_regression``."""
    if champion is None:
        return dict.fromkeys(GATED, 0.0)
    return {name: max(0.0, round(champion[name] - max_regression, 6)) for name in GATED}


def headline(evaluation: dict[str, Any]) -> dict[str, float]:
    from ml.evaluate import HEADLINE

    metrics = evaluation["binary_classification_metrics"]
    return {name: float(metrics[name]["value"]) for name in HEADLINE}


def compare_with_champion(
    sagemaker: Any,
    s3: Any,
    group: str,
    max_regression: float,
    model_dir: Path,
    test_path: Path,
    out_dir: Path,
) -> dict[str, Any]:
    """Score champion and challenger, write ``champion.json`` and the report; return the former."""
    from ml.io import read_table
    from pipelines.registry import latest_approved, list_packages

    frame = read_table(test_path)
    challenger = score(model_dir, frame)
    sha256 = model_sha256(model_dir)
    packages = list_packages(sagemaker, group)
    registered = next((p.arn for p in packages if p.metadata.get("ModelSha256") == sha256), "")
    package = latest_approved(sagemaker, group)
    champion: dict[str, Any] | None = None
    if package is not None:
        if not package.model_data_url:
            raise ChampionError(f"champion {package.arn} names no ModelDataUrl; reject it")
        with tempfile.TemporaryDirectory(prefix="mlops-champion-") as scratch:
            champion = score(download_model(s3, package.model_data_url, Path(scratch)), frame)
    champion_metrics = headline(champion) if champion is not None else None
    document = {
        "champion": {
            "package_arn": package.arn if package else NO_CHAMPION,
            "version": package.version if package else 0,
            "dataset_version": package.metadata.get("DatasetVersion", "") if package else "",
            **{name: (champion_metrics or {}).get(name, 0.0) for name in GATED},
        },
        "challenger": {
            **{name: headline(challenger)[name] for name in GATED},
            "model_sha256": sha256,
            "registered_as": registered,
            "is_new": 0 if registered else 1,
        },
        "floors": floors(champion_metrics, max_regression),
        "max_regression": max_regression,
        "metrics": {"champion": champion_metrics, "challenger": headline(challenger)},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    curves = write_report(document, challenger, champion, out_dir)
    document["report"] = {"markdown": REPORT_FILE, "plot": PLOT_FILE, "curves": curves}
    (out_dir / CHAMPION_FILE).write_text(json.dumps(document, indent=2), encoding="utf-8")
    return document


def write_report(
    document: dict[str, Any],
    challenger: dict[str, Any],
    champion: dict[str, Any] | None,
    out_dir: Path,
) -> list[str]:
    """Markdown: who is compared, the metrics side by side, the floors, both PR curves.

    Returns the labels of the curves drawn into the one PR plot.
    """
    from ml import plots

    curves = []
    if champion is not None:
        metrics = champion["binary_classification_metrics"]
        curves.append(("champion", metrics["precision_recall_curve"], metrics["pr_auc"]["value"]))
    metrics = challenger["binary_classification_metrics"]
    curves.append(("challenger", metrics["precision_recall_curve"], metrics["pr_auc"]["value"]))
    labels = plots.pr_curves(curves, out_dir / PLOT_FILE)
    ours, theirs = document["metrics"]["challenger"], document["metrics"]["champion"]
    who = document["champion"]["package_arn"]
    lines = [
        "# Champion vs challenger",
        "",
        f"- champion: `{who}`"
        + (
            f" (dataset {document['champion']['dataset_version']})"
            if document["champion"]["dataset_version"]
            else ""
        ),
        f"- challenger: model sha256 `{document['challenger']['model_sha256'][:16]}`"
        + (
            f", already registered as `{document['challenger']['registered_as']}`"
            if document["challenger"]["registered_as"]
            else ""
        ),
        f"- both scored on the same held-out split; floors are the champion less "
        f"{document['max_regression']}",
        "",
        "| metric | champion | challenger | floor |",
        "|---|---|---|---|",
    ]
    for name, value in ours.items():
        old = f"{theirs[name]:.4f}" if theirs is not None else "-"
        floor = document["floors"].get(name)
        lines.append(
            f"| {name} | {old} | {value:.4f} | {f'{floor:.4f}' if floor is not None else '-'} |"
        )
    if theirs is None:
        lines += ["", "No approved champion yet: only the fixed metric gates apply."]
    lines += ["", f"![Precision-recall curves of champion and challenger]({PLOT_FILE})", ""]
    (out_dir / REPORT_FILE).write_text("\n".join(lines), encoding="utf-8")
    return labels


def main(argv: list[str] | None = None) -> int:
    """Processing entry point."""
    root = Path("/opt/ml/processing")
    parser = argparse.ArgumentParser(description="Score the champion and the challenger.")
    parser.add_argument("--group", required=True, help="model package group of the stack")
    parser.add_argument("--max-regression", type=float, required=True)
    parser.add_argument("--model-dir", type=Path, default=root / "input" / "model")
    parser.add_argument("--test", type=Path, default=root / "input" / "test")
    parser.add_argument("--out", type=Path, default=root / "output" / "champion")
    args = parser.parse_args(argv)
    import boto3

    try:
        document = compare_with_champion(
            boto3.client("sagemaker"),
            boto3.client("s3"),
            args.group,
            args.max_regression,
            args.model_dir,
            args.test,
            args.out,
        )
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps({k: document[k] for k in ("champion", "floors")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
