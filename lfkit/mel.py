"""Frequency axes and fixed linear maps of the front end: FFT bins, the mel scale,
the mel filterbank and the DCT-II used by MFCCs.

Everything here is a pure function of its parameters; the matrices are cached
and returned read-only, so a batch of 2,000 clips builds them once. The
numbers match librosa's defaults (Slaney mel scale, ``htk=False``,
``norm='slaney'``; DCT-II with ``norm='ortho'``). Imports numpy only.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from lfkit.errors import ParameterError, check_positive_int

__all__ = [
    "fft_frequencies",
    "hz_to_mel",
    "mel_to_hz",
    "mel_frequencies",
    "mel_filterbank",
    "dct_matrix",
    "hann_window",
]

# Slaney's auditory toolbox mel scale: linear below 1 kHz, logarithmic above.
_F_SP = 200.0 / 3  # Hz per mel in the linear part
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # 15 mel
_LOGSTEP = math.log(6.4) / 27.0


def _check_sr(sr) -> float:
    if isinstance(sr, bool) or not isinstance(sr, (int, float, np.integer, np.floating)) or not sr > 0:
        raise ParameterError(f"sr={sr!r} must be a positive sample rate in Hz")
    return float(sr)


def fft_frequencies(sr: float, n_fft: int) -> np.ndarray:
    """Centre frequency of each rFFT bin, like ``librosa.fft_frequencies``.

    Parameters
    ----------
    sr : float
        Sample rate in Hz.
    n_fft : int
        FFT length in samples.

    Returns
    -------
    freqs : np.ndarray, shape (1 + n_fft // 2,), float64
        Frequencies in Hz, ``k * sr / n_fft``.
    """
    sr = _check_sr(sr)
    n_fft = check_positive_int("n_fft", n_fft)
    return np.fft.rfftfreq(n=n_fft, d=1.0 / sr)


def hz_to_mel(frequencies_hz) -> np.ndarray:
    """Hz to mel on the Slaney scale (``librosa.hz_to_mel(htk=False)``).

    Parameters
    ----------
    frequencies_hz : float or np.ndarray
        Frequencies in Hz.

    Returns
    -------
    mels : np.ndarray, same shape as the input
    """
    f = np.asanyarray(frequencies_hz, dtype=np.float64)
    mels = f / _F_SP
    log_part = f >= _MIN_LOG_HZ
    with np.errstate(divide="ignore"):
        log_mels = _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(log_part, log_mels, mels)


def mel_to_hz(mels) -> np.ndarray:
    """Mel (Slaney scale) to Hz, the inverse of :func:`hz_to_mel`.

    Parameters
    ----------
    mels : float or np.ndarray
        Mel values.

    Returns
    -------
    frequencies_hz : np.ndarray, same shape as the input
    """
    m = np.asanyarray(mels, dtype=np.float64)
    freqs = _F_SP * m
    log_part = m >= _MIN_LOG_MEL
    log_freqs = _MIN_LOG_HZ * np.exp(_LOGSTEP * (np.maximum(m, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(log_part, log_freqs, freqs)


def mel_frequencies(n_mels: int = 128, fmin: float = 0.0, fmax: float = 11025.0) -> np.ndarray:
    """``n_mels`` frequencies evenly spaced on the mel scale, like ``librosa.mel_frequencies``.

    Parameters
    ----------
    n_mels : int
        Number of frequencies.
    fmin, fmax : float
        Lowest and highest frequency in Hz (both included).

    Returns
    -------
    freqs : np.ndarray, shape (n_mels,), float64
        Frequencies in Hz.
    """
    n_mels = check_positive_int("n_mels", n_mels)
    mels = np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels)
    return mel_to_hz(mels)


def mel_filterbank(
    sr: float, n_fft: int, n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """Triangular mel filters, identical to ``librosa.filters.mel`` defaults.

    Slaney mel scale (``htk=False``) and Slaney area normalisation
    (``norm='slaney'``). Filters that fall between two FFT bins are all zero
    (librosa warns about them; this function does not).

    Parameters
    ----------
    sr : float
        Sample rate in Hz.
    n_fft : int
        FFT length in samples.
    n_mels : int
        Number of mel bands.
    fmin, fmax : float
        Band covered by the filters, in Hz. ``fmax=None`` means ``sr / 2``.

    Returns
    -------
    weights : np.ndarray, shape (n_mels, 1 + n_fft // 2), float32, read-only
        Cached: the same parameters return the same array. Use
        ``weights @ S`` on a power spectrogram ``S`` of shape
        (1 + n_fft // 2, n_frames).
    """
    sr = _check_sr(sr)
    n_fft = check_positive_int("n_fft", n_fft)
    n_mels = check_positive_int("n_mels", n_mels)
    fmax = sr / 2.0 if fmax is None else float(fmax)
    fmin = float(fmin)
    if fmin < 0:
        raise ParameterError(f"fmin={fmin!r} must be >= 0 Hz")
    if fmax <= fmin:
        raise ParameterError(f"fmax={fmax!r} must be greater than fmin={fmin!r}")
    return _mel_filterbank(sr, n_fft, n_mels, fmin, fmax)


@functools.lru_cache(maxsize=32)
def _mel_filterbank(sr: float, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    # Same rounding order as librosa: float32 triangles, then the float64 area scale.
    weights = np.maximum(0, np.minimum(lower, upper)).astype(np.float32)
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    weights.flags.writeable = False
    return weights


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


@functools.lru_cache(maxsize=16)
def hann_window(n_fft: int) -> np.ndarray:
    """Periodic Hann window, as ``scipy.signal.get_window('hann', n_fft, fftbins=True)``.

    Parameters
    ----------
    n_fft : int
        Window length in samples.

    Returns
    -------
    window : np.ndarray, shape (n_fft,), float32, read-only
    """
    n_fft = check_positive_int("n_fft", n_fft)
    w = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    w.flags.writeable = False
    return w
