"""Confidence intervals of means over replications: exact Student-t critical values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from storsim.stats import mean_intervals, t_quantile


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_t_quantile_matches_scipy(confidence: float) -> None:
    """The Student-t critical value matches scipy for 1 to 400 and 10^4 degrees of freedom."""
    for dof in [*range(1, 401), 10_000]:
        expected = scipy.stats.t.ppf((1 + confidence) / 2, dof)
        assert t_quantile(confidence, dof) == pytest.approx(expected, rel=1e-9)


def test_mean_intervals_count_only_the_values_present() -> None:
    """Each metric's interval uses the replications that have a value: a missing value
    shrinks n, and a group with one value has no bounds."""
    frame = pd.DataFrame(
        {
            "g": ["a", "a", "a", "b"],
            "x": [1.0, 3.0, math.nan, 5.0],
            "y": [2.0, 4.0, 9.0, 1.0],
        }
    )
    out = mean_intervals(frame.groupby("g"), ["x", "y"], confidence=0.9)
    assert list(out.columns) == [
        "x_mean",
        "x_ci_low",
        "x_ci_high",
        "y_mean",
        "y_ci_low",
        "y_ci_high",
    ]
    assert list(out.index) == ["a", "b"]
    for metric, values in (("x", [1.0, 3.0]), ("y", [2.0, 4.0, 9.0])):
        low, high = scipy.stats.t.interval(
            0.9, len(values) - 1, loc=np.mean(values), scale=scipy.stats.sem(values)
        )
        assert out.loc["a", f"{metric}_mean"] == pytest.approx(np.mean(values))
        assert out.loc["a", f"{metric}_ci_low"] == pytest.approx(low, rel=1e-10)
        assert out.loc["a", f"{metric}_ci_high"] == pytest.approx(high, rel=1e-10)
    assert out.loc["b", "x_mean"] == 5.0
    assert math.isnan(out.loc["b", "x_ci_low"])
    assert math.isnan(out.loc["b", "x_ci_high"])


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5])
def test_mean_intervals_refuse_a_confidence_outside_0_1(confidence: float) -> None:
    """A coverage of 0, 1 or more is refused, naming the value."""
    frame = pd.DataFrame({"g": ["a", "a"], "x": [1.0, 2.0]})
    with pytest.raises(ValueError, match=rf"confidence must be in \(0, 1\) \(got {confidence}\)"):
        mean_intervals(frame.groupby("g"), ["x"], confidence=confidence)
