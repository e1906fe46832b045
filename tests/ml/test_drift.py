from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from ml.capture import Window
from ml.capture_writer import simulate_traffic, write_capture
from ml.data import generate
from ml.drift import (
    DriftInputError,
    Thresholds,
    build_baseline,
    clock_hours,
    compute_drift,
    load_baseline,
    main,
    psi,
    run_drift,
)
from ml.inference import model_fn
from ml.model_artifact import BASELINE_FILE


@pytest.fixture(scope="module")
def baseline(train_frame):
    return build_baseline(train_frame)


def test_same_distribution_is_quiet(baseline):
    report = compute_drift(baseline, generate(20_000, 999))
    assert report["summary"]["status"] == "ok"
    assert report["summary"]["drifted_features"] == []
    assert report["summary"]["max_psi"] < 0.02


@pytest.mark.parametrize(
    ("scenario", "feature"),
    [
        ("amount_shift", "amount"),
        ("new_merchant_category", "merchant_category"),
        ("fraud_pattern_change", "txn_count_24h"),
    ],
)
def test_each_drift_scenario_is_detected(baseline, scenario, feature):
    report = compute_drift(baseline, generate(20_000, 998, scenario))
    assert report["summary"]["status"] in {"warn", "alarm"}
    assert feature in report["summary"]["drifted_features"]
    assert report["features"][feature]["psi"] >= 0.1


def test_unseen_categories_are_named(baseline):
    report = compute_drift(baseline, generate(10_000, 5, "new_merchant_category"))
    item = report["features"]["merchant_category"]
    assert item["unseen_categories"] == ["buy_now_pay_later", "crypto_exchange"]
    assert 0.05 < item["unseen_fraction"] < 0.2


def test_cdf_distance_matches_scipy_ks(train_frame):
    from scipy.stats import ks_2samp

    current = generate(20_000, 5, "amount_shift")
    report = compute_drift(build_baseline(train_frame), current)
    for name in ("amount", "txn_count_24h", "hour", "distance_from_home_km"):
        exact = ks_2samp(train_frame[name], current[name]).statistic
        assert report["features"][name]["cdf_distance"] == pytest.approx(exact, abs=0.015), name


def test_psi_is_zero_for_identical_and_grows_with_difference():
    a = np.array([0.25, 0.25, 0.5])
    assert psi(a, a) == 0.0
    assert 0 < psi(a, np.array([0.3, 0.2, 0.5])) < psi(a, np.array([0.5, 0.1, 0.4]))


def test_thresholds_decide_the_status(baseline):
    current = generate(10_000, 5, "fraud_pattern_change")
    strict = compute_drift(baseline, current, Thresholds(psi_warn=0.01, psi_alarm=0.05))
    lenient = compute_drift(baseline, current, Thresholds(psi_warn=5, psi_alarm=10))
    assert strict["summary"]["status"] == "alarm"
    assert lenient["summary"]["status"] == "ok"


def test_baseline_round_trips_through_json(tmp_path, baseline):
    path = tmp_path / BASELINE_FILE
    path.write_text(json.dumps(baseline))
    assert load_baseline(tmp_path) == baseline


def test_missing_column_is_a_clear_error(baseline):
    with pytest.raises(DriftInputError, match="amount"):
        compute_drift(baseline, generate(100, 1).drop(columns=["amount"]))


def test_not_a_baseline_is_a_clear_error(tmp_path):
    (tmp_path / "b.json").write_text("[1, 2]")
    with pytest.raises(DriftInputError, match="not a drift baseline"):
        load_baseline(tmp_path / "b.json")


# Drift on captured endpoint traffic -------------------------------------------------

CAPTURE_START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def _capture(root, model_dir, frame, **options):
    lines, _ = simulate_traffic(frame, model_fn(model_dir), start=CAPTURE_START, **options)
    return write_capture(lines, root, endpoint="fraud", variant="primary")


# fraud_pattern_change moves txn_count_24h only to the warn level (see the table tests above).
@pytest.mark.parametrize("scenario", ["amount_shift", "new_merchant_category"])
def test_captured_traffic_of_a_drift_scenario_raises_the_alarm(tmp_path, model_dir, scenario):
    _capture(tmp_path, model_dir, generate(3000, 31, scenario), rows_per_request=3)
    report = run_drift(model_dir, tmp_path)
    assert report["summary"]["status"] == "alarm"
    assert report["summary"]["max_psi"] >= Thresholds().psi_alarm
    assert (report["input"]["kind"], report["input"]["rows"]) == ("capture", 3000)


def test_captured_traffic_without_drift_stays_quiet(tmp_path, model_dir):
    _capture(tmp_path, model_dir, generate(3000, 32), content_type="application/json")
    report = run_drift(model_dir, tmp_path)
    assert report["summary"]["status"] == "ok"
    assert report["summary"]["max_psi"] < Thresholds().psi_warn
    assert report["input"]["events"] == 3000


def test_drift_entry_point_reports_and_quarantines_malformed_capture(tmp_path, model_dir):
    files = _capture(tmp_path / "capture", model_dir, generate(500, 33))
    with files[0].open("a") as handle:
        handle.write('{"captureData": "truncated\n')
    out = tmp_path / "out" / "drift.json"
    code = main(
        ["--baseline", str(model_dir), "--current", str(tmp_path / "capture"),
         "--out", str(out), "--quarantine", str(tmp_path / "quarantine")]
    )  # fmt: skip
    assert code == 0
    source = json.loads(out.read_text())["input"]
    assert (source["events"], source["malformed_lines"]) == (500, 1)
    assert source["malformed"][0]["reason"] == "not_json"
    assert sorted(p.name for p in (tmp_path / "quarantine").iterdir()) == sorted(
        [files[0].name, files[0].name + ".reason.json"]
    )


def test_drift_entry_point_reads_only_the_window(tmp_path, model_dir):
    _capture(tmp_path / "capture", model_dir, generate(400, 34), seconds_between=36)  # 4 hours
    out = tmp_path / "drift.json"
    code = main(
        ["--baseline", str(model_dir), "--current", str(tmp_path / "capture"), "--out", str(out),
         "--window-start", "2026-03-01T11:00:00Z", "--window-hours", "2"]
    )  # fmt: skip
    assert code == 0
    source = json.loads(out.read_text())["input"]
    assert (source["files"], source["events"]) == (2, 200)
    assert source["window"] == {
        "start": "2026-03-01T11:00:00+00:00",
        "end": "2026-03-01T13:00:00+00:00",
    }


def test_a_window_on_a_table_is_a_clear_error(tmp_path, model_dir):
    path = tmp_path / "batch.parquet"
    generate(100, 1).to_parquet(path)
    with pytest.raises(DriftInputError, match="drop the window or pass --capture"):
        run_drift(model_dir, path, window=Window(CAPTURE_START))


def test_capture_where_no_line_reads_is_a_clear_error(tmp_path, model_dir):
    (tmp_path / "a.jsonl").write_text("not json\n")
    with pytest.raises(DriftInputError, match="no capture line could be read"):
        run_drift(model_dir, tmp_path)


# Quiet on healthy hourly traffic, loud on drift ---------------------------------------


def test_an_hour_long_window_is_not_drift_on_its_clock_hour(baseline):
    window = generate(2_000, 61, hour=3)  # a real hour of traffic holds one clock hour
    report = compute_drift(baseline, window, hours_covered=1)
    assert "hour" in report["not_compared"] and "hour" not in report["features"]
    assert report["summary"]["status"] == "ok"
    # Compared against the whole day, the one clock hour is a huge PSI: the old alarm.
    assert compute_drift(baseline, window, hours_covered=24)["features"]["hour"]["psi"] > 5


def test_the_clock_hours_a_capture_covers_come_from_its_inference_times(baseline):
    from ml.capture_format import INFERENCE_TIME

    window = generate(1_000, 62, hour=15).assign(
        **{INFERENCE_TIME: pd.Timestamp("2026-03-01T15:20:00Z")}
    )
    assert clock_hours(window) == 1
    assert "hour" in compute_drift(baseline, window)["not_compared"]
    assert clock_hours(generate(5_000, 63)) == 24  # a month of event times


def test_a_window_below_the_minimum_rows_is_insufficient_data_not_psi(baseline):
    report = compute_drift(baseline, generate(50, 64), min_rows=300)
    assert report["summary"] == {"status": "insufficient_data", "drifted_features": []}
    assert report["features"] == {} and (report["rows"], report["min_rows"]) == (50, 300)


@pytest.mark.parametrize("seed", range(5))
def test_undrifted_windows_of_the_minimum_size_stay_below_the_alarm(baseline, seed):
    report = compute_drift(baseline, generate(300, 700 + seed, hour=seed * 4), min_rows=300)
    assert report["summary"]["max_psi"] < Thresholds().psi_alarm


def test_a_binary_feature_is_binned_on_its_values(baseline):
    assert baseline["numeric"]["is_new_device"]["edges"] == [0.5]  # two bins, not one decile
    current = generate(2_000, 65)
    current["is_new_device"] = (np.arange(len(current)) % 10 < 6).astype(np.int64)  # 0.06 -> 0.6
    assert compute_drift(baseline, current)["features"]["is_new_device"]["psi"] > 1.0


def test_a_value_holding_more_than_a_bin_is_a_bin_of_its_own():
    from ml.distributions import Distribution
    from ml.drift_baseline import psi_edges

    counts = np.repeat([0.0, 1.0, 2.0, 3.0, 9.0], [600, 150, 150, 60, 40])
    assert psi_edges(Distribution.of(counts)).tolist() == [0.5, 1.5, 2.5]  # 3 and 9 share


def test_the_fraud_pattern_change_reaches_the_alarm_level_in_an_hour(baseline):
    window = generate(3_000, 66, "fraud_pattern_change", hour=14)
    report = compute_drift(baseline, window, min_rows=300)
    assert report["features"]["txn_count_24h"]["status"] == "alarm"


def test_ks_and_wasserstein_against_the_baseline_equal_scipy(train_frame, baseline):
    from scipy.stats import ks_2samp, wasserstein_distance

    current = generate(5_000, 67, "amount_shift")
    report = compute_drift(baseline, current)
    for name in ("amount", "distance_from_home_km", "account_age_days"):
        reference, values = train_frame[name].to_numpy(), current[name].to_numpy()
        assert baseline["numeric"][name]["exact"] is True
        found = report["features"][name]
        assert found["cdf_distance"] == pytest.approx(ks_2samp(reference, values).statistic)
        assert found["wasserstein"] == pytest.approx(
            wasserstein_distance(reference, values), rel=1e-9
        )


def test_a_version_1_baseline_is_still_compared(baseline):
    from ml.drift_baseline import upgrade

    old = {
        "version": 1,
        "rows": 1_000,
        "numeric": {
            name: {
                "edges": base["edges"],
                "proportions": base["proportions"],
                "cdf_points": [min(base["values"]), max(base["values"])],
                "cdf": [0.5, 1.0],
                "null_fraction": 0.0,
            }
            for name, base in baseline["numeric"].items()
        },
        "categorical": baseline["categorical"],
    }
    report = compute_drift(upgrade(old), generate(2_000, 68), hours_covered=1)
    assert report["summary"]["status"] == "ok"
    assert report["features"]["amount"]["exact_reference"] is False
