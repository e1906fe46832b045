from __future__ import annotations

import numpy as np
import pytest

from ml import schema
from ml.features import OUTPUT_FEATURES, build_preprocessor, feature_frame


def test_unseen_category_is_encoded_as_missing(train_frame):
    transformer = build_preprocessor().fit(feature_frame(train_frame))
    rows = feature_frame(train_frame.head(2)).copy()
    rows.loc[rows.index[0], "merchant_category"] = "crypto_exchange"
    out = transformer.transform(rows)
    position = OUTPUT_FEATURES.index("merchant_category")
    assert np.isnan(out[0, position])
    assert not np.isnan(out[1, position])


def test_category_codes_come_from_the_schema_not_the_data(train_frame):
    only_grocery = train_frame[train_frame.merchant_category == "grocery"].head(50)
    a = build_preprocessor().fit(feature_frame(only_grocery))
    b = build_preprocessor().fit(feature_frame(train_frame))
    rows = feature_frame(train_frame.head(100))
    np.testing.assert_array_equal(a.transform(rows), b.transform(rows))


def test_amount_ratio_is_derived(train_frame):
    out = build_preprocessor().fit_transform(feature_frame(train_frame.head(10)))
    ratio = out[:, OUTPUT_FEATURES.index("log_amount_ratio")]
    expected = np.log1p(train_frame["amount"].head(10)) - np.log1p(
        train_frame["avg_amount_30d"].head(10)
    )
    np.testing.assert_allclose(ratio, expected)


def test_feature_frame_selects_schema_columns_in_order(train_frame):
    assert list(feature_frame(train_frame).columns) == list(schema.FEATURE_COLUMNS)


def test_numeric_features_pass_through_unchanged(train_frame):
    out = build_preprocessor().fit_transform(train_frame.head(50))
    for name in schema.NUMERIC_FEATURES:
        np.testing.assert_array_equal(
            out[:, OUTPUT_FEATURES.index(name)], train_frame[name].head(50)
        )


def test_encoder_refuses_a_frame_without_features(train_frame):
    with pytest.raises(KeyError, match="channel"):
        build_preprocessor().fit(train_frame).transform(train_frame.drop(columns=["channel"]))


def test_feature_frame_names_missing_columns(train_frame):
    with pytest.raises(KeyError, match="amount"):
        feature_frame(train_frame.drop(columns=["amount"]))


def test_small_and_large_batches_encode_alike(train_frame):
    frame = train_frame.head(600).copy()
    frame.loc[frame.index[::7], "merchant_category"] = "crypto_exchange"
    encoder = build_preprocessor().fit(frame)
    whole = encoder.transform(frame)  # hash-index path
    pieces = np.vstack([encoder.transform(frame.iloc[i : i + 100]) for i in range(0, 600, 100)])
    np.testing.assert_array_equal(whole, pieces)
