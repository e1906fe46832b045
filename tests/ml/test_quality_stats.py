"""Quality and bias alarms test change from the evaluation, not distance from a fixed floor."""

from __future__ import annotations

import numpy as np
import pytest

from ml.quality_stats import proportion_drop, segment_drop, wilson_interval, z_value

ALARM_Z = 3.09


def test_recall_at_its_evaluated_value_is_no_evidence_of_a_drop() -> None:
    assert proportion_drop(96, 320, 240, 800)["z"] < 1  # 0.30 evaluated, 0.30 now


def test_recall_that_halved_is_a_sure_drop() -> None:
    assert proportion_drop(96, 320, 120, 800)["z"] > ALARM_Z  # 0.30 -> 0.15


def test_a_handful_of_frauds_cannot_show_a_drop() -> None:
    # 2 of 12 caught against 30% evaluated: low, but twelve frauds are not evidence.
    assert proportion_drop(96, 320, 2, 12)["z"] < ALARM_Z


def test_noise_around_a_fixed_floor_alarms_often_and_the_test_rarely() -> None:
    """The old floor (true recall minus a little) fired on noise; the test's rate is alpha."""
    rng = np.random.default_rng(0)
    true_recall, frauds = 0.32, 40
    evaluated = rng.binomial(320, true_recall)
    observed = rng.binomial(frauds, true_recall, 2_000)
    floor_alarms = np.mean(observed / frauds < true_recall - 0.05)
    test_alarms = np.mean(
        [proportion_drop(evaluated, 320, k, frauds)["z"] >= ALARM_Z for k in observed]
    )
    assert floor_alarms > 0.2 and test_alarms < 0.01


def _segments(recalls: dict[str, float], frauds: int) -> dict[str, tuple[int, int]]:
    return {name: (round(r * frauds), frauds) for name, r in recalls.items()}


def test_a_gap_that_was_there_at_evaluation_is_not_a_bias_alarm() -> None:
    evaluated = _segments({"jewelry": 0.8, "grocery": 0.3, "travel": 0.5}, 60)
    now = _segments({"jewelry": 0.8, "grocery": 0.3, "travel": 0.5}, 200)
    found = segment_drop(now, evaluated)
    assert found is not None and found["z"] < 1  # raw gap 0.5: the old cap (0.3) fired here


def test_a_gap_that_opened_since_the_evaluation_is_a_bias_alarm() -> None:
    evaluated = _segments({"jewelry": 0.8, "grocery": 0.3, "travel": 0.5}, 100)
    now = _segments({"jewelry": 0.8, "grocery": 0.05, "travel": 0.5}, 200)
    found = segment_drop(now, evaluated)
    assert found is not None and found["segment"] == "grocery" and found["z"] > ALARM_Z


def test_the_worst_category_pays_for_how_many_were_compared() -> None:
    evaluated = _segments({"a": 0.5, "b": 0.5}, 80)
    now = _segments({"a": 0.35, "b": 0.5}, 80)
    two = segment_drop(now, evaluated)
    many = segment_drop(
        {**now, **_segments({f"x{i}": 0.5 for i in range(8)}, 80)},
        {**evaluated, **_segments({f"x{i}": 0.5 for i in range(8)}, 80)},
    )
    assert two is not None and many is not None and many["z"] < two["z"]


def test_fewer_than_two_comparable_categories_give_no_bias_test() -> None:
    assert segment_drop({"a": (5, 20)}, {"a": (10, 20), "b": (3, 20)}) is None


def test_the_wilson_interval_holds_the_share_and_stays_in_zero_one() -> None:
    low, high = wilson_interval(0, 30)  # type: ignore[misc]
    assert low == 0.0 and 0.05 < high < 0.15
    low, high = wilson_interval(15, 30)  # type: ignore[misc]
    assert low < 0.5 < high
    assert wilson_interval(0, 0) is None


def test_z_is_zero_without_evidence_and_grows_as_p_shrinks() -> None:
    assert z_value(0.7) == 0.0
    assert z_value(0.001) == pytest.approx(3.09, abs=0.01)
    assert z_value(0.0) > 30
