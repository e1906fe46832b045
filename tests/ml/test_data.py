from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml import schema
from ml.data import DRIFT_SCENARIOS, NEW_MERCHANT_CATEGORIES, UnknownDriftError, generate
from ml.errors import MlopsError


def test_same_seed_gives_identical_frames():
    pd.testing.assert_frame_equal(generate(5_000, 3), generate(5_000, 3))


def test_different_seeds_give_different_frames():
    assert not generate(2_000, 1)["amount"].equals(generate(2_000, 2)["amount"])


def test_columns_follow_the_schema(train_frame):
    assert list(train_frame.columns) == list(schema.COLUMNS)
    assert train_frame[schema.ID_COLUMN].is_unique
    assert train_frame[schema.TIME_COLUMN].is_monotonic_increasing
    for name, (low, high) in schema.NUMERIC_RANGES.items():
        assert train_frame[name].between(low, high).all(), name
    for name, allowed in schema.CATEGORICAL_FEATURES.items():
        assert set(train_frame[name]) <= set(allowed), name


def test_fraud_is_rare_but_present():
    rate = generate(100_000, 9)["is_fraud"].mean()
    assert 0.002 <= rate <= 0.02


def test_unknown_drift_name_lists_the_known_ones():
    with pytest.raises(UnknownDriftError) as error:
        generate(10, 1, drift="nope")
    message = str(error.value)
    assert "\n" not in message
    for name in DRIFT_SCENARIOS:
        assert name in message


def test_rows_must_be_positive():
    with pytest.raises(MlopsError, match="at least 1"):
        generate(0, 1)


def test_amount_shift_raises_amounts_only():
    normal, shifted = generate(20_000, 4), generate(20_000, 4, "amount_shift")
    assert shifted["amount"].median() > 1.5 * normal["amount"].median()
    pd.testing.assert_series_equal(normal["avg_amount_30d"], shifted["avg_amount_30d"])


def test_new_merchant_category_adds_unseen_categories():
    frame = generate(20_000, 4, "new_merchant_category")
    unseen = ~frame["merchant_category"].isin(schema.MERCHANT_CATEGORIES)
    assert 0.05 < unseen.mean() < 0.2
    assert set(frame.loc[unseen, "merchant_category"]) == set(NEW_MERCHANT_CATEGORIES)


def test_fraud_pattern_change_moves_fraud_to_known_devices():
    normal, changed = generate(100_000, 4), generate(100_000, 4, "fraud_pattern_change")
    new_device_share = lambda f: f.loc[f.is_fraud == 1, "is_new_device"].mean()  # noqa: E731
    assert new_device_share(changed) < new_device_share(normal) / 2
    assert changed["txn_count_24h"].mean() > normal["txn_count_24h"].mean()


def test_fraud_depends_on_features(train_frame):
    fraud = train_frame[train_frame.is_fraud == 1]
    legit = train_frame[train_frame.is_fraud == 0]
    assert fraud["is_new_device"].mean() > 2 * legit["is_new_device"].mean()
    assert np.median(fraud["amount"] / fraud["avg_amount_30d"]) > np.median(
        legit["amount"] / legit["avg_amount_30d"]
    )


def test_one_clock_hour_of_transactions_keeps_the_other_columns_of_the_seed():
    night, anytime = generate(3_000, 81, hour=3), generate(3_000, 81)
    assert (night["hour"] == 3).all()
    assert sorted(night["amount"]) == sorted(anytime["amount"])
    # Fraud follows the clock: at 3 am it is several times likelier than over the day.
    assert night["is_fraud"].mean() > 2 * anytime["is_fraud"].mean()


def test_a_day_of_traffic_is_busy_by_day_and_quiet_at_night():
    from ml.data import hourly_rows

    per_hour = hourly_rows(100_000)
    assert per_hour.shape == (24,) and abs(int(per_hour.sum()) - 100_000) <= 24
    assert per_hour[18] > 10 * per_hour[3]


def test_an_hour_outside_the_day_is_a_clear_error():
    with pytest.raises(MlopsError, match="hour must be 0-23"):
        generate(10, 1, hour=24)
