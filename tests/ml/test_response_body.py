from __future__ import annotations

import json

import numpy as np
import pytest

from ml.response_body import SMALL_ANSWER, csv_answer, json_answer, millionths


def _python_csv(scores: np.ndarray, flags: np.ndarray) -> str:
    return "".join(f"{s:.6f},{f}\n" for s, f in zip(scores.tolist(), flags.tolist(), strict=True))


def _python_json(scores: np.ndarray, flags: np.ndarray) -> str:
    return json.dumps(
        {
            "predictions": [
                {"score": round(s, 6), "is_fraud": bool(f)}
                for s, f in zip(scores.tolist(), flags.tolist(), strict=True)
            ]
        }
    )


def _scores() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    halves = (rng.integers(0, 10**6, 20_000) + 0.5) / 1e6  # a million times each is near x.5
    return {
        "uniform": rng.random(20_000),
        "below a thousandth": rng.random(20_000) * 1e-3,
        "near halves": np.concatenate([halves, np.nextafter(halves, 0), np.nextafter(halves, 1)]),
        "exact halves (odd/128)": np.arange(129) / 128,
        "edges": np.array(
            [
                0.0,
                1.0,
                1e-9,
                5e-7,
                4.999999e-7,
                0.5,
                1e-4,
                9.99e-5,
                1.5e-5,
                5e-5,
                0.0001005,
                0.999999,
                0.9999995,
                0.99999949,
                5e-324,
                1 - 2**-53,
            ]
            * 2
        ),
    }


@pytest.mark.parametrize("case", sorted(_scores()))
def test_answers_are_the_text_python_writes_byte_for_byte(case):
    scores = _scores()[case]
    flags = (scores >= 0.5).astype(np.int64)
    assert csv_answer(scores, flags) == _python_csv(scores, flags)
    assert json_answer(scores, flags) == _python_json(scores, flags)


@pytest.mark.parametrize("odd", [np.nan, 1.5, -0.0, -0.1, np.inf])
@pytest.mark.parametrize("rows", [1, SMALL_ANSWER + 5])
def test_a_score_outside_zero_to_one_is_written_as_python_writes_it(odd, rows):
    scores = np.full(rows, 0.25)
    scores[-1] = odd
    flags = np.zeros(rows, dtype=np.int64)
    assert millionths(scores) is None
    assert csv_answer(scores, flags) == _python_csv(scores, flags)
    assert json_answer(scores, flags) == _python_json(scores, flags)


def test_millionths_round_a_tie_to_even_as_python_does():
    # 1/128 is exactly 7812.5 millionths: Python writes 0.007812, the even neighbour.
    assert millionths(np.array([1 / 128, 3 / 128]))[0] == 7812  # type: ignore[index]
    assert f"{3 / 128:.6f}" == "0.023438"
    assert millionths(np.array([3 / 128]))[0] == 23438  # type: ignore[index]
