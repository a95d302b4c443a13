"""Joint scores that cannot lose to their classical half: a learned part beside a classical part.

Both regimes with little data join what a network learned with the classical
statistic a narrowband detector uses, the clip's **time-averaged spectrum,
whitened** (per-clip standardised, minus its running median over frequency:
the noise floor, so coloured noise and gain drop out), and let held-out data
decide how much each counts:

* one-class (:class:`ClassicalFeatures`, :func:`robust_scale`,
  :func:`choose_weight`): one detector on the learned embedding and one on
  the whitened spectrum reduced by PCA (fit on the training positives; the
  PCA residual is kept as one more feature, so a line the positives never
  had still counts). Each detector's score is put on a common scale by the
  training positives' own scores (median 0, robust spread 1) and the joint
  score is ``(1 - w) * classical + w * learned``;
* siamese (:func:`classical_embedding`, :func:`join_embeddings`): the
  embedding is ``[sqrt(w) * learned, sqrt(1 - w) * classical]`` (both unit
  length, so squared distances add with weights ``w`` and ``1 - w``).

``w`` is picked from :data:`WEIGHTS` on held-out data: for one-class,
held-out positives against fresh surrogate clips; for siamese, the
validation identities. ``w = 0`` is the classical half alone, so when the
learned part carries nothing the joint score *is* the classical one; among
equally good weights the smallest is kept (the learned part has to earn its
weight on data it never saw).
"""

from __future__ import annotations

import numpy as np

from lfkit.errors import DataError

__all__ = ["WEIGHTS", "whitened_mean_spectrum", "ClassicalFeatures", "robust_scale", "choose_weight",
           "JointOneClass", "fit_oneclass_joint", "classical_embedding", "join_embeddings"]

#: Weights of the learned part tried on held-out data.
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Running-median window over frequency (bins) of the whitening.
FLOOR_BINS = 31
#: dB per standard unit when a standardised log spectrogram is averaged as power.
POWER_DB = 3.0
#: Most PCA components of the one-class classical part.
PCA_COMPONENTS = 32
#: The classical part is reduced by PCA only with more frequency rows than this.
PCA_ABOVE = 128


def whitened_mean_spectrum(X) -> np.ndarray:
    """Time-averaged spectrum, in dB, minus its running median over frequency.

    Each clip is standardised, then averaged over time as power,
    ``10 * log10(mean_t 10 ** (POWER_DB * x / 10))``: a standardised log
    spectrogram is dB over its spread, and averaging power rather than dB
    keeps the integration gain of a steady line (on lfkit's siamese
    benchmark this matches the linear-power nearest-centroid baseline, where
    the mean of the dB values lost 0.02-0.07 top-1).

    Parameters
    ----------
    X : np.ndarray, shape (n_clips, n_freq, n_frames)
        Spectrograms as the model sees them (per clip standardised here).

    Returns
    -------
    np.ndarray, shape (n_clips, n_freq), float64
    """
    import scipy.ndimage

    X = np.asarray(X, dtype=np.float64)
    X = (X - X.mean(axis=(1, 2), keepdims=True)) / np.maximum(X.std(axis=(1, 2), keepdims=True), 1e-8)
    m = 10.0 * np.log10(np.mean(10.0 ** (np.minimum(X, 30.0) * POWER_DB / 10.0), axis=2))
    size = min(FLOOR_BINS, m.shape[1] - (1 - m.shape[1] % 2))
    return m - scipy.ndimage.median_filter(m, size=(1, max(1, size)), mode="nearest")


def pca_from_state(state: dict) -> tuple[np.ndarray, np.ndarray]:
    """``state["mean"]`` and ``state["components"]`` as float64 arrays, checked to fit each other.

    Raises
    ------
    KeyError, TypeError, ValueError
        Missing or unusable fields; the caller names the model part that is damaged.
    """
    mean = np.asarray(state["mean"], dtype=np.float64)
    components = np.asarray(state["components"], dtype=np.float64)
    if components.ndim != 2 or components.shape[1] != mean.size:
        raise ValueError("PCA components do not fit the mean")
    return mean, components


class ClassicalFeatures:
    """The whitened time-averaged spectrum; on wide front ends reduced by PCA of the training positives.

    With at most :data:`PCA_ABOVE` frequency rows the features are the
    whitened spectrum itself (a 93-row band loses 0.03-0.08 AUC at -35 dB to
    any reduction, on lfkit's generator). Above, they are ``k`` component
    scores (``k = min(32, n_clips - 1)``) and ``log`` of the distance from the
    positives' PCA subspace, so a line the positives never had still counts.
    """

    def fit(self, X) -> "ClassicalFeatures":
        F = whitened_mean_spectrum(X)
        self.mean_ = F.mean(axis=0)
        k = max(1, min(PCA_COMPONENTS, len(F) - 1, F.shape[1]))
        if F.shape[1] <= PCA_ABOVE:
            self.components_ = np.zeros((0, F.shape[1]))
        else:
            _, _, vt = np.linalg.svd(F - self.mean_, full_matrices=False)
            self.components_ = vt[:k]
        return self

    def transform(self, X) -> np.ndarray:
        """Features, shape (n_clips, n_freq) or (n_clips, k + 1), float64."""
        F = whitened_mean_spectrum(X)
        if F.shape[1] != self.mean_.size:
            raise DataError(f"classical features need {self.mean_.size} frequency rows, got {F.shape[1]}")
        if not len(self.components_):
            return F
        D = F - self.mean_
        C = D @ self.components_.T
        r = np.linalg.norm(D - C @ self.components_, axis=1)
        return np.c_[C, np.log(r + 1e-6)]

    def to_state(self) -> dict:
        return {"mean": self.mean_.copy(), "components": self.components_.copy()}

    @classmethod
    def from_state(cls, state: dict) -> "ClassicalFeatures":
        try:
            out = cls()
            mean, out.components_ = pca_from_state(state)
            out.mean_ = mean.ravel()
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"classical part of the joint model is damaged ({exc})") from None
        return out


def robust_scale(train_scores) -> tuple:
    """``(centre, spread)`` of the training positives' scores: median and MAD (x 1.4826), spread > 0."""
    s = np.asarray(train_scores, dtype=np.float64)
    centre = float(np.median(s))
    spread = float(1.4826 * np.median(np.abs(s - centre)))
    if not spread > 0:
        spread = float(s.std()) or 1.0
    return centre, spread


def choose_weight(parts_pos, parts_neg, weights=WEIGHTS):
    """The weight of the learned part that best separates held-out positives from negatives.

    Parameters
    ----------
    parts_pos, parts_neg : (np.ndarray, np.ndarray)
        ``(classical, learned)`` scaled scores of held-out positives and of
        negatives, each shape (n,).

    Returns
    -------
    w : float
    aucs : dict
        ``{w: AUC}`` for every weight tried.
    """
    from lfkit.metrics import roc_auc

    y = np.r_[np.ones(len(parts_pos[0]), int), np.zeros(len(parts_neg[0]), int)]
    c = np.r_[parts_pos[0], parts_neg[0]]
    g = np.r_[parts_pos[1], parts_neg[1]]
    aucs = {float(w): float(roc_auc(y, (1.0 - w) * c + w * g)) for w in weights}
    top = max(aucs.values())
    best = min((w for w, a in aucs.items() if a >= top - 1e-12), key=lambda w: w)
    return best, aucs


class JointOneClass:
    """The one-class joint score: ``(1 - w) * classical + w * learned``, each scaled by the training positives.

    Parameters
    ----------
    weight : float
        ``w``, the learned part's weight.
    classical : ClassicalFeatures
    detector : lfkit.detectors.Detector
        Fitted on the classical features of the positives.
    scales : sequence of 4 float
        ``(centre, spread)`` of the classical then the learned detector's
        scores on the training positives (:func:`robust_scale`).
    """

    def __init__(self, weight, classical, detector, scales, dev_auc=None):
        self.weight = float(weight)
        self.classical = classical
        self.detector = detector
        self.scales = [float(v) for v in scales]
        self.dev_auc = dict(dev_auc or {})

    def parts(self, X, learned_scores) -> tuple:
        """Scaled ``(classical, learned)`` scores of spectrograms ``X`` (n, F, T), each shape (n,)."""
        cc, sc, cl, sl = self.scales
        s_c = (self.detector.score_samples(self.classical.transform(X)) - cc) / sc
        s_l = (np.asarray(learned_scores, dtype=np.float64) - cl) / sl
        return s_c, s_l

    def score(self, X, learned_scores) -> np.ndarray:
        """Joint scores, shape (n,): higher = more like the target."""
        s_c, s_l = self.parts(X, learned_scores)
        return (1.0 - self.weight) * s_c + self.weight * s_l

    def to_state(self) -> dict:
        return {"weight": self.weight, "classical": self.classical.to_state(), "detector": self.detector.to_state(),
                "scales": list(self.scales), "dev_auc": {str(k): float(v) for k, v in self.dev_auc.items()}}

    @classmethod
    def from_state(cls, state: dict) -> "JointOneClass":
        from lfkit.detectors import Detector

        try:
            w = float(state["weight"])
            scales = [float(v) for v in state["scales"]]
            if not (0.0 <= w <= 1.0 and len(scales) == 4 and all(np.isfinite(scales)) and scales[1] > 0 < scales[3]):
                raise ValueError(f"weight={w!r}, scales={scales!r}")
            return cls(w, ClassicalFeatures.from_state(state["classical"]), Detector.from_state(state["detector"]),
                       scales, state.get("dev_auc"))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"joint part of the model is damaged ({exc})") from None


def fit_oneclass_joint(embed, build_detector, X_fit, X_dev, X_neg, X_all, learned_detector):
    """Fit the classical part and pick the learned part's weight on held-out data.

    Parameters
    ----------
    embed : callable
        Spectrograms (n, F, T) -> learned features (n, D).
    build_detector : callable
        Returns a new unfitted detector (the same kind for both parts).
    X_fit : np.ndarray, shape (n_fit, F, T)
        Positives the extractor trained on; both parts' detectors are fitted
        on them to score the held-out data.
    X_dev : np.ndarray, shape (n_dev, F, T), or None
        Held-out positives.
    X_neg : np.ndarray, shape (n_neg, F, T), or None
        Held-out negatives (fresh surrogate clips). Without both, ``w = 0.5``.
    X_all : np.ndarray, shape (n_pos, F, T)
        Every positive: the final parts are fitted on them.
    learned_detector : lfkit.detectors.Detector
        The learned part's detector, already fitted on ``embed(X_all)``.

    Returns
    -------
    JointOneClass
    """
    w, aucs = 0.5, {}
    if X_dev is not None and X_neg is not None and len(X_dev) >= 2 and len(X_neg) >= 2:
        cf = ClassicalFeatures().fit(X_fit)
        scaled = []
        for f in (cf.transform, embed):
            det = build_detector().fit(f(X_fit))
            c, s = robust_scale(det.score_samples(f(X_fit)))
            scaled.append(((det.score_samples(f(X_dev)) - c) / s, (det.score_samples(f(X_neg)) - c) / s))
        w, aucs = choose_weight((scaled[0][0], scaled[1][0]), (scaled[0][1], scaled[1][1]))
    classical = ClassicalFeatures().fit(X_all)
    det_c = build_detector().fit(classical.transform(X_all))
    scales = [*robust_scale(det_c.score_samples(classical.transform(X_all))),
              *robust_scale(learned_detector.score_samples(embed(X_all)))]
    return JointOneClass(w, classical, det_c, scales, aucs)


def classical_embedding(X) -> np.ndarray:
    """The whitened time-averaged spectrum at unit length: shape (n_clips, n_freq), float32."""
    F = whitened_mean_spectrum(X)
    return (F / np.maximum(np.linalg.norm(F, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def join_embeddings(E_learned, E_classical, weight: float) -> np.ndarray:
    """``[sqrt(w) * learned, sqrt(1 - w) * classical]`` of unit-length rows: shape (n, D1 + D2), float32."""
    E1 = np.asarray(E_learned, dtype=np.float64)
    E1 = E1 / np.maximum(np.linalg.norm(E1, axis=1, keepdims=True), 1e-12)
    E2 = np.asarray(E_classical, dtype=np.float64)
    return np.c_[np.sqrt(weight) * E1, np.sqrt(1.0 - weight) * E2].astype(np.float32)
