"""The model's output against the same clock hour of earlier days: score PSI and flag rate."""

from __future__ import annotations

import numpy as np
import pytest

from ml.score_drift import flag_rate_change, score_drift

ALARM_Z = 3.09


def _scores(rows: int, flag_share: float, seed: int) -> np.ndarray:
    """Scores with ``flag_share`` of them at 0.9 (flagged at 0.5), the rest spread low."""
    rng = np.random.default_rng(seed)
    scores = rng.beta(1, 40, rows)
    scores[rng.random(rows) < flag_share] = 0.9
    return scores


def test_the_same_flag_rate_is_no_evidence() -> None:
    assert flag_rate_change(20, 4_000, 140, 28_000, tolerance=1.5)["z"] < 1


def test_three_times_the_flags_is_a_change_and_says_up() -> None:
    change = flag_rate_change(60, 4_000, 140, 28_000, tolerance=1.5)
    assert change["z"] > ALARM_Z and change["direction"] == "up"


def test_flags_that_stop_are_a_change_and_say_down() -> None:
    change = flag_rate_change(0, 4_000, 300, 28_000, tolerance=1.5)
    assert change["z"] > ALARM_Z and change["direction"] == "down"


def test_a_move_within_the_tolerance_does_not_alarm_however_much_traffic() -> None:
    # 1.3x the reference rate on a million rows: sure, but inside the 1.5x tolerance.
    assert flag_rate_change(2_600, 1_000_000, 14_000, 7_000_000, tolerance=1.5)["z"] < 1
    assert flag_rate_change(2_600, 1_000_000, 14_000, 7_000_000, tolerance=1.0)["z"] > ALARM_Z


def test_no_flags_on_either_side_is_no_evidence() -> None:
    assert flag_rate_change(0, 500, 0, 3_500, tolerance=1.5) == {
        "z": 0.0,
        "p_value": 1.0,
        "direction": "none",
    }


def test_a_same_hour_reference_keeps_a_night_window_quiet() -> None:
    # At night fraud, and flags, are several times likelier than over the whole day.
    night, earlier_nights = _scores(400, 0.02, 1), _scores(2_800, 0.02, 2)
    whole_day = _scores(28_000, 0.004, 3)
    same_hour = score_drift(night, earlier_nights, 0.5, min_rows=300)
    assert same_hour["flag_rate_change"]["z"] < ALARM_Z and same_hour["psi"] < 0.1
    assert score_drift(night, whole_day, 0.5)["flag_rate_change"]["z"] > ALARM_Z


def test_a_shifted_score_distribution_has_a_large_psi() -> None:
    reference = _scores(5_000, 0.01, 4)
    assert score_drift(reference * 3, reference, 0.5)["psi"] > 0.25


def test_too_few_rows_on_either_side_is_insufficient_data() -> None:
    result = score_drift(_scores(100, 0.01, 5), _scores(5_000, 0.01, 6), 0.5, min_rows=300)
    assert result == {
        "status": "insufficient_data",
        "min_rows": 300,
        "rows": 100,
        "reference_rows": 5_000,
    }


@pytest.mark.parametrize("seed", range(3))
def test_the_flag_rate_z_matches_its_one_sided_tail(seed) -> None:
    from scipy.stats import binom, norm

    change = flag_rate_change(12 + seed, 1_000, 50, 7_000, tolerance=1.0)
    total = 62 + seed
    tail = binom.sf(12 + seed - 1, total, 1_000 / 8_000)
    assert change["z"] == pytest.approx(max(0.0, norm.isf(min(tail, 0.5))))
