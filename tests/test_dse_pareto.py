"""Pareto ranks equal a brute-force peel of the non-dominated sets on random data."""
import numpy as np
import pandas as pd
import pytest

from dse import pareto
from dse.pareto import brute_force_ranks, pareto_front, pareto_ranks


def _random_case(rng, n, m, levels):
    values = rng.integers(0, levels, size=(n, m)).astype(float)  # few levels: many ties
    frame = pd.DataFrame(values, columns=[f"o{i}" for i in range(m)])
    senses = {c: ("max" if rng.random() < 0.5 else "min") for c in frame.columns}
    minimised = np.column_stack([frame[c] * (-1 if s == "max" else 1) for c, s in senses.items()])
    return frame, senses, minimised


@pytest.mark.parametrize("seed", range(6))
def test_ranks_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    for _ in range(20):
        n, m = int(rng.integers(1, 400)), int(rng.integers(1, 6))
        frame, senses, minimised = _random_case(rng, n, m, int(rng.integers(2, 12)))
        expected = brute_force_ranks(minimised)
        np.testing.assert_array_equal(pareto_ranks(frame, senses), expected)


def test_both_algorithms_agree_with_brute_force(monkeypatch):
    rng = np.random.default_rng(7)
    frame, senses, minimised = _random_case(rng, 1500, 4, 30)
    expected = brute_force_ranks(minimised)
    monkeypatch.setattr(pareto, "_ENS_LOADED", False)
    monkeypatch.setattr(pareto, "NUMPY_MAX_POINTS", 10**9)  # the NumPy cull
    np.testing.assert_array_equal(pareto_ranks(frame, senses), expected)
    monkeypatch.setattr(pareto, "NUMPY_MAX_POINTS", 0)  # the compiled ENS, loaded from now on
    np.testing.assert_array_equal(pareto_ranks(frame, senses), expected)
    assert pareto._ENS_LOADED
    monkeypatch.setattr(pareto, "NUMPY_MAX_POINTS", 10**9)  # small sorts stay on ENS
    np.testing.assert_array_equal(pareto_ranks(frame.iloc[:50], senses),
                                  brute_force_ranks(minimised[:50]))


def test_front_is_exactly_the_non_dominated_subset():
    rng = np.random.default_rng(3)
    frame, senses, minimised = _random_case(rng, 300, 3, 1000)
    front = pareto_front(frame, senses)
    for i in range(len(frame)):
        dominated = any((minimised[j] <= minimised[i]).all() and (minimised[j] < minimised[i]).any()
                        for j in range(len(frame)))
        assert (i in front.index) == (not dominated)


def test_hand_case_and_ties():
    frame = pd.DataFrame({"err": [1, 1, 2, 3, 1], "energy": [5, 5, 1, 1, 6]})
    # rows 0 and 1 tie (both rank 1); row 3 is dominated by row 2; row 4 by row 0
    assert pareto_ranks(frame, {"err": "min", "energy": "min"}).tolist() == [1, 1, 1, 2, 2]
    assert pareto_ranks(frame, {"err": "max", "energy": "max"}).tolist() == [2, 2, 2, 1, 1]


def test_bad_objectives():
    frame = pd.DataFrame({"a": [1.0, np.nan]})
    with pytest.raises(ValueError, match="empty values"):
        pareto_ranks(frame, {"a": "min"})
    with pytest.raises(ValueError, match="not a column"):
        pareto_ranks(frame, {"b": "min"})
    with pytest.raises(ValueError, match="min or max"):
        pareto_ranks(frame, {"a": "lowest"})
