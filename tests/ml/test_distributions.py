"""Empirical distributions from one ordering pass: exact counts on every path, exact KS and W1."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ks_2samp, wasserstein_distance

from ml.distributions import Distribution, ks_and_wasserstein


def _unique(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    finite = values[np.isfinite(values)]
    return np.unique(finite, return_counts=True)


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(0).poisson(2.2, 5_000).astype(float),  # whole numbers: bincount
        np.round(np.random.default_rng(1).lognormal(3, 1, 5_000), 2),  # cents: bincount
        np.random.default_rng(2).normal(size=5_000),  # continuous: sort
        np.random.default_rng(3).choice(np.random.default_rng(4).normal(0, 1e6, 50_000), 300_000),
    ],
    ids=["counts", "cents", "continuous", "repeated floats"],
)
def test_every_counting_path_gives_the_exact_distinct_values_and_counts(values) -> None:
    found = Distribution.of(values)
    expected_values, expected_counts = _unique(values)
    assert np.array_equal(found.values, expected_values)
    assert np.array_equal(found.counts, expected_counts)


def test_missing_and_infinite_values_are_left_out() -> None:
    found = Distribution.of(np.array([1.0, np.nan, 2.0, np.inf, -np.inf, 2.0]))
    assert (found.values.tolist(), found.counts.tolist()) == ([1.0, 2.0], [1, 2])
    assert Distribution.of(np.array([np.nan])).total == 0


def test_bins_count_values_from_each_edge_up_to_the_next() -> None:
    found = Distribution.of(np.array([0, 0, 1, 1, 1, 2, 5], dtype=float))
    assert found.bin_counts(np.array([0.5, 1.5])).tolist() == [2, 3, 2]
    assert found.bin_counts(np.array([1.0])).tolist() == [2, 5]  # a value on an edge goes up


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ks_and_wasserstein_equal_scipy_on_the_raw_samples(seed) -> None:
    rng = np.random.default_rng(seed)
    a = np.round(rng.lognormal(3, 0.8, 20_000), 2)
    b = np.round(rng.lognormal(3.1, 0.8, 7_000), 2)
    ks, distance = ks_and_wasserstein(Distribution.of(a), Distribution.of(b))
    assert ks == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)
    assert distance == pytest.approx(wasserstein_distance(a, b), rel=1e-9)


def test_a_capped_reference_keeps_the_cdf_exact_at_its_points() -> None:
    values = np.random.default_rng(4).normal(size=10_000)
    exact = Distribution.of(values)
    capped = exact.quantile_points(100)
    assert capped.values.size <= 100 and capped.total == exact.total
    cumulative = dict(zip(exact.values, exact.cumulative(), strict=True))
    assert all(cumulative[v] == c for v, c in zip(capped.values, capped.cumulative(), strict=True))
    other = Distribution.of(np.random.default_rng(5).normal(0.2, size=5_000))
    ks_exact, _ = ks_and_wasserstein(exact, other)
    ks_capped, _ = ks_and_wasserstein(capped, other)
    assert abs(ks_exact - ks_capped) <= 1 / 100 + 1e-9
