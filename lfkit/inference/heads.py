"""The numpy heads of inference: similarity, the known-tone score, the raw extractor.

Everything here runs without torch; training modules fit what these apply.
One sign throughout: a higher score means more like the target.
"""

from __future__ import annotations

import numpy as np

from lfkit.config import FrontendConfig
from lfkit.errors import DataError, check_choice
from lfkit.floor import line_strength_db

__all__ = ["SIMILARITY", "similarity", "unit_rows", "TONE_BINS", "GUARD_BINS", "knowntone_score",
           "band_frequencies", "REDUCTIONS", "PCA_COMPONENTS", "RawExtractor", "probe_logit", "fused_logit",
           "check_probe"]

#: The similarity a siamese model file declares (``extra["similarity"]``).
SIMILARITY = "1/(1+d)"


def similarity(distance) -> np.ndarray:
    """Score of a Euclidean embedding distance: ``1 / (1 + d)``, higher = more alike.

    Parameters
    ----------
    distance : array-like of float, >= 0

    Returns
    -------
    np.ndarray of float64, same shape, in (0, 1]
    """
    return 1.0 / (1.0 + np.asarray(distance, dtype=np.float64))


def unit_rows(E: np.ndarray) -> np.ndarray:
    """Rows of ``E`` (n, D) scaled to unit Euclidean length (zero rows stay zero), float32."""
    n = np.linalg.norm(E, axis=-1, keepdims=True)
    return (E / np.maximum(n, 1e-12)).astype(np.float32)


#: Bins either side of a target tone searched for its line (a line that wanders by a bin, or jitters
#: by a few Hz, is still found; 2 bins cost 0.07 AUC at -35 dB on white noise) / kept out of "elsewhere".
TONE_BINS, GUARD_BINS = 1, 3


def knowntone_score(S: np.ndarray, freqs_hz: np.ndarray, tones_hz) -> np.ndarray:
    """The known-signature score of spectrograms.

    Parameters
    ----------
    S : np.ndarray, shape (batch, n_freq, n_frames)
        Linear power.
    freqs_hz : np.ndarray, shape (n_freq,)
        Centre frequency of each row, Hz.
    tones_hz : sequence of float
        The target's tones, Hz.

    Returns
    -------
    np.ndarray, shape (batch,)
        Weakest target line minus strongest other line, dB (higher = more like the target).
    """
    R = line_strength_db(S)
    idx = [int(np.argmin(np.abs(freqs_hz - t))) for t in tones_hz]
    n = len(freqs_hz)
    target = np.stack([R[:, max(0, i - TONE_BINS) : min(n, i + TONE_BINS + 1)].max(axis=1) for i in idx], axis=1)
    mask = np.ones(n, dtype=bool)
    for i in idx:
        mask[max(0, i - GUARD_BINS) : min(n, i + GUARD_BINS + 1)] = False
    other = R[:, mask].max(axis=1) if mask.any() else np.zeros(len(R))
    return target.min(axis=1) - other


def band_frequencies(cfg: FrontendConfig, sr: int) -> np.ndarray:
    """Frequencies (Hz) of the rows a linear/log spectrogram keeps, shape (n_freq,)."""
    f = np.arange(cfg.n_fft // 2 + 1) * sr / cfg.n_fft
    fmax = sr / 2 if cfg.fmax is None else cfg.fmax
    return f[(f >= cfg.fmin) & (f <= fmax)]


#: Reductions of the ``raw`` one-class extractor.
REDUCTIONS = ("mean", "pca", "none")
#: Most PCA components kept by ``raw --reduce pca``.
PCA_COMPONENTS = 32


def _standardise_clips(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=(1, 2), keepdims=True)
    std = X.std(axis=(1, 2), keepdims=True)
    return (X - mean) / np.maximum(std, 1e-8)


class RawExtractor:
    """The spectrogram as features: per-clip standardised, then a fixed reduction.

    Parameters
    ----------
    reduce : {"mean", "pca", "none"}
        ``mean``: average over time, shape (n_freq,); ``pca``: the flattened
        spectrogram projected on the positives' first principal components;
        ``none``: flattened, (n_freq * n_frames,).
    """

    def __init__(self, reduce: str = "mean"):
        self.reduce = check_choice("reduce", reduce, REDUCTIONS)

    def fit(self, X: np.ndarray) -> "RawExtractor":
        """Fit the PCA basis on spectrograms ``X`` (n_clips, n_freq, n_frames); no-op for other reductions."""
        self.shape_ = tuple(int(v) for v in X.shape[1:])
        if self.reduce == "pca":
            F = _standardise_clips(X).reshape(len(X), -1)
            self.mean_ = F.mean(axis=0)
            k = max(1, min(PCA_COMPONENTS, len(X) - 1, F.shape[1]))
            _, _, vt = np.linalg.svd(F - self.mean_, full_matrices=False)
            self.components_ = vt[:k]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Features, shape (n_clips, D), float32."""
        if self.reduce == "mean":
            return _standardise_clips(X).mean(axis=2).astype(np.float32)
        if tuple(X.shape[1:]) != self.shape_:
            raise DataError(f"raw extractor (reduce={self.reduce}) needs spectrograms of shape {self.shape_}, "
                            f"got {tuple(X.shape[1:])}")
        F = _standardise_clips(X).reshape(len(X), -1)
        if self.reduce == "none":
            return F.astype(np.float32)
        return ((F - self.mean_) @ self.components_.T).astype(np.float32)

    def to_state(self) -> dict:
        state = {"kind": "raw", "reduce": self.reduce, "shape": list(self.shape_)}
        if self.reduce == "pca":
            state.update(mean=self.mean_, components=self.components_)
        return state

    @classmethod
    def from_state(cls, state: dict) -> "RawExtractor":
        try:
            ext = cls(state["reduce"])
            ext.shape_ = tuple(int(v) for v in state["shape"])
            if ext.reduce == "pca":
                from lfkit.joint import pca_from_state

                ext.mean_, ext.components_ = pca_from_state(state)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"raw extractor state is damaged ({exc})") from None
        return ext


#: What a binary model's ``extra["probe"]`` holds (:mod:`lfkit.fusion` fits it): arrays, then numbers.
PROBE_ARRAYS = ("mean", "scale", "coef")
PROBE_GAINS = ("intercept", "cnn_gain", "probe_gain")


def probe_logit(X: np.ndarray, probe: dict) -> np.ndarray:
    """A linear probe's logit on the time-averaged spectrogram.

    Parameters
    ----------
    X : np.ndarray, shape (n_clips, n_freq, n_frames)
    probe : dict
        ``mean``, ``scale``, ``coef`` (n_freq,) and ``intercept``.

    Returns
    -------
    np.ndarray, shape (n_clips,), float64
        ``((mean over time of X) - mean) / scale @ coef + intercept``.
    """
    F = np.asarray(X, dtype=np.float64).mean(axis=2)
    return ((F - np.asarray(probe["mean"], float)) / np.asarray(probe["scale"], float)) @ np.asarray(
        probe["coef"], float) + float(probe["intercept"])


def fused_logit(net_logit: np.ndarray, X: np.ndarray, probe: dict | None) -> np.ndarray:
    """A binary model's logit: the network's, fused with its probe's when the model has one.

    ``cnn_gain * net_logit + probe_gain * probe_logit(X)`` (see :mod:`lfkit.fusion`);
    ``net_logit`` itself, as float64, when ``probe`` is None.

    Parameters
    ----------
    net_logit : np.ndarray, shape (n_clips,)
    X : np.ndarray, shape (n_clips, n_freq, n_frames)
        The same clips' input spectrograms.
    probe : dict or None
    """
    z = np.asarray(net_logit, dtype=np.float64)
    if probe is None:
        return z
    return float(probe["cnn_gain"]) * z + float(probe["probe_gain"]) * probe_logit(X, probe)


def check_probe(probe, n_freq: int | None, name: str) -> dict | None:
    """A model file's ``extra["probe"]`` checked for shape and type (``DataError`` naming the model when damaged)."""
    if probe is None:
        return None
    try:
        arrays = [np.asarray(probe[k], dtype=np.float64) for k in PROBE_ARRAYS]
        gains = [float(probe[k]) for k in PROBE_GAINS]
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{name}: damaged binary model (extra.probe lacks its arrays or gains)") from None
    sizes = {a.shape for a in arrays}
    if len(sizes) != 1 or arrays[0].ndim != 1 or (n_freq is not None and arrays[0].shape[0] != n_freq) \
            or not all(np.isfinite(a).all() for a in arrays) or not np.isfinite(gains).all():
        raise DataError(f"{name}: damaged binary model (extra.probe does not fit the input's {n_freq} frequency rows)")
    return probe
