"""Validation thresholds (lfkit.thresholds), checked against scikit-learn and by brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import balanced_accuracy_score

from lfkit.errors import ParameterError
from lfkit.thresholds import (
    balanced_accuracy_threshold,
    eer_threshold,
    false_alarm_threshold,
    pick_threshold,
    target_quantile_threshold,
)


def _best_bacc_brute(y, s):
    return max(balanced_accuracy_score(y, (s >= t).astype(int)) for t in np.r_[np.unique(s), np.inf])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(-5, 5)), min_size=2, max_size=40))
def test_balanced_accuracy_threshold_is_the_maximum_over_candidates(pairs):
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs], dtype=float) / 2  # ties on purpose
    if len(np.unique(y)) < 2:
        with pytest.raises(ParameterError, match="both classes"):
            balanced_accuracy_threshold(y, s)
        return
    t, b = balanced_accuracy_threshold(y, s)
    assert balanced_accuracy_score(y, (s >= t).astype(int)) == pytest.approx(b)
    assert b == pytest.approx(_best_bacc_brute(y, s))
    assert not np.any(s == t)  # strictly between two scores: a margin on both sides


def test_balanced_accuracy_threshold_separable_sits_between_the_classes():
    y = np.array([0, 0, 0, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.7, 0.9])
    t, b = balanced_accuracy_threshold(y, s)
    assert t == pytest.approx(0.5) and b == 1.0


def test_false_alarm_threshold_keeps_the_rate():
    rng = np.random.default_rng(0)
    s = rng.normal(size=1000)
    y = (rng.random(1000) < 0.5).astype(int)
    for rate in (0.0, 0.01, 0.05, 0.2):
        t, fa = false_alarm_threshold(y, s, rate)
        measured = float((s[y == 0] >= t).mean())
        assert measured == pytest.approx(fa) and measured <= rate
        # lowest such threshold: the next lower non-target score would exceed the rate
        lower = s[(y == 0) & (s < t)].max()
        assert float((s[y == 0] >= lower).mean()) > rate


def test_eer_threshold_equal_rates_and_quantile():
    y = np.r_[np.zeros(100, int), np.ones(100, int)]
    s = np.r_[np.linspace(0, 1, 100), np.linspace(0.5, 1.5, 100)]
    t, e = eer_threshold(y, s)
    fpr = (s[y == 0] >= t).mean()
    fnr = (s[y == 1] < t).mean()
    assert abs(fpr - fnr) <= 0.02 and e == pytest.approx((fpr + fnr) / 2, abs=0.02)
    assert target_quantile_threshold(np.arange(101.0), 0.1) == pytest.approx(10.0)


@pytest.mark.parametrize("call, words", [
    (lambda: pick_threshold("f1", [0, 1], [0.1, 0.2]), "method='f1' is not known"),
    (lambda: false_alarm_threshold([0, 1], [0.1, 0.2], 1.5), "rate=1.5"),
    (lambda: pick_threshold("false_alarm", [0, 1], [0.1, 0.2]), "needs rate"),
    (lambda: balanced_accuracy_threshold([0, 1], [0.1, np.nan]), "NaN"),
    (lambda: eer_threshold([1, 1], [0.1, 0.2]), "both classes"),
])
def test_bad_input_is_refused_with_one_clear_message(call, words):
    with pytest.raises(ParameterError, match=words):
        call()
