"""Model quality from captured predictions and ground-truth labels."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from ml import schema
from ml.capture import EVENT_ID, EVENT_ROW, SCORE, read_capture
from ml.capture_writer import simulate_traffic, write_capture
from ml.data import generate
from ml.inference import model_fn
from ml.metrics import binary_metrics
from ml.model_artifact import METADATA_FILE, TARBALL, pack
from ml.quality import (
    QualityInputError,
    QualityLimits,
    compute_quality,
    join_labels,
    load_threshold,
    main,
    segment_recall,
)

START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
EVERY_COUNT = QualityLimits(min_positives=1, min_segment_positives=1, min_label_coverage=0.0)


@pytest.fixture(scope="module")
def traffic(tmp_path_factory, model_dir):
    """Captured traffic of 4,000 labelled transactions (two rows per request), and its labels."""
    root = tmp_path_factory.mktemp("capture")
    frame = generate(4000, seed=41)
    lines, labels = simulate_traffic(frame, model_fn(model_dir), start=START, rows_per_request=2)
    write_capture(lines, root)
    return read_capture(root).frame, labels, root


def test_joined_metrics_equal_the_evaluation_metrics_on_the_same_rows(traffic, model_dir):
    predictions, labels, _ = traffic
    threshold = load_threshold(model_dir)
    shuffled = labels.sample(frac=1.0, random_state=0)  # labels arrive in any order
    report = compute_quality(predictions, shuffled, threshold, limits=EVERY_COUNT)
    expected = binary_metrics(
        labels[schema.LABEL_COLUMN].to_numpy(), predictions[SCORE].to_numpy(), threshold
    )
    for name in ("precision", "recall", "pr_auc"):
        assert report["summary"][name] == pytest.approx(expected[name]["value"]), name
    assert (
        report["binary_classification_metrics"]["confusion_matrix"]
        == (expected["confusion_matrix"])
    )
    assert report["rows"] == 4000 and report["decision_threshold"] == threshold


def test_unmatched_labels_and_predictions_are_counted(traffic, model_dir):
    predictions, labels, _ = traffic
    late = labels.iloc[100:]  # the first 100 rows are not labelled yet
    stray = pd.DataFrame({EVENT_ID: ["no-such-event"] * 3, EVENT_ROW: [0, 1, 2], "is_fraud": 0})
    report = compute_quality(predictions, pd.concat([late, stray]), load_threshold(model_dir))
    assert report["join"]["matched"] == 3900
    assert report["join"]["unmatched_predictions"] == 100
    assert report["join"]["unmatched_labels"] == 3


def test_labels_without_event_row_label_the_first_row_of_each_request(traffic):
    predictions, labels, _ = traffic
    first_rows = labels[labels[EVENT_ROW] == 0].drop(columns=EVENT_ROW)
    matched, counts = join_labels(predictions, first_rows)
    assert (counts["matched"], counts["unmatched_predictions"]) == (2000, 2000)
    assert (matched[EVENT_ROW] == 0).all()


def test_a_repeated_label_counts_once_and_the_last_wins(traffic):
    predictions, labels, _ = traffic
    again = labels.head(1).assign(is_fraud=1 - labels["is_fraud"].iloc[0])
    matched, counts = join_labels(predictions, pd.concat([labels, again]))
    assert counts["duplicate_labels"] == 1 and counts["matched"] == 4000
    first = matched[(matched[EVENT_ID] == again[EVENT_ID].iloc[0]) & (matched[EVENT_ROW] == 0)]
    assert first["is_fraud"].iloc[0] == again["is_fraud"].iloc[0]


def _segments(spec):
    """Scored rows from {category: (frauds, frauds caught, legitimate)} at threshold 0.5."""
    rows = []
    for category, (frauds, caught, legit) in spec.items():
        rows += [(category, 1, 0.9)] * caught + [(category, 1, 0.1)] * (frauds - caught)
        rows += [(category, 0, 0.1)] * legit
    return pd.DataFrame(rows, columns=["merchant_category", "is_fraud", SCORE])


def test_recall_per_segment_and_the_largest_gap():
    frame = _segments({"jewelry": (10, 8, 5), "grocery": (10, 3, 50), "fuel": (2, 0, 20)})
    bias = segment_recall(frame, threshold=0.5, min_positives=5)
    assert bias["segments"]["jewelry"] == {"rows": 15, "positives": 10, "recall": 0.8}
    assert bias["segments"]["grocery"]["recall"] == pytest.approx(0.3)
    assert bias["recall_gap"]["value"] == pytest.approx(0.5)
    assert (bias["recall_gap"]["highest"], bias["recall_gap"]["lowest"]) == ("jewelry", "grocery")


def test_segments_with_too_few_frauds_stay_out_of_the_gap():
    frame = _segments({"jewelry": (10, 8, 5), "fuel": (2, 0, 20), "health": (0, 0, 9)})
    bias = segment_recall(frame, threshold=0.5, min_positives=5)
    assert bias["segments"]["fuel"]["recall"] == 0.0
    assert bias["segments"]["health"]["recall"] is None
    assert bias["recall_gap"]["value"] is None  # one comparable segment: no gap


def test_merchant_category_comes_from_the_labels_when_the_capture_lacks_it(traffic, model_dir):
    predictions, labels, _ = traffic
    report = compute_quality(
        predictions.drop(columns="merchant_category"), labels, load_threshold(model_dir)
    )
    assert set(report["bias"]["segments"]) == set(labels["merchant_category"])


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (pd.DataFrame({"event": ["a"], "is_fraud": [1]}), "labels lack event_id"),
        (pd.DataFrame({EVENT_ID: ["a"], "is_fraud": ["yes"]}), "must be 0 or 1"),
    ],
)
def test_unusable_labels_are_a_clear_error(traffic, labels, message):
    with pytest.raises(QualityInputError, match=message):
        compute_quality(traffic[0], labels, 0.5)


def test_labels_that_match_nothing_are_a_clear_error(traffic):
    labels = pd.DataFrame({EVENT_ID: ["x"], "is_fraud": [1]})
    with pytest.raises(QualityInputError, match="no label matched"):
        compute_quality(traffic[0], labels, 0.5)


def test_the_threshold_is_read_from_the_model_tarball(tmp_path, model_dir):
    (tmp_path / "only-metadata").mkdir()
    shutil.copy(model_dir / METADATA_FILE, tmp_path / "only-metadata")
    pack(tmp_path / "only-metadata", tmp_path / "model" / TARBALL)
    metadata = json.loads((model_dir / METADATA_FILE).read_text())
    assert load_threshold(tmp_path / "model") == metadata["decision_threshold"]


def test_entry_point_writes_the_report_from_capture_labels_and_model(tmp_path, traffic, model_dir):
    _, labels, root = traffic
    labels.to_parquet(tmp_path / "labels.parquet")
    out = tmp_path / "out" / "quality.json"
    code = main(
        ["--capture", str(root), "--labels", str(tmp_path / "labels.parquet"),
         "--model-dir", str(model_dir), "--out", str(out),
         "--quarantine", str(tmp_path / "q")]
    )  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    assert report["join"]["matched"] == 4000
    assert report["capture"]["events"] == 2000
    assert np.isfinite(report["summary"]["pr_auc"])


def test_entry_point_without_labels_is_one_line_and_exit_1(tmp_path, traffic, model_dir, capsys):
    code = main(
        ["--capture", str(traffic[2]), "--labels", str(tmp_path / "none.csv"),
         "--model-dir", str(model_dir), "--out", str(tmp_path / "q.json")]
    )  # fmt: skip
    assert code == 1
    assert capsys.readouterr().err.startswith("error: ")


# What the counts support: undefined is None, few frauds is no verdict -------------------


def test_precision_with_nothing_flagged_is_none_and_never_published(traffic):
    from pipelines.jobs.quality_publish import quality_metric_data

    predictions, labels, _ = traffic
    report = compute_quality(predictions, labels, threshold=1.01, limits=EVERY_COUNT)
    assert report["summary"]["precision"] is None  # binary_metrics would say 0.0
    assert report["binary_classification_metrics"]["precision"]["value"] is None
    assert report["summary"]["recall"] == 0.0  # defined: frauds were there, none caught
    names = {d["MetricName"] for d in quality_metric_data(report, endpoint="e", variant="v")}
    assert "Precision" not in names and "Recall" in names


def test_a_metric_on_fewer_frauds_than_the_minimum_is_not_reported(traffic, model_dir):
    predictions, labels, _ = traffic
    limits = QualityLimits(min_positives=50, min_segment_positives=20, min_label_coverage=0.9)
    report = compute_quality(predictions, labels, load_threshold(model_dir), limits=limits)
    recall = report["metrics"]["recall"]
    assert report["positives"] < 50
    assert recall["value"] is None and recall["reason"].endswith("fewer than the 50 needed")
    assert report["summary"]["pr_auc"] is None


def test_a_reported_metric_carries_its_interval(traffic, model_dir):
    predictions, labels, _ = traffic
    report = compute_quality(predictions, labels, load_threshold(model_dir), limits=EVERY_COUNT)
    recall = report["metrics"]["recall"]
    low, high = recall["interval"]
    assert low <= recall["value"] <= high and high - low > 0.1  # about 30 frauds: wide


def test_too_little_label_coverage_reports_no_metric(traffic, model_dir):
    predictions, labels, _ = traffic
    limits = QualityLimits(min_positives=1, min_segment_positives=1, min_label_coverage=0.9)
    report = compute_quality(
        predictions, labels.iloc[:2_000], load_threshold(model_dir), limits=limits
    )
    assert report["label_coverage"] == 0.5
    assert report["summary"] == {"precision": None, "recall": None, "pr_auc": None}
    assert report["metrics"]["recall"]["reason"] == "label coverage 0.500 is below 0.9"


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory, model_dir, data_dir):
    from ml.evaluate import run_evaluation

    out = tmp_path_factory.mktemp("evaluation")
    run_evaluation(model_dir, data_dir / "test.parquet", out)
    return out / "evaluation.json"


def test_the_evaluation_keeps_frauds_and_catches_per_category(evaluation, model_dir, test_frame):
    from ml.inference import model_fn, predict_fn

    document = json.loads(evaluation.read_text())
    segments = document["segment_recall"]["segments"]
    model = model_fn(model_dir)
    caught = predict_fn(test_frame, model)[:, 0] >= model.threshold
    fraud = test_frame["is_fraud"] == 1
    for name in ("grocery", "travel"):
        inside = fraud & (test_frame["merchant_category"] == name)
        assert segments[name] == {
            "positives": int(inside.sum()),
            "true_positives": int((inside & caught).sum()),
        }


def test_healthy_traffic_shows_no_drop_from_the_evaluation(evaluation, model_dir, tmp_path):
    from ml.quality_reference import load_reference

    frame = generate(20_000, seed=43)
    lines, labels = simulate_traffic(frame, model_fn(model_dir), start=START)
    write_capture(lines, tmp_path)
    report = compute_quality(
        read_capture(tmp_path).frame,
        labels,
        load_threshold(model_dir),
        reference=load_reference(evaluation),
    )
    assert report["reference"]["positives"] >= 100
    assert report["changes"]["recall"]["z"] < 3.09
    evaluated = report["changes"]["recall"]["evaluated"]
    assert evaluated["interval"][0] <= evaluated["value"] <= evaluated["interval"][1]


def test_an_evaluation_without_a_confusion_matrix_is_one_clear_line(tmp_path):
    from ml.quality_reference import load_reference

    (tmp_path / "evaluation.json").write_text('{"binary_classification_metrics": {}}')
    with pytest.raises(QualityInputError, match="no confusion_matrix") as raised:
        load_reference(tmp_path / "evaluation.json")
    assert "\n" not in str(raised.value)
