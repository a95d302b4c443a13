"""The DCT-II and MFCCs of a log-mel spectrogram, identical to librosa's (``norm='ortho'``).

Imports numpy only.
"""

from __future__ import annotations

import functools

import numpy as np

from lfkit.errors import DataError, ParameterError, check_positive_int

__all__ = ["dct_matrix", "mfcc"]


@functools.lru_cache(maxsize=16)
def dct_matrix(n_mfcc: int, n_mels: int) -> np.ndarray:
    """Orthonormal DCT-II matrix, first ``n_mfcc`` rows (``scipy.fft.dct(norm='ortho')``).

    Parameters
    ----------
    n_mfcc : int
        Coefficients kept, at most ``n_mels``.
    n_mels : int
        Length of the transformed axis.

    Returns
    -------
    D : np.ndarray, shape (n_mfcc, n_mels), float64, read-only
        ``D @ S_db`` transforms a (n_mels, n_frames) array along frequency.
    """
    n_mfcc = check_positive_int("n_mfcc", n_mfcc)
    n_mels = check_positive_int("n_mels", n_mels)
    if n_mfcc > n_mels:
        raise ParameterError(f"n_mfcc={n_mfcc} must be <= n_mels={n_mels}")
    k = np.arange(n_mfcc)[:, None]
    n = np.arange(n_mels)[None, :]
    D = np.sqrt(2.0 / n_mels) * np.cos(np.pi * k * (2 * n + 1) / (2 * n_mels))
    D[0] /= np.sqrt(2.0)
    D.flags.writeable = False
    return D


def mfcc(S_db, n_mfcc: int = 20) -> np.ndarray:
    """MFCCs of a log-mel spectrogram: orthonormal DCT-II along frequency.

    Same as ``librosa.feature.mfcc(S=S_db, n_mfcc=n_mfcc)`` (``dct_type=2``,
    ``norm='ortho'``, ``lifter=0``).

    Parameters
    ----------
    S_db : np.ndarray, shape (..., n_mels, n_frames)
        Log-mel power in dB, e.g. ``power_to_db(mel)``.
    n_mfcc : int
        Coefficients kept, at most ``n_mels``.

    Returns
    -------
    C : np.ndarray, shape (..., n_mfcc, n_frames), float32 for float32 input else float64
    """
    S_db = np.asarray(S_db)
    if S_db.ndim < 2:
        raise DataError(f"S_db must have shape (..., n_mels, n_frames), got shape {S_db.shape}")
    D = dct_matrix(n_mfcc, S_db.shape[-2])
    if S_db.dtype == np.float32:
        D = D.astype(np.float32)
    return D @ S_db
