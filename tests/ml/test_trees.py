from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

from ml.data import generate
from ml.features import build_preprocessor, feature_frame
from ml.trees import SMALL_BATCH, FlatForest, SmallBatchPipeline


@pytest.fixture(scope="module")
def fitted(train_frame):
    classifier = HistGradientBoostingClassifier(max_iter=40, random_state=0)
    pipeline = Pipeline([("features", build_preprocessor()), ("classifier", classifier)])
    return pipeline.fit(feature_frame(train_frame), train_frame["is_fraud"])


def test_flat_trees_score_like_scikit_learn(fitted):
    rows = generate(SMALL_BATCH, seed=77)
    rows.loc[1, "merchant_category"] = "crypto_exchange"  # unknown category: missing
    rows.loc[2, "amount"] = np.nan  # missing numeric
    rows.loc[3, "distance_from_home_km"] = 1e9  # beyond every threshold
    fast = SmallBatchPipeline(fitted).fit()
    np.testing.assert_allclose(
        fast.predict_proba(feature_frame(rows)),
        fitted.predict_proba(feature_frame(rows)),
        rtol=1e-12,
        atol=1e-15,
    )


def test_large_batches_use_scikit_learn_unchanged(fitted, test_frame):
    fast = SmallBatchPipeline(fitted).fit()
    rows = feature_frame(test_frame.head(SMALL_BATCH + 1))
    np.testing.assert_array_equal(fast.predict_proba(rows), fitted.predict_proba(rows))


def test_native_categorical_splits_are_refused(train_frame):
    x = build_preprocessor().fit_transform(train_frame)
    classifier = HistGradientBoostingClassifier(max_iter=5, categorical_features=[10])
    classifier.fit(x, train_frame["is_fraud"])
    with pytest.raises(ValueError, match="categorical"):
        FlatForest(classifier)
