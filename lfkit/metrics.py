"""Evaluation metrics: ROC, AUC, pAUC, EER, thresholded reports, top-k and MAP@k.

Pure numpy (no scikit-learn, so ``lfkit eval`` starts fast); the test suite
checks every function against :mod:`sklearn.metrics`.

Conventions
-----------
* ``y_true`` is binary: 1 (or ``True``) marks the positive (target) class.
* ``score`` is oriented like every lfkit score: **higher = more like the
  positive class**.
* When ``y_true`` holds only one class, the ranking metrics (:func:`roc_auc`,
  :func:`partial_auc`, :func:`eer`) return ``None`` instead of raising, so an
  evaluation can still report its counts. NaN scores raise
  :class:`~lfkit.errors.DataError`.
"""

from __future__ import annotations

import numpy as np

from lfkit.errors import DataError, ParameterError, check_positive_int

__all__ = [
    "binary_metrics",
    "roc_curve",
    "roc_auc",
    "partial_auc",
    "eer",
    "binary_report",
    "topk_accuracy",
    "map_at_k",
    "open_set_rates",
]


def _check_binary(y_true, score) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return ``(y_true as bool, score as float64)``, both 1-D."""
    y = np.asarray(y_true)
    s = np.asarray(score)
    if y.ndim != 1 or s.ndim != 1:
        raise DataError(f"y_true and score must be 1-D, got shapes {y.shape} and {s.shape}")
    if y.shape != s.shape:
        raise DataError(f"y_true has {y.size} labels but score has {s.size} values")
    if y.size == 0:
        raise DataError("y_true and score are empty")
    try:
        s = s.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"score must be numeric: {exc}") from None
    n_nan = int(np.isnan(s).sum())
    if n_nan:
        raise DataError(f"score holds {n_nan} NaN value(s) of {s.size}")
    if y.dtype != bool:
        if not np.issubdtype(y.dtype, np.number) or not np.isin(y, (0, 1)).all():
            raise DataError(f"y_true must hold only 0/1 or booleans, got values {np.unique(y)[:5].tolist()}")
        y = y == 1
    return y, s


def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    """Trapezoidal area under ``y(x)`` (``np.trapezoid`` is numpy >= 2 only)."""
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


def _both_classes(y: np.ndarray) -> bool:
    return bool(y.any()) and not bool(y.all())


def _roc(y: np.ndarray, s: np.ndarray):
    """ROC over every distinct threshold, starting at (0, 0) with threshold +inf."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    # last index of each run of equal scores: one ROC point per distinct threshold
    last = np.r_[np.flatnonzero(s_sorted[1:] != s_sorted[:-1]), y_sorted.size - 1]
    tps = np.cumsum(y_sorted)[last].astype(np.float64)
    fps = (last + 1) - tps
    tpr = np.r_[0.0, tps / tps[-1]]  # callers ensure both classes are present
    fpr = np.r_[0.0, fps / fps[-1]]
    thresholds = np.r_[np.inf, s_sorted[last]]
    return fpr, tpr, thresholds


def roc_curve(y_true, score):
    """Receiver operating characteristic at every distinct score.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n,)
        True binary labels; 1 is the positive class.
    score : array-like of float, shape (n,)
        Scores, higher = more like the positive class.

    Returns
    -------
    fpr, tpr : np.ndarray of float, shape (m + 1,)
        False and true positive rates of the decision ``score >= threshold``,
        non-decreasing, from (0, 0) to (1, 1). Unlike scikit-learn's
        ``roc_curve`` no collinear points are dropped (the area is the same).
    thresholds : np.ndarray of float, shape (m + 1,)
        ``+inf`` followed by the ``m`` distinct scores in decreasing order.

    Raises
    ------
    DataError
        If ``score`` holds NaN, the lengths differ, or ``y_true`` holds only one
        class (no ROC exists; :func:`roc_auc` returns ``None`` instead).
    """
    y, s = _check_binary(y_true, score)
    if not _both_classes(y):
        raise DataError("y_true holds only one class; the ROC curve is undefined")
    return _roc(y, s)


def roc_auc(y_true, score) -> float | None:
    """Area under the ROC curve; ``None`` when ``y_true`` holds only one class.

    Tied scores count one half, exactly like ``sklearn.metrics.roc_auc_score``
    (the trapezoidal area over distinct thresholds, i.e. the Mann-Whitney U
    statistic divided by ``n_pos * n_neg``).

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n,)
    score : array-like of float, shape (n,)

    Returns
    -------
    float or None
        In [0, 1]; 1 is perfect separation, 0.5 chance, 0 perfectly reversed.
    """
    y, s = _check_binary(y_true, score)
    if not _both_classes(y):
        return None
    fpr, tpr, _ = _roc(y, s)
    return float(_trapezoid(tpr, fpr))


def partial_auc(y_true, score, max_fpr: float = 0.1) -> float | None:
    """Partial AUC up to ``max_fpr``, as used by DCASE anomaly detection.

    The plain area under the ROC curve from FPR = 0 to FPR = ``max_fpr``
    (the curve linearly interpolated at ``max_fpr``) divided by ``max_fpr``,
    so a perfect detector scores 1 and a random one about ``max_fpr / 2``.

    This is **not** ``sklearn.metrics.roc_auc_score(..., max_fpr=...)``, which
    returns the McClish-standardised value ``(1 + (A - min) / (max - min)) / 2``
    that maps a random detector to 0.5.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n,)
    score : array-like of float, shape (n,)
    max_fpr : float
        Upper FPR limit, in (0, 1].

    Returns
    -------
    float or None
        In [0, 1]; ``None`` when ``y_true`` holds only one class.
    """
    try:
        max_fpr = float(max_fpr)
    except (TypeError, ValueError):
        raise ParameterError(f"max_fpr={max_fpr!r} must be a number in (0, 1]") from None
    if not 0.0 < max_fpr <= 1.0:
        raise ParameterError(f"max_fpr={max_fpr!r} must be in (0, 1]")
    y, s = _check_binary(y_true, score)
    if not _both_classes(y):
        return None
    fpr, tpr, _ = _roc(y, s)
    stop = int(np.searchsorted(fpr, max_fpr, side="right"))
    if stop >= fpr.size:  # max_fpr == 1: the whole curve
        return float(_trapezoid(tpr, fpr) / max_fpr)
    x0, x1, y0, y1 = fpr[stop - 1], fpr[stop], tpr[stop - 1], tpr[stop]
    t_end = y0 + (y1 - y0) * (max_fpr - x0) / (x1 - x0)
    area = _trapezoid(np.r_[tpr[:stop], t_end], np.r_[fpr[:stop], max_fpr])
    return float(area / max_fpr)


def eer(y_true, score) -> tuple[float | None, float | None]:
    """Equal error rate: where the false positive and false negative rates meet.

    Both rates are linearly interpolated between the two ROC points that
    bracket the crossing; the threshold is interpolated the same way (where
    one bracket is the ``+inf`` start of the curve, the other one is used).

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n,)
    score : array-like of float, shape (n,)

    Returns
    -------
    eer : float or None
        In [0, 1]; 0 for perfect separation, 1 for perfectly reversed scores.
    threshold : float or None
        Score threshold (decision ``score >= threshold``) at the EER.
        Both are ``None`` when ``y_true`` holds only one class.
    """
    y, s = _check_binary(y_true, score)
    if not _both_classes(y):
        return None, None
    fpr, tpr, thr = _roc(y, s)
    d = (1.0 - tpr) - fpr  # non-increasing from 1 to -1
    i = int(np.flatnonzero(d <= 0)[0])
    if d[i] == 0:
        return float(fpr[i]), float(thr[i])
    t = d[i - 1] / (d[i - 1] - d[i])
    rate = fpr[i - 1] + t * (fpr[i] - fpr[i - 1])
    lo, hi = thr[i - 1], thr[i]
    threshold = hi if not np.isfinite(lo) else lo + t * (hi - lo)
    return float(rate), float(threshold)


def binary_report(y_true, score, threshold: float) -> dict:
    """Accuracy, precision, recall, F1 and confusion counts at one threshold.

    Parameters
    ----------
    y_true : array-like of {0, 1} or bool, shape (n,)
    score : array-like of float, shape (n,)
    threshold : float
        A clip is called positive when ``score >= threshold``.

    Returns
    -------
    dict
        ``accuracy``, ``precision``, ``recall``, ``f1`` (floats; a zero
        denominator gives 0.0, like scikit-learn's ``zero_division=0``) and
        ``confusion``: ``{"tn": int, "fp": int, "fn": int, "tp": int}``.
    """
    y, s = _check_binary(y_true, score)
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise ParameterError(f"threshold={threshold!r} must be a number") from None
    if np.isnan(threshold):
        raise ParameterError("threshold=nan must be a number")
    pred = s >= threshold
    tp = int(np.sum(pred & y))
    fp = int(np.sum(pred & ~y))
    fn = int(np.sum(~pred & y))
    tn = int(np.sum(~pred & ~y))

    def ratio(a, b):
        return a / b if b else 0.0

    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    return {
        "accuracy": ratio(tp + tn, y.size),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(ratio(2 * tp, 2 * tp + fp + fn)),
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }


def _ranks(y_true_labels, score_matrix, class_names) -> np.ndarray:
    """1-based rank of each clip's true label (0 when the label is not a class)."""
    names = [str(c) for c in class_names]
    if len(set(names)) != len(names):
        raise DataError("class_names holds duplicates")
    S = np.asarray(score_matrix, dtype=np.float64)
    labels = [str(t) for t in y_true_labels]
    if S.ndim != 2 or S.shape != (len(labels), len(names)):
        raise DataError(
            f"score_matrix must have shape (n_clips, n_classes) = ({len(labels)}, {len(names)}), got {S.shape}"
        )
    if len(labels) == 0:
        raise DataError("y_true_labels is empty")
    if np.isnan(S).any():
        raise DataError(f"score_matrix holds {int(np.isnan(S).sum())} NaN value(s)")
    index = {c: j for j, c in enumerate(names)}
    order = np.argsort(-S, axis=1, kind="stable")  # ties: earlier class first
    ranks = np.zeros(len(labels), dtype=np.int64)
    for i, label in enumerate(labels):
        j = index.get(label)
        if j is not None:
            ranks[i] = int(np.flatnonzero(order[i] == j)[0]) + 1
    return ranks


def topk_accuracy(y_true_labels, score_matrix, class_names, k: int = 1) -> float:
    """Fraction of clips whose true label is among the ``k`` highest scores.

    Parameters
    ----------
    y_true_labels : sequence of str, length n_clips
        True class name of each clip. A name not in ``class_names`` (an
        unknown identity) never counts as correct.
    score_matrix : array-like of float, shape (n_clips, n_classes)
        Higher = more like that class. Ties rank the earlier class first.
    class_names : sequence of str, length n_classes
        Column names of ``score_matrix``.
    k : int
        Number of top-ranked classes that count.

    Returns
    -------
    float
        In [0, 1].
    """
    k = check_positive_int("k", k)
    ranks = _ranks(y_true_labels, score_matrix, class_names)
    return float(np.mean((ranks >= 1) & (ranks <= k)))


def map_at_k(y_true_labels, score_matrix, class_names, k: int = 3) -> float:
    """Mean average precision at ``k`` with one true label per clip.

    As in Kaggle's Freesound audio tagging competition (MAP@3): each clip
    scores ``1 / rank`` when its true label is ranked within the top ``k``,
    else 0; the result is the mean over clips.

    Parameters
    ----------
    y_true_labels, score_matrix, class_names
        As in :func:`topk_accuracy`.
    k : int
        Deepest rank that scores.

    Returns
    -------
    float
        In [0, 1]; equals :func:`topk_accuracy` with ``k=1`` when ``k`` is 1.
    """
    k = check_positive_int("k", k)
    ranks = _ranks(y_true_labels, score_matrix, class_names)
    hit = (ranks >= 1) & (ranks <= k)
    return float(np.mean(np.where(hit, 1.0 / np.maximum(ranks, 1), 0.0)))


def open_set_rates(true_labels, predicted, known_labels, unknown_label: str = "unknown") -> dict:
    """Error rates of open-set identification.

    Parameters
    ----------
    true_labels : sequence of str, length n
        True identity of each clip; names not in ``known_labels`` are unknown.
    predicted : sequence of str, length n
        Predicted identity, or ``unknown_label`` for a rejected clip.
    known_labels : sequence of str
        Identities enrolled in the model.
    unknown_label : str
        The prediction that means "none of the known identities".

    Returns
    -------
    dict
        ``n_known``, ``n_unknown`` (counts), ``known_as_unknown_rate`` (known
        clips predicted ``unknown_label``), ``known_accuracy`` (known clips given
        their own identity), ``unknown_as_known_rate`` (unknown clips given any
        identity). A rate over zero clips is ``None``.
    """
    true = [str(t) for t in true_labels]
    pred = [str(p) for p in predicted]
    if len(true) != len(pred):
        raise DataError(f"true_labels has {len(true)} entries but predicted has {len(pred)}")
    known = {str(k) for k in known_labels}
    is_known = np.array([t in known for t in true], dtype=bool)
    rejected = np.array([p == unknown_label for p in pred], dtype=bool)
    correct = np.array([t == p for t, p in zip(true, pred)], dtype=bool)
    n_known, n_unknown = int(is_known.sum()), int((~is_known).sum())

    def rate(mask, among, n):
        return float(np.sum(mask & among) / n) if n else None

    return {
        "n_known": n_known,
        "n_unknown": n_unknown,
        "known_as_unknown_rate": rate(rejected, is_known, n_known),
        "known_accuracy": rate(correct, is_known, n_known),
        "unknown_as_known_rate": rate(~rejected, ~is_known, n_unknown),
    }


def binary_metrics(y: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    """Every binary metric lfkit reports, for labels ``y`` (1 = target) and scores."""
    out = {"n": int(len(y)), "n_positive": int(y.sum()), "n_negative": int(len(y) - y.sum())}
    out["auc"] = roc_auc(y, score)
    out["pauc"] = partial_auc(y, score, max_fpr=0.1)
    e, e_th = eer(y, score)
    out["eer"], out["eer_threshold"] = e, e_th
    out["threshold"] = float(threshold)
    out.update(binary_report(y, score, threshold))
    return out
