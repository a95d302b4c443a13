"""Simple baselines every lfkit regime is measured against, computed apart from lfkit.

They use numpy, scipy, scikit-learn and librosa's mel filter bank only (no
``lfkit`` import), so a change of lfkit's front end or models never moves the
yardstick.

* features: the time-averaged log spectrum, the time-averaged log-mel
  spectrum, and the noise-floor-whitened mean spectrum (time-averaged power
  over its running median along frequency, in dB);
* binary: ridge classifier and logistic regression on standardised features,
  alpha / C picked by cross-validation on the training set only;
* one-class: PCA novelty (reconstruction error of the positives' principal
  subspace, sign flipped so that higher = more like the target);
* few-shot identification: nearest enrolled centroid (Euclidean).

Every score follows lfkit's sign: higher = more like the target.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = [
    "read_mono",
    "power_spectrogram",
    "mean_log_spectrum",
    "mean_logmel",
    "whitened_mean_spectrum",
    "ridge_scores",
    "logistic_scores",
    "pca_novelty_scores",
    "nearest_centroid",
    "auc",
]

#: Regularisation grids searched by cross-validation on the training set.
ALPHAS = tuple(10.0 ** np.arange(-3, 5))
CS = tuple(10.0 ** np.arange(-4, 3))


def read_mono(path, sr: int) -> np.ndarray:
    """A clip as mono float64 at ``sr`` Hz (channels averaged, polyphase resampling).

    Returns
    -------
    np.ndarray, shape (n_samples,)
    """
    import soundfile as sf
    from scipy.signal import resample_poly

    y, file_sr = sf.read(str(path), dtype="float64", always_2d=True)
    y = y.mean(axis=1)
    if file_sr != sr:
        g = np.gcd(int(file_sr), int(sr))
        y = resample_poly(y, sr // g, file_sr // g)
    return y


def power_spectrogram(y: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """Hann-windowed power spectrogram, frames not centred.

    Returns
    -------
    np.ndarray, shape (n_fft // 2 + 1, 1 + (len(y) - n_fft) // hop_length)
    """
    n_frames = 1 + (len(y) - n_fft) // hop_length
    if n_frames < 1:
        raise ValueError(f"clip of {len(y)} samples is shorter than n_fft={n_fft}")
    idx = np.arange(n_fft)[None, :] + hop_length * np.arange(n_frames)[:, None]
    frames = y[idx] * np.hanning(n_fft + 1)[:-1]
    return (np.abs(np.fft.rfft(frames, axis=1)) ** 2).T


def _band(n_fft: int, sr: int, fmin: float, fmax: float | None) -> np.ndarray:
    f = np.fft.rfftfreq(n_fft, 1.0 / sr)
    return (f >= fmin) & (f <= (sr / 2 if fmax is None else fmax))


def mean_log_spectrum(Y, sr: int, n_fft: int = 2048, hop_length: int = 512, fmin: float = 0.0,
                      fmax: float | None = None) -> np.ndarray:
    """Time average of the log power spectrum (dB) in [fmin, fmax] Hz.

    Parameters
    ----------
    Y : sequence of np.ndarray, each shape (n_samples,)
        Clips at ``sr`` Hz.

    Returns
    -------
    np.ndarray, shape (n_clips, n_bins)
    """
    keep = _band(n_fft, sr, fmin, fmax)
    return np.stack([(10 * np.log10(power_spectrogram(y, n_fft, hop_length)[keep] + 1e-12)).mean(1) for y in Y])


def mean_logmel(Y, sr: int, n_fft: int = 2048, hop_length: int = 512, n_mels: int = 64, fmin: float = 0.0,
                fmax: float | None = None) -> np.ndarray:
    """Time average of the log-mel spectrum (dB; librosa's Slaney mel filters).

    Returns
    -------
    np.ndarray, shape (n_clips, n_mels)
    """
    import librosa

    M = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    return np.stack([(10 * np.log10(M @ power_spectrogram(y, n_fft, hop_length) + 1e-12)).mean(1) for y in Y])


def whitened_mean_spectrum(Y, sr: int, n_fft: int = 4096, hop_length: int = 1024, fmin: float = 0.0,
                           fmax: float | None = None, floor_bins: int = 31) -> np.ndarray:
    """Time-averaged power over its running median along frequency, in dB.

    The median (``floor_bins`` wide) is the noise floor of each frequency, so
    coloured noise becomes flat and a narrowband line stands out by its
    height above the local floor.

    Returns
    -------
    np.ndarray, shape (n_clips, n_bins)
    """
    from scipy.ndimage import median_filter

    keep = _band(n_fft, sr, fmin, fmax)
    P = np.stack([power_spectrogram(y, n_fft, hop_length).mean(1) for y in Y])
    floor = median_filter(P, size=(1, floor_bins), mode="reflect")
    return (10 * np.log10(np.maximum(P, 1e-30) / np.maximum(floor, 1e-30)))[:, keep]


def _standardise(X_train, X_test):
    mu, sd = X_train.mean(0), X_train.std(0) + 1e-9
    return (X_train - mu) / sd, (X_test - mu) / sd


def ridge_scores(X_train, y_train, X_test, seed: int = 0) -> tuple:
    """Ridge classifier, alpha by 5-fold cross-validation on the training set.

    Parameters
    ----------
    y_train : array of 0/1, shape (n_train,)

    Returns
    -------
    scores : np.ndarray, shape (n_test,)
        Decision values, higher = positive.
    alpha : float
    """
    from sklearn.linear_model import RidgeClassifier
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    A, B = _standardise(np.asarray(X_train, float), np.asarray(X_test, float))
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    g = GridSearchCV(RidgeClassifier(), {"alpha": list(ALPHAS)}, cv=cv, scoring="roc_auc").fit(A, y_train)
    return g.decision_function(B), float(g.best_params_["alpha"])


def logistic_scores(X_train, y_train, X_test, seed: int = 0) -> tuple:
    """L2 logistic regression, C by 5-fold cross-validation on the training set.

    Returns
    -------
    scores : np.ndarray, shape (n_test,)
        Log-odds, higher = positive.
    C : float
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    A, B = _standardise(np.asarray(X_train, float), np.asarray(X_test, float))
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    g = GridSearchCV(LogisticRegression(max_iter=2000), {"C": list(CS)}, cv=cv, scoring="roc_auc").fit(A, y_train)
    return g.decision_function(B), float(g.best_params_["C"])


def pca_novelty_scores(X_pos, X_test, variance: float = 0.9) -> tuple:
    """Minus the reconstruction error of ``X_test`` in the positives' principal subspace.

    With positives only there is nothing to cross-validate against, so the
    subspace keeps the components that explain ``variance`` of the positives'
    (standardised) variance.

    Returns
    -------
    scores : np.ndarray, shape (n_test,)
        Higher = closer to the positives' subspace.
    n_components : int
    """
    from sklearn.decomposition import PCA

    A, B = _standardise(np.asarray(X_pos, float), np.asarray(X_test, float))
    p = PCA(n_components=variance, svd_solver="full").fit(A)
    R = B - p.inverse_transform(p.transform(B))
    return -np.sum(R**2, axis=1), int(p.n_components_)


def nearest_centroid(E_enroll, y_enroll, E_test) -> list:
    """The enrolled identity whose mean feature is nearest (Euclidean) to each test row.

    Returns
    -------
    list of str, length n_test
    """
    names = sorted(set(y_enroll))
    y = np.asarray(y_enroll)
    C = np.stack([np.asarray(E_enroll)[y == n].mean(0) for n in names])
    d = np.linalg.norm(np.asarray(E_test)[:, None, :] - C[None], axis=2)
    return [names[i] for i in d.argmin(1)]


def auc(y_true, scores) -> float:
    """Area under the ROC curve (scikit-learn), ``y_true`` 0/1."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.asarray(y_true), np.asarray(scores)))


def read_labels(folder) -> list:
    """The rows of a dataset's ``labels.csv``, with ``file`` the clip's full path."""
    import csv

    folder = Path(folder)
    with open(folder / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["file"] = str(folder / r["path"])
    return rows
