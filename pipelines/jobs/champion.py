"""The champion gate: champion and challenger scored on the same held-out rows, then decided.

Runs after Train on every execution (its cache is off: the champion changes
between runs while its arguments do not). It reads the group's champion (the
newest Approved package), downloads its model artifact, scores it and the
challenger on this run's test split with ``ml.evaluate``, compares them with
a paired bootstrap (``ml.comparison``) and applies the gates (``ml.gates``:
evidence, floors at the operating point, non-inferiority within the margins
of ``mlops:pipeline.gates``). ``champion.json`` is what ``CheckGates`` reads
(``Std:JsonGet``): the gated values (``gate_values``, every one a finite
number), the decision and its one-line reason, and whether the challenger's
model is already registered in the group, so a run on unchanged data (every
job step served from the cache) registers nothing twice.
``champion_vs_challenger.md`` with ``pr_curves.png`` beside it is the report
a reviewer reads (``pipelines.jobs.champion_report``).

AWS clients come from boto3's default chain, so ``AWS_ENDPOINT_URL`` points
the step at an emulator.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

from ml.errors import MlopsError
from ml.gates import COMPARED, Gates
from ml.model_artifact import TARBALL
from pipelines.jobs.champion_report import PLOT_FILE, REPORT_FILE

__all__ = ["CHAMPION_FILE", "PLOT_FILE", "REPORT_FILE", "compare_with_champion"]

CHAMPION_FILE = "champion.json"
NO_CHAMPION = "none"
# What an undefined gated value is written as: a number every gate on it refuses.
UNDEFINED = -1.0


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


def gate_values(evaluation: dict[str, Any], comparison: dict[str, Any] | None) -> dict[str, float]:
    """The numbers CheckGates compares with the gates, each finite.

    Without a champion there is nothing to lose: each difference's low end is 0.
    An undefined value (no fraud in the split, nothing flagged in any resample)
    is written as ``UNDEFINED``, which fails its gate (the fallback flag is
    always 0 or 1).
    """
    facts = evaluation["evaluation"]
    metrics = evaluation["binary_classification_metrics"]
    values = {
        "test_positives": float(facts["positives"]),
        "threshold_fallback": float(facts["threshold_fallback"]),
        "flagged": float(facts["flagged"]),
        **{name: float(metrics[name]["value"]) for name in ("precision", "recall", "pr_auc")},
    }
    for name in COMPARED:
        low = comparison["metrics"][name]["low"] if comparison is not None else 0.0
        values[f"{name}_difference_low"] = float(low)
    return {name: value if math.isfinite(value) else UNDEFINED for name, value in values.items()}


def score_champion(
    s3: Any, package: Any, frame: Any, challenger: Any, gates: Gates
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The champion's evaluation on the challenger's rows, and the paired comparison."""
    from ml.bootstrap import Scored
    from ml.comparison import compare_paired
    from ml.evaluate import evaluate_split, score_model

    if not package.model_data_url:
        raise ChampionError(f"champion {package.arn} names no ModelDataUrl; reject it")
    with tempfile.TemporaryDirectory(prefix="mlops-champion-") as scratch:
        rival = score_model(download_model(s3, package.model_data_url, Path(scratch)), frame)
    paired = compare_paired(
        challenger.y,
        Scored(rival.score, rival.threshold),
        Scored(challenger.score, challenger.threshold),
        gates.margins(),
    )
    return evaluate_split(rival), paired


def compare_with_champion(
    sagemaker: Any,
    s3: Any,
    group: str,
    gates: Gates,
    model_dir: Path,
    test_path: Path,
    out_dir: Path,
) -> dict[str, Any]:
    """Score champion and challenger, decide, write ``champion.json`` and the report."""
    from ml.evaluate import compare, evaluate_split, headline, score_model
    from ml.io import read_table, write_atomic
    from pipelines.jobs.champion_report import write_report
    from pipelines.registry import latest_approved, list_packages

    frame = read_table(test_path)
    scored = score_model(model_dir, frame)
    challenger = evaluate_split(scored)
    sha256 = model_sha256(model_dir)
    packages = list_packages(sagemaker, group)
    registered = next((p.arn for p in packages if p.metadata.get("ModelSha256") == sha256), "")
    package = latest_approved(sagemaker, group)
    champion, paired = (
        score_champion(s3, package, frame, scored, gates) if package else (None, None)
    )
    verdict = compare(challenger, champion, gates, paired)
    champion_metrics = headline(champion) if champion is not None else None
    document = {
        "champion": {
            "package_arn": package.arn if package else NO_CHAMPION,
            "version": package.version if package else 0,
            "dataset_version": package.metadata.get("DatasetVersion", "") if package else "",
            **(champion_metrics or {}),
        },
        "challenger": {
            **headline(challenger),
            "model_sha256": sha256,
            "registered_as": registered,
            "is_new": 0 if registered else 1,
        },
        "gates": gates.as_dict(),
        "gate_values": gate_values(challenger, paired),
        "comparison": paired,
        "decision": {
            "verdict": verdict["verdict"],
            "passed": int(verdict["verdict"] == "pass"),
            "reason": verdict["reason"] or "every gate passed",
            "checks": verdict["checks"],
        },
        "evidence": challenger["evaluation"],
        "metrics": {"champion": champion_metrics, "challenger": headline(challenger)},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    curves = write_report(document, challenger, champion, out_dir)
    document["report"] = {"markdown": REPORT_FILE, "plot": PLOT_FILE, "curves": curves}
    write_atomic(out_dir / CHAMPION_FILE, json.dumps(document, indent=2))
    return document


def main(argv: list[str] | None = None) -> int:
    """Processing entry point."""
    root = Path("/opt/ml/processing")
    parser = argparse.ArgumentParser(description="Score the champion and the challenger; decide.")
    parser.add_argument("--group", required=True, help="model package group of the stack")
    parser.add_argument(
        "--gates", required=True, help="the gates, as ml.evaluate --gates reads them"
    )
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
            Gates.parse(args.gates),
            args.model_dir,
            args.test,
            args.out,
        )
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps({k: document[k] for k in ("champion", "gate_values")}))
    print(f"decision: {document['decision']['verdict']}: {document['decision']['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
