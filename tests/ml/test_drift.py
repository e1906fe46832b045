from __future__ import annotations

import json

import numpy as np
import pytest

from ml.data import generate
from ml.drift import DriftInputError, Thresholds, build_baseline, compute_drift, load_baseline, psi


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
    path = tmp_path / "drift_baseline.json"
    path.write_text(json.dumps(baseline))
    assert load_baseline(tmp_path) == baseline


def test_missing_column_is_a_clear_error(baseline):
    with pytest.raises(DriftInputError, match="amount"):
        compute_drift(baseline, generate(100, 1).drop(columns=["amount"]))


def test_not_a_baseline_is_a_clear_error(tmp_path):
    (tmp_path / "b.json").write_text("[1, 2]")
    with pytest.raises(DriftInputError, match="not a drift baseline"):
        load_baseline(tmp_path / "b.json")
