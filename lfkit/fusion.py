"""A binary network that cannot lose to a linear probe: late fusion, weighed on the validation split.

``train-binary`` (network architectures, ``probe=True``, the default) also fits
a linear probe, logistic regression on the time-averaged input spectrogram
(what a practitioner tries first, and what the ``logreg`` baseline is), on the
same training split as the network. The model's logit is then

    logit = cnn_gain * network_logit + probe_gain * probe_logit

with ``cnn_gain = 1 - w`` and ``probe_gain = w * std(network) / std(probe)``
(standard deviations of the two logits over the validation clips, so ``w``
weighs comparable scales and ``w = 0`` is the network alone, unchanged). The
weight ``w`` is the one of :data:`WEIGHTS` whose fused score has the best AUC
on the validation split; ties go to the weight nearest an even mix (0.5),
since averaging two detectors whose errors differ is the safer guess when
the validation clips cannot tell them apart. The test set is never seen.

Fitting needs scikit-learn; applying the fused logit
(:func:`lfkit.inference.heads.fused_logit`) needs numpy only.
"""

from __future__ import annotations

import numpy as np

from lfkit.errors import DataError
from lfkit.inference.heads import probe_logit

__all__ = ["WEIGHTS", "PROBE_CS", "fit_probe", "choose_weight", "fit_fusion"]

#: Weights of the probe tried on the validation split (0: the network alone, 1: the probe alone).
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Inverse regularisation strengths the probe's cross-validation chooses from (scikit-learn's ``C``).
PROBE_CS = (0.001, 0.01, 0.1, 1.0, 10.0)


def fit_probe(X: np.ndarray, y: np.ndarray, seed: int = 0) -> dict:
    """Logistic regression on the time-averaged spectrogram, ``C`` by stratified cross-validation.

    Parameters
    ----------
    X : np.ndarray, shape (n_clips, n_freq, n_frames)
        The network's input spectrograms (the training split).
    y : np.ndarray of int, shape (n_clips,)
        1 for the target, 0 for the rest; both present.
    seed : int

    Returns
    -------
    dict
        ``mean``, ``scale`` (n_freq,) standardisation, ``coef`` (n_freq,),
        ``intercept`` and ``C``: what :func:`lfkit.inference.heads.probe_logit` applies.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    F = np.asarray(X, dtype=np.float64).mean(axis=2)
    y = np.asarray(y, dtype=int)
    n_min = int(min(y.sum(), (1 - y).sum()))
    if n_min < 1:
        raise DataError("probe: the training split needs clips of both classes")
    mean, scale = F.mean(0), F.std(0)
    scale[scale == 0] = 1.0
    Z = (F - mean) / scale

    def model(C):
        return LogisticRegression(C=C, max_iter=2000, class_weight="balanced")

    best_C = 1.0
    if n_min >= 2:
        cv = StratifiedKFold(n_splits=min(5, n_min), shuffle=True, random_state=int(seed) % (2 ** 32))
        mean_auc = [cross_val_score(model(C), Z, y, cv=cv, scoring="roc_auc").mean() for C in PROBE_CS]
        best_C = PROBE_CS[int(np.argmax(mean_auc))]  # first of the best: the strongest regularisation
    clf = model(best_C).fit(Z, y)
    return {"mean": mean, "scale": scale, "coef": clf.coef_[0].astype(np.float64),
            "intercept": float(clf.intercept_[0]), "C": float(best_C)}


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    from lfkit.metrics import roc_auc

    return float(roc_auc(y, s))


def choose_weight(z_net: np.ndarray, z_probe: np.ndarray, y: np.ndarray, weights=WEIGHTS) -> dict:
    """The probe's weight of best validation AUC (ties: nearest 0.5) and the gains that apply it.

    Parameters
    ----------
    z_net, z_probe : np.ndarray, shape (n_val,)
        The network's and the probe's logits on the validation clips.
    y : np.ndarray of int, shape (n_val,)
        Validation labels, both classes present.

    Returns
    -------
    dict
        ``weight``, ``cnn_gain``, ``probe_gain`` and ``val_auc`` (one per weight, in order).
    """
    z_net, z_probe = np.asarray(z_net, np.float64), np.asarray(z_probe, np.float64)
    s_net, s_probe = float(z_net.std()), float(z_probe.std())
    if s_net == 0 or s_probe == 0:  # a constant part ranks nothing: keep the other one
        w = 0.0 if s_net > 0 else 1.0
        ratio = 1.0
        aucs = [None] * len(weights)
    else:
        ratio = s_net / s_probe
        aucs = [_auc(y, (1 - w) * z_net + w * ratio * z_probe) for w in weights]
        best = max(aucs)
        tied = [w for w, a in zip(weights, aucs) if a >= best - 1e-12]
        w = min(tied, key=lambda v: (abs(v - 0.5), v))
    return {"weight": float(w), "cnn_gain": float(1 - w), "probe_gain": float(w * ratio),
            "val_auc": [None if a is None else round(a, 6) for a in aucs], "weights": list(weights)}


def fit_fusion(X_fit, y_fit, X_val, y_val, z_net_val, seed: int = 0) -> dict:
    """Fit the probe on the training split and weigh it against the network on the validation split.

    Parameters
    ----------
    X_fit : np.ndarray, shape (n_fit, n_freq, n_frames)
    y_fit : np.ndarray of int, shape (n_fit,)
    X_val : np.ndarray, shape (n_val, n_freq, n_frames)
    y_val : np.ndarray of int, shape (n_val,)
    z_net_val : np.ndarray, shape (n_val,)
        The trained network's logits on ``X_val``.
    seed : int

    Returns
    -------
    dict
        The probe (:func:`fit_probe`) with ``weight``, ``cnn_gain``,
        ``probe_gain`` and the validation AUC of every weight: the model
        file's ``extra["probe"]``.
    """
    probe = fit_probe(X_fit, y_fit, seed)
    z_probe = probe_logit(X_val, probe)
    return {**probe, **choose_weight(z_net_val, z_probe, y_val)}
