"""The spectrogram-to-spectrogram stages of the front end and their fixed maps.

FFT bin frequencies, the mel scale, the mel filterbank and the Hann window
(cached, returned read-only, so a batch of 2,000 clips builds them once), and
the stages that act on a power spectrogram: :func:`power_to_db` and
:func:`normalize`. PCEN is in :mod:`lfkit.pcen`, the DCT and MFCC in
:mod:`lfkit.cepstrum`. The numbers match librosa's defaults (Slaney mel scale,
``htk=False``, ``norm='slaney'``). Imports numpy only; :mod:`lfkit.features`
re-exports the public names and joins the stages into whole front ends.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from lfkit.config import NORMS
from lfkit.errors import DataError, ParameterError, check_choice, check_positive_int

__all__ = [
    "fft_frequencies",
    "hz_to_mel",
    "mel_to_hz",
    "mel_frequencies",
    "mel_filterbank",
    "hann_window",
    "power_to_db",
    "normalize",
]

#: Floor of the standard deviation in ``normalize(S, 'standard')``.
STD_FLOOR = 1e-8

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
def hann_window(n_fft: int) -> np.ndarray:
    """Periodic Hann window, as ``scipy.signal.get_window('hann', n_fft, fftbins=True)``.

    Parameters
    ----------
    n_fft : int
        Window length in samples.

    Returns
    -------
    window : np.ndarray, shape (n_fft,), float64, read-only
    """
    n_fft = check_positive_int("n_fft", n_fft)
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)
    w.flags.writeable = False
    return w


# ---------------------------------------------------------------- dB, norm


def db_scale(S: np.ndarray, ref_value: float, amin: float, top_db, axes) -> np.ndarray:
    out = np.maximum(S, np.asarray(amin, dtype=S.dtype))
    np.log10(out, out=out)
    out *= 10.0
    out -= 10.0 * np.log10(max(amin, ref_value))
    if top_db is not None:
        floor = out.max(axis=axes, keepdims=True) - top_db
        np.maximum(out, floor, out=out)
    return out


def power_to_db(S, ref=1.0, amin: float = 1e-10, top_db: float | None = 80.0) -> np.ndarray:
    """Power to decibels, identical to ``librosa.power_to_db``.

    ``10 * log10(max(amin, S)) - 10 * log10(max(amin, ref))``, then values
    more than ``top_db`` below the maximum of the whole array are raised to it
    (:func:`spectrogram_batch` applies ``top_db`` per clip instead).

    Parameters
    ----------
    S : np.ndarray, shape (..., n_freq, n_frames)
        Non-negative power.
    ref : float or callable
        Reference power (0 dB), or a function of ``S`` giving it (``np.max``).
    amin : float
        Smallest power considered, > 0.
    top_db : float or None
        Dynamic range kept in dB, >= 0; ``None`` keeps everything.

    Returns
    -------
    S_db : np.ndarray, same shape as ``S``, float32 for float32 input else float64
    """
    S = np.asarray(S)
    if S.dtype.kind == "c":
        S = np.abs(S)
    if S.dtype != np.float32:
        S = S.astype(np.float64, copy=False)
    if not amin > 0:
        raise ParameterError(f"amin={amin!r} must be strictly positive")
    if top_db is not None and top_db < 0:
        raise ParameterError(f"top_db={top_db!r} must be non-negative")
    ref_value = float(np.abs(ref(S) if callable(ref) else ref))
    return db_scale(S, ref_value, amin, top_db, axes=None)


def normalize(S, norm: str = "standard") -> np.ndarray:
    """Per-clip normalisation over the last two axes (frequency, time).

    Parameters
    ----------
    S : np.ndarray, shape (..., n_freq, n_frames)
        One clip, or a batch of clips normalised each on its own.
    norm : str
        ``none`` (returned as is) or ``standard``: zero mean, unit variance,
        with the standard deviation floored at ``STD_FLOOR`` so a constant
        clip becomes all zeros.

    Returns
    -------
    S_norm : np.ndarray, same shape as ``S``
    """
    check_choice("norm", norm, NORMS)
    S = np.asarray(S)
    if norm == "none":
        return S
    if S.ndim < 2:
        raise DataError(f"S must have shape (..., n_freq, n_frames), got shape {S.shape}")
    mean = S.mean(axis=(-2, -1), keepdims=True)
    std = S.std(axis=(-2, -1), keepdims=True)
    return (S - mean) / np.maximum(std, STD_FLOOR)
