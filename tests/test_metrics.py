"""lfkit.metrics against analytic answers and scikit-learn's metrics (test-only reference)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from lfkit import metrics
from lfkit.errors import DataError, ParameterError

trapezoid = getattr(np, "trapezoid", None) or np.trapz  # numpy < 2 has only trapz


@st.composite
def binary_data(draw, min_size=2, max_size=60):
    """Labels with both classes and scores on a coarse grid (so ties are common)."""
    n = draw(st.integers(min_size, max_size))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda v: 0 < sum(v) < len(v)))
    score = draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n))
    return np.array(y), np.array(score, dtype=float) / 2.0


def sklearn_pauc_unstandardised(y, s, max_fpr):
    """np.trapezoid over sklearn's ROC, linearly interpolated at max_fpr, divided by max_fpr."""
    fpr, tpr, _ = skm.roc_curve(y, s)
    stop = np.searchsorted(fpr, max_fpr, "right")
    if stop == fpr.size:  # max_fpr == 1: the whole curve
        return trapezoid(tpr, fpr) / max_fpr
    x_interp, y_interp = [fpr[stop - 1], fpr[stop]], [tpr[stop - 1], tpr[stop]]
    tpr = np.append(tpr[:stop], np.interp(max_fpr, x_interp, y_interp))
    fpr = np.append(fpr[:stop], max_fpr)
    return trapezoid(tpr, fpr) / max_fpr


def test_module_does_not_import_sklearn():
    code = "import sys, lfkit.metrics; sys.exit(any(m.startswith('sklearn') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@settings(max_examples=150, deadline=None)
@given(binary_data())
def test_roc_auc_matches_sklearn_with_ties(data):
    y, s = data
    assert metrics.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(binary_data(), st.sampled_from([0.05, 0.1, 0.3, 0.5, 1.0]))
def test_partial_auc_is_unstandardised_area(data, max_fpr):
    y, s = data
    assert metrics.partial_auc(y, s, max_fpr) == pytest.approx(sklearn_pauc_unstandardised(y, s, max_fpr), abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(binary_data())
def test_roc_curve_has_sklearn_points(data):
    y, s = data
    fpr, tpr, thr = metrics.roc_curve(y, s)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert thr[0] == np.inf and np.all(np.diff(thr[1:]) < 0)
    sk_fpr, sk_tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)


@settings(max_examples=150, deadline=None)
@given(binary_data(min_size=1), st.floats(-3, 3))
def test_binary_report_matches_sklearn(data, threshold):
    y, s = data
    pred = (s >= threshold).astype(int)
    rep = metrics.binary_report(y, s, threshold)
    tn, fp, fn, tp = skm.confusion_matrix(y, pred, labels=[0, 1]).ravel()
    assert rep["confusion"] == {"tn": tn, "fp": fp, "fn": fn, "tp": tp}
    assert rep["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert rep["precision"] == pytest.approx(skm.precision_score(y, pred, zero_division=0))
    assert rep["recall"] == pytest.approx(skm.recall_score(y, pred, zero_division=0))
    assert rep["f1"] == pytest.approx(skm.f1_score(y, pred, zero_division=0))


def test_binary_report_zero_division_gives_zero():
    rep = metrics.binary_report([0, 0, 1], [0.1, 0.2, 0.3], threshold=5.0)
    assert rep["precision"] == rep["recall"] == rep["f1"] == 0.0
    assert rep["confusion"] == {"tn": 2, "fp": 0, "fn": 1, "tp": 0}


def test_perfect_separation():
    y, s = [0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.8, 0.9]
    assert metrics.roc_auc(y, s) == 1.0
    assert metrics.partial_auc(y, s, 0.1) == 1.0
    rate, thr = metrics.eer(y, s)
    assert rate == 0.0 and 0.3 < thr <= 0.8


def test_reversed_scores():
    y, s = [1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]
    assert metrics.roc_auc(y, s) == 0.0
    assert metrics.partial_auc(y, s, 0.1) == 0.0
    assert metrics.eer(y, s)[0] == 1.0


def test_all_tied_scores_are_chance():
    y, s = [0, 1, 0, 1], [0.5] * 4
    assert metrics.roc_auc(y, s) == 0.5
    # the ROC is the diagonal, so the area up to p is p**2 / 2, divided by p
    assert metrics.partial_auc(y, s, 0.2) == pytest.approx(0.1)
    assert metrics.eer(y, s)[0] == pytest.approx(0.5)


def test_eer_interpolates_between_roc_points():
    # ROC: (0,0) (0,.5) (.5,.5) (.5,1) (1,1); FNR = FPR = 0.5 on the flat step
    y, s = [1, 0, 1, 0], [4.0, 3.0, 2.0, 1.0]
    rate, thr = metrics.eer(y, s)
    assert rate == pytest.approx(0.5)
    assert 2.0 <= thr <= 4.0


@settings(max_examples=100, deadline=None)
@given(binary_data())
def test_eer_equals_fpr_and_fnr_at_crossing(data):
    y, s = data
    rate, _ = metrics.eer(y, s)
    fpr, tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
    fnr = 1 - tpr
    i = np.flatnonzero(fnr - fpr <= 0)[0]  # first ROC point past the crossing (i >= 1)
    # the EER is where the interpolated FPR (rising) meets the interpolated FNR (falling)
    assert fpr[i - 1] - 1e-12 <= rate <= fpr[i] + 1e-12
    assert fnr[i] - 1e-12 <= rate <= fnr[i - 1] + 1e-12


def test_one_class_gives_none():
    assert metrics.roc_auc([1, 1, 1], [0.1, 0.2, 0.3]) is None
    assert metrics.partial_auc([0, 0], [0.1, 0.2]) is None
    assert metrics.eer([0, 0], [0.1, 0.2]) == (None, None)
    with pytest.raises(DataError, match="one class"):
        metrics.roc_curve([1, 1], [0.1, 0.2])
    # counts are still reported
    assert metrics.binary_report([1, 1], [0.1, 0.2], 0.15)["confusion"]["tp"] == 1


@pytest.mark.parametrize("func", [metrics.roc_auc, metrics.partial_auc, metrics.eer, metrics.roc_curve])
def test_nan_scores_raise_data_error(func):
    with pytest.raises(DataError, match="NaN"):
        func([0, 1, 1], [0.1, np.nan, 0.3])


def test_bad_inputs():
    with pytest.raises(DataError, match="3 labels but score has 2"):
        metrics.roc_auc([0, 1, 1], [0.1, 0.2])
    with pytest.raises(DataError, match="0/1"):
        metrics.roc_auc([0, 2], [0.1, 0.2])
    with pytest.raises(ParameterError, match="max_fpr=1.5"):
        metrics.partial_auc([0, 1], [0.1, 0.2], max_fpr=1.5)
    with pytest.raises(ParameterError, match="k=0"):
        metrics.topk_accuracy(["a"], [[1.0]], ["a"], k=0)
    with pytest.raises(DataError, match="shape"):
        metrics.map_at_k(["a", "b"], [[1.0, 2.0]], ["a", "b"])


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 30), st.integers(3, 6), st.integers(1, 6), st.randoms(use_true_random=False))
def test_topk_accuracy_matches_sklearn(n, n_classes, k, rnd):
    # (3+ classes: sklearn reads a 2-column score matrix as binary)
    names = [f"c{j}" for j in range(n_classes)]
    y_idx = [rnd.randrange(n_classes) for _ in range(n)]
    S = np.array([rnd.sample(range(n_classes), n_classes) for _ in range(n)], dtype=float)  # no ties
    ours = metrics.topk_accuracy([names[j] for j in y_idx], S, names, k=k)
    ref = skm.top_k_accuracy_score(y_idx, S, k=k, labels=list(range(n_classes)))
    assert ours == pytest.approx(ref)


def test_map_at_3_by_hand():
    names = ["a", "b", "c", "d"]
    S = np.array([
        [0.9, 0.1, 0.0, 0.0],  # a ranked 1 -> 1
        [0.9, 0.5, 0.1, 0.0],  # b ranked 2 -> 1/2
        [0.9, 0.5, 0.1, 0.0],  # c ranked 3 -> 1/3
        [0.9, 0.5, 0.1, 0.0],  # d ranked 4 -> 0
        [0.9, 0.5, 0.1, 0.0],  # unknown label -> 0
    ])
    y = ["a", "b", "c", "d", "zz"]
    assert metrics.map_at_k(y, S, names, k=3) == pytest.approx((1 + 1 / 2 + 1 / 3) / 5)
    assert metrics.map_at_k(y, S, names, k=1) == metrics.topk_accuracy(y, S, names, k=1) == pytest.approx(1 / 5)
    assert metrics.topk_accuracy(y, S, names, k=3) == pytest.approx(3 / 5)


def test_open_set_rates():
    true = ["a", "a", "b", "b", "x", "y"]
    pred = ["a", "unknown", "a", "b", "unknown", "b"]
    r = metrics.open_set_rates(true, pred, known_labels=["a", "b"])
    assert r["n_known"] == 4 and r["n_unknown"] == 2
    assert r["known_as_unknown_rate"] == pytest.approx(1 / 4)
    assert r["known_accuracy"] == pytest.approx(2 / 4)
    assert r["unknown_as_known_rate"] == pytest.approx(1 / 2)
    none = metrics.open_set_rates(["a"], ["a"], ["a"])
    assert none["unknown_as_known_rate"] is None and none["known_accuracy"] == 1.0
