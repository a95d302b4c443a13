"""The statistics the front-end selection rests on: per-bin F statistic, class band, linear probe.

Pure numpy, arrays in and out (:mod:`lfkit.autofront` joins them into a choice).
"""

from __future__ import annotations

import numpy as np

from lfkit.errors import DataError

__all__ = ["f_statistic", "class_band", "probe_score", "auc_standard_error", "N_FOLDS", "N_PERMUTATIONS", "PROBE_FEATURES",
           "MIN_PROBE_FEATURES"]

#: Most and fewest features the probe keeps per class contrast (see :func:`probe_score`).
PROBE_FEATURES, MIN_PROBE_FEATURES = 32, 4
#: Most folds of the probe's cross-validation.
N_FOLDS = 5
#: Label shuffles for the null of the per-bin statistic.
N_PERMUTATIONS = 19


def f_statistic(F: np.ndarray, y: np.ndarray) -> np.ndarray:
    """One-way ANOVA F statistic per column (two classes: the squared t statistic).

    Parameters
    ----------
    F : np.ndarray, shape (n_clips, n_features)
    y : np.ndarray of int, shape (n_clips,)
        Class index per clip, at least two classes.

    Returns
    -------
    np.ndarray, shape (n_features,), float64
        Between-class over within-class mean square; 0 where nothing varies.
    """
    F = np.asarray(F, dtype=np.float64)
    classes, yi = np.unique(y, return_inverse=True)
    k, n = len(classes), len(y)
    onehot = (yi[:, None] == np.arange(k)[None]).astype(np.float64)
    counts = onehot.sum(axis=0)
    means = (onehot.T @ F) / counts[:, None]
    grand = F.mean(axis=0)
    ssb = (counts[:, None] * (means - grand) ** 2).sum(axis=0)
    ssw = ((F - means[yi]) ** 2).sum(axis=0)
    msw = ssw / max(n - k, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (ssb / max(k - 1, 1)) / msw
    return np.where(msw > 0, out, 0.0)


def class_band(F: np.ndarray, y: np.ndarray, freqs_hz: np.ndarray, seed: int = 0):
    """The band where the classes differ, from time-averaged spectra.

    A bin differs when its F statistic (:func:`f_statistic`) exceeds the
    largest F statistic over all bins under each of :data:`N_PERMUTATIONS`
    shuffles of the labels (a family-wise test at 1/20). The band runs
    from the lowest to the highest such bin, widened by a tenth of its width
    and at least 3 bins each side.

    Parameters
    ----------
    F : np.ndarray, shape (n_clips, n_freq)
        Time-averaged spectrum per clip (dB).
    y : np.ndarray of int, shape (n_clips,)
    freqs_hz : np.ndarray, shape (n_freq,)
        Frequency of each column, Hz, increasing.
    seed : int

    Returns
    -------
    (fmin, fmax) in Hz, or None when no bin differs.
    """
    stat = f_statistic(F, y)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xBA2D]))
    null = max(f_statistic(F, rng.permutation(y)).max() for _ in range(N_PERMUTATIONS))
    sig = np.flatnonzero(stat > null)
    if sig.size == 0:
        return None
    df = float(freqs_hz[1] - freqs_hz[0]) if len(freqs_hz) > 1 else 1.0
    lo, hi = float(freqs_hz[sig[0]]), float(freqs_hz[sig[-1]])
    pad = max(3 * df, 0.1 * (hi - lo))
    return max(float(freqs_hz[0]), lo - pad), min(float(freqs_hz[-1]), hi + pad)


def _folds(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold index per clip, stratified by class."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xF01D]))
    fold = np.empty(len(y), dtype=int)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        fold[rng.permutation(idx)] = np.arange(len(idx)) % k
    return fold


def _auc(y01: np.ndarray, s: np.ndarray) -> float:
    from lfkit.metrics import roc_auc

    v = roc_auc(y01, s)
    return 0.5 if v is None else float(v)


def probe_score(F: np.ndarray, y: np.ndarray, seed: int = 0, n_folds: int = N_FOLDS) -> float:
    """Cross-validated AUC of a sparse ridge probe on the features.

    In each training part: keep the features whose F statistic
    (:func:`f_statistic`) beats the largest one under a shuffle of the labels
    (at least :data:`MIN_PROBE_FEATURES`, at most :data:`PROBE_FEATURES` times
    ``n_classes - 1`` and 256, the largest first), standardise them, fit
    ridge regression on one-hot targets (one column for two classes) with
    ``alpha`` = the number of features kept. Keeping a few features makes candidates of very different
    sizes (2,049 FFT bins, 64 mel bands) comparable: the probe asks how well
    the best few features of each separate the classes, as a network that
    learns to look at the right rows would.

    Parameters
    ----------
    F : np.ndarray, shape (n_clips, n_features)
    y : np.ndarray of int, shape (n_clips,)
    seed : int
    n_folds : int
        At most this many folds, and no more than the smallest class has clips.

    Returns
    -------
    float
        AUC of the held-out scores pooled over folds; the mean one-vs-rest
        AUC for more than two classes.
    """
    F = np.asarray(F, dtype=np.float64)
    classes, yi = np.unique(y, return_inverse=True)
    k = min(n_folds, int(np.bincount(yi).min()))
    if len(classes) < 2 or k < 2:
        raise DataError("the probe needs two classes with at least 2 clips each")
    T = (yi[:, None] == np.arange(len(classes))[None]).astype(float)
    if len(classes) == 2:
        T = T[:, 1:]
    m = min(F.shape[1], PROBE_FEATURES * (len(classes) - 1), 256)
    fold = _folds(yi, k, seed)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x9807]))
    scores = np.zeros_like(T)
    for f in range(k):
        tr, te = fold != f, fold == f
        stat = f_statistic(F[tr], yi[tr])
        null = f_statistic(F[tr], rng.permutation(yi[tr])).max()
        n_keep = int(np.clip((stat > null).sum(), min(MIN_PROBE_FEATURES, m), m))
        keep = np.argsort(-stat, kind="stable")[:n_keep]
        Xt, Xe = F[tr][:, keep], F[te][:, keep]
        mu, sd = Xt.mean(axis=0), Xt.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        Xt, Xe = (Xt - mu) / sd, (Xe - mu) / sd
        w = np.linalg.solve(Xt.T @ Xt + n_keep * np.eye(n_keep), Xt.T @ (T[tr] - T[tr].mean(axis=0)))
        scores[te] = Xe @ w
    if len(classes) == 2:
        return _auc(yi == 1, scores[:, 0])
    return float(np.mean([_auc(yi == c, scores[:, c]) for c in range(len(classes))]))


def auc_standard_error(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of an AUC (Hanley and McNeil, 1982, Radiology 143:29-36).

    Parameters
    ----------
    auc : float
    n_pos, n_neg : int
        Clips of each side.

    Returns
    -------
    float
        ``sqrt((A(1-A) + (n_pos-1)(Q1-A^2) + (n_neg-1)(Q2-A^2)) / (n_pos n_neg))`` with
        ``Q1 = A/(2-A)``, ``Q2 = 2A^2/(1+A)``: 0.036 at A=0.97 with 12 clips a side, 0.016 at A=0.9 with 200.
    """
    a = min(max(float(auc), 0.0), 1.0)
    q1, q2 = a / (2.0 - a), 2.0 * a * a / (1.0 + a)
    var = (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / max(n_pos * n_neg, 1)
    return float(np.sqrt(max(var, 0.0)))
