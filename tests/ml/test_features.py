from __future__ import annotations

import numpy as np
import pandas as pd
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


def test_arrow_object_and_dict_paths_give_the_same_codes(train_frame):
    frame = train_frame.head(2_000).copy()
    frame.loc[frame.index[::9], "merchant_category"] = "crypto_exchange"
    as_objects = frame.astype(dict.fromkeys(schema.CATEGORICAL_FEATURES, object))
    encoder = build_preprocessor().fit(frame)
    arrow = encoder.transform(frame)
    assert hasattr(frame["merchant_category"].array, "__arrow_array__")
    np.testing.assert_array_equal(arrow, encoder.transform(as_objects))
    one_by_one = np.vstack(
        [encoder.transform(frame.iloc[i : i + 200]) for i in range(0, 2_000, 200)]
    )
    np.testing.assert_array_equal(arrow, one_by_one)


def test_log_linear_features_set_one_indicator_per_category_and_none_for_unknown(train_frame):
    from ml.features import LogLinearFeatures

    frame = train_frame.head(300).copy()
    frame.loc[frame.index[0], "merchant_category"] = "crypto_exchange"
    encoded = build_preprocessor().fit(frame).transform(frame)
    features = LogLinearFeatures().fit(encoded)
    out = features.transform(encoded)
    names = list(features.get_feature_names_out())
    assert out.shape == (300, len(names))
    merchant = [i for i, n in enumerate(names) if n.startswith("merchant_category=")]
    hours = [i for i, n in enumerate(names) if n.startswith("hour=")]
    assert out[0, merchant].sum() == 0 and np.all(out[1:, merchant].sum(axis=1) == 1)
    assert np.all(out[:, hours].sum(axis=1) == 1)
    assert out[:, names.index("log_amount")] == pytest.approx(np.log1p(frame["amount"]))


def test_a_requests_arrow_columns_encode_as_its_frame(train_frame):
    import pyarrow as pa

    from ml.feature_columns import FeatureColumns

    frame = train_frame[list(schema.FEATURE_COLUMNS)].head(1_000).copy()
    frame.loc[frame.index[::11], "country"] = "XX"
    arrays = {
        name: pa.array(frame[name].tolist())
        if name in schema.CATEGORICAL_FEATURES
        else frame[name].to_numpy(dtype=np.float64)
        for name in schema.FEATURE_COLUMNS
    }
    encoder = build_preprocessor().fit(frame)
    columns = FeatureColumns(arrays)
    np.testing.assert_array_equal(encoder.transform(columns), encoder.transform(frame))
    pd.testing.assert_frame_equal(columns.frame(), frame.reset_index(drop=True), check_dtype=False)


def test_dictionary_encoded_categories_encode_as_their_text(train_frame):
    """A request's large columns come dictionary-encoded: each distinct text is looked up
    once, an unseen one (and a null) is missing, exactly as the text itself encodes."""
    import pyarrow as pa

    from ml.feature_columns import FeatureColumns

    frame = train_frame[list(schema.FEATURE_COLUMNS)].head(600).copy()
    frame.loc[frame.index[::13], "merchant_category"] = "crypto_exchange"
    frame.loc[frame.index[::17], "country"] = "XX"
    encoder = build_preprocessor().fit(frame)
    for rows in (600, 40):  # past SMALL_BATCH and below it
        part = frame.head(rows)
        arrays = {
            name: pa.array(part[name].tolist(), type=pa.dictionary(pa.int32(), pa.string()))
            if name in schema.CATEGORICAL_FEATURES
            else part[name].to_numpy(dtype=np.float64)
            for name in schema.FEATURE_COLUMNS
        }
        assert isinstance(arrays["channel"], pa.DictionaryArray)
        np.testing.assert_array_equal(
            encoder.transform(FeatureColumns(arrays)), encoder.transform(part)
        )
    with_null = pa.array(["pos", None, "atm"], type=pa.dictionary(pa.int32(), pa.string()))
    codes = encoder.transform(
        FeatureColumns(
            {
                name: with_null if name == "channel" else frame[name].head(3).to_numpy()
                for name in schema.FEATURE_COLUMNS
            }
        )
    )[:, OUTPUT_FEATURES.index("channel")]
    np.testing.assert_array_equal(
        codes, [schema.CHANNELS.index("pos"), np.nan, schema.CHANNELS.index("atm")]
    )
