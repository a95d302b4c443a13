"""Decision thresholds picked on validation scores: one implementation for every regime.

Every regime decides ``score >= threshold`` (higher score = more like the
target). The threshold is chosen on a validation split and stored in the
model:

* binary: :func:`balanced_accuracy_threshold`, the best balanced accuracy;
* one-class: :func:`false_alarm_threshold`, the lowest threshold whose
  false-alarm rate on non-target scores is at most a target rate (with only
  target scores, :func:`target_quantile_threshold` keeps a share of them);
* siamese: :func:`eer_threshold`, the equal-error point.

:func:`pick_threshold` dispatches by name (``METHODS``).
"""

from __future__ import annotations

import numpy as np

from lfkit.errors import ParameterError

__all__ = [
    "METHODS",
    "balanced_accuracy_threshold",
    "false_alarm_threshold",
    "target_quantile_threshold",
    "eer_threshold",
    "pick_threshold",
]

#: Names :func:`pick_threshold` knows, one per regime.
METHODS = ("balanced_accuracy", "false_alarm", "eer")


def _scores(y_true, score):
    y = np.asarray(y_true).astype(int).ravel()
    s = np.asarray(score, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ParameterError(f"y_true has {y.size} values but score has {s.size}")
    if s.size and not np.isfinite(s).all():
        raise ParameterError("score holds NaN or Inf; a threshold needs finite scores")
    if not np.isin(y, (0, 1)).all():
        raise ParameterError("y_true must hold 0 (other) and 1 (target) only")
    return y, s


def _cut_below(s_sorted_desc: np.ndarray, k: int) -> float:
    """A threshold between distinct score ``k`` and the next lower one (or just below the last)."""
    hi = s_sorted_desc[k]
    if k + 1 < s_sorted_desc.size:
        return float(0.5 * (hi + s_sorted_desc[k + 1]))
    return float(np.nextafter(hi, -np.inf))


def balanced_accuracy_threshold(y_true, score) -> tuple[float, float]:
    """The threshold of best balanced accuracy, ``(TPR + TNR) / 2``, over every distinct score.

    Candidates are the distinct scores (decision ``score >= candidate``);
    the one returned lies halfway between the best candidate and the next
    lower distinct score, so it makes the same decisions with a margin on
    both sides. Ties pick the middle of the tied candidates.

    Parameters
    ----------
    y_true : array-like of {0, 1}, shape (n,)
    score : array-like of float, shape (n,)

    Returns
    -------
    threshold : float
    balanced_accuracy : float
        At ``threshold``, in [0, 1].

    Raises
    ------
    ParameterError
        When ``y_true`` does not hold both classes.
    """
    y, s = _scores(y_true, score)
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ParameterError(f"balanced accuracy needs both classes (targets={n_pos}, others={n_neg})")
    distinct = np.unique(s)[::-1]  # descending
    # counts of scores >= each candidate, per class
    tp = np.searchsorted(np.sort(-s[y == 1]), -distinct, side="right")
    fp = np.searchsorted(np.sort(-s[y == 0]), -distinct, side="right")
    bacc = 0.5 * (tp / n_pos + (n_neg - fp) / n_neg)
    best = np.flatnonzero(bacc >= bacc.max() - 1e-12)
    k = int(best[len(best) // 2])
    return _cut_below(distinct, k), float(bacc[k])


def false_alarm_threshold(y_true, score, rate: float) -> tuple[float, float]:
    """The lowest threshold whose false-alarm rate on non-targets is at most ``rate``.

    A false alarm is a non-target clip (``y_true == 0``) with
    ``score >= threshold``. The threshold sits halfway to the next lower
    distinct score, like :func:`balanced_accuracy_threshold`.

    Parameters
    ----------
    y_true : array-like of {0, 1}, shape (n,)
        Needs at least one non-target; targets only count for the miss rate.
    score : array-like of float, shape (n,)
    rate : float
        Target false-alarm rate, in [0, 1).

    Returns
    -------
    threshold : float
    false_alarm_rate : float
        The non-targets' rate at ``threshold`` (at most ``rate``).
    """
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise ParameterError(f"rate={rate!r} must be a false-alarm rate in [0, 1)")
    y, s = _scores(y_true, score)
    neg = np.sort(s[y == 0])[::-1]
    if neg.size == 0:
        raise ParameterError("false_alarm threshold needs non-target scores (y_true == 0)")
    allowed = int(np.floor(rate * neg.size + 1e-9))  # non-targets allowed at or above the threshold
    if allowed == 0:
        return float(np.nextafter(neg[0], np.inf)), 0.0
    distinct = np.unique(neg)[::-1]
    n_above = np.searchsorted(-neg, -distinct, side="right")  # non-targets >= each candidate
    k = int(np.flatnonzero(n_above <= allowed)[-1])
    return _cut_below(distinct, k), float(n_above[k] / neg.size)


def target_quantile_threshold(target_score, miss_rate: float) -> float:
    """One-class training without non-targets: the ``miss_rate`` quantile of target scores.

    About ``miss_rate`` of the target clips score below the threshold (the
    detectors' ``nu``/``contamination`` threshold, :meth:`lfkit.detectors.Detector.fit`).

    Parameters
    ----------
    target_score : array-like of float, shape (n,)
        Scores of target clips, finite, n >= 1.
    miss_rate : float in [0, 1]
        ``0`` gives the lowest target score (every target clip passes);
        ``1`` (an OC-SVM's ``nu=1``) the highest: only clips scoring at
        least as high as the best target clip pass.

    Returns
    -------
    float
        Linear-interpolated quantile (``np.quantile``'s default).
    """
    if isinstance(miss_rate, bool) or not isinstance(miss_rate, (int, float, np.floating)) or not 0 <= miss_rate <= 1:
        raise ParameterError(f"miss_rate={miss_rate!r} must be in [0, 1]")
    s = np.asarray(target_score, dtype=np.float64).ravel()
    if s.size == 0 or not np.isfinite(s).all():
        raise ParameterError("target_score must be non-empty and finite")
    return float(np.quantile(s, float(miss_rate)))


def eer_threshold(y_true, score, *, one_class=None):
    """The equal-error threshold and rate (:func:`lfkit.metrics.eer`, the siamese regime's).

    Parameters
    ----------
    y_true : array-like of {0, 1}, shape (n,)
    score : array-like of float, shape (n,)
    one_class : None or "none"
        What to do when ``y_true`` holds one class only, so no equal-error
        point exists: ``None`` raises; ``"none"`` returns ``(None, None)``
        (siamese validation with no same-identity pair keeps no threshold).

    Returns
    -------
    (threshold, rate) : (float, float), or (None, None) as above

    Raises
    ------
    ParameterError
        When ``y_true`` does not hold both classes (and ``one_class`` is None).
    """
    from lfkit.metrics import eer

    if one_class not in (None, "none"):
        raise ParameterError(f"one_class={one_class!r} must be None or 'none'")
    y, s = _scores(y_true, score)
    rate, threshold = eer(y, s)
    if threshold is None:
        if one_class == "none":
            return None, None
        raise ParameterError("eer threshold needs both classes (targets and others)")
    return float(threshold), float(rate)


def pick_threshold(method: str, y_true, score, rate: float | None = None) -> tuple[float, float]:
    """``(threshold, value)`` by ``method`` in :data:`METHODS` (``rate`` for ``false_alarm``)."""
    if method == "balanced_accuracy":
        return balanced_accuracy_threshold(y_true, score)
    if method == "eer":
        return eer_threshold(y_true, score)
    if method == "false_alarm":
        if rate is None:
            raise ParameterError("false_alarm threshold needs rate (a false-alarm rate in [0, 1))")
        return false_alarm_threshold(y_true, score, rate)
    raise ParameterError(f"method={method!r} is not known; choose one of: {', '.join(METHODS)}")
