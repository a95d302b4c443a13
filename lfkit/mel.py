"""The spectrogram-to-spectrogram stages of the front end and their fixed maps.

FFT bin frequencies, the mel scale, the mel filterbank, the Hann window and
the DCT-II (cached, returned read-only, so a batch of 2,000 clips builds them
once), and the stages that act on a power spectrogram: :func:`power_to_db`,
:func:`pcen`, :func:`mfcc`, :func:`normalize`. The numbers match librosa's
defaults (Slaney mel scale, ``htk=False``, ``norm='slaney'``; DCT-II with
``norm='ortho'``). Imports numpy only; :mod:`lfkit.features` re-exports the
public names and joins the stages into whole front ends.
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
    "dct_matrix",
    "hann_window",
    "power_to_db",
    "pcen",
    "mfcc",
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
    window : np.ndarray, shape (n_fft,), float64, read-only
    """
    n_fft = check_positive_int("n_fft", n_fft)
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)
    w.flags.writeable = False
    return w


# ---------------------------------------------------------------- dB, PCEN, MFCC, norm


def _db(S: np.ndarray, ref_value: float, amin: float, top_db, axes) -> np.ndarray:
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
    return _db(S, ref_value, amin, top_db, axes=None)


def _pcen_b(sr: float, hop_length: int, time_constant: float) -> float:
    t_frames = time_constant * sr / float(hop_length)
    return (math.sqrt(1 + 4 * t_frames**2) - 1) / (2 * t_frames**2)


def _pcen_core(S, b, gain, bias, power, eps, time_axis: int) -> np.ndarray:
    # First-order IIR smoother M[t] = b S[t] + (1 - b) M[t-1] along time, with
    # librosa's initial state lfilter_zi([b], [1, b - 1]) = 1 - b, i.e. M[-1] = 1.
    St = np.moveaxis(S, time_axis, 0)
    M = np.empty_like(St)
    prev = np.ones(St.shape[1:], dtype=St.dtype)
    for t in range(St.shape[0]):
        prev = b * St[t] + (1.0 - b) * prev
        M[t] = prev
    M = np.moveaxis(M, 0, time_axis)
    smooth = np.exp(-gain * (np.log(eps) + np.log1p(M / eps)))
    if power == 0:
        return np.log1p(S * smooth)
    if bias == 0:
        return np.exp(power * (np.log(S) + np.log(smooth)))
    return (bias**power) * np.expm1(power * np.log1p(S * smooth / bias))


def pcen(
    S,
    sr: float,
    hop_length: int,
    gain: float = 0.98,
    bias: float = 2.0,
    power: float = 0.5,
    time_constant: float = 0.4,
    eps: float = 1e-6,
) -> np.ndarray:
    """Per-channel energy normalisation, identical to ``librosa.pcen`` defaults.

    ``(S / (eps + M)**gain + bias)**power - bias**power`` with ``M`` a
    first-order IIR smoothing of ``S`` along time whose coefficient ``b`` follows
    from ``time_constant`` as in librosa, and whose initial state is librosa's
    ``scipy.signal.lfilter_zi`` (the smoother starts as if it had seen ones).

    Parameters
    ----------
    S : np.ndarray, shape (..., n_freq, n_frames)
        Non-negative (mel) power; librosa scales [-1, 1] audio's power by ``2**31`` first.
    sr : float
        Sample rate in Hz.
    hop_length : int
        Samples between frames.
    gain, bias, power, eps : float
        librosa's parameters, ``gain, bias, power >= 0``, ``eps > 0``.
    time_constant : float
        Smoother time constant in seconds, > 0.

    Returns
    -------
    P : np.ndarray, same shape as ``S``, float32 for float32 input else float64
    """
    hop_length = check_positive_int("hop_length", hop_length)
    for name, value in (("gain", gain), ("bias", bias), ("power", power)):
        if not value >= 0:
            raise ParameterError(f"{name}={value!r} must be non-negative")
    for name, value in (("eps", eps), ("time_constant", time_constant), ("sr", sr)):
        if not value > 0:
            raise ParameterError(f"{name}={value!r} must be strictly positive")
    S = np.asarray(S)
    if S.dtype != np.float32:
        S = S.astype(np.float64, copy=False)
    if S.ndim < 2 or S.shape[-1] == 0:
        raise DataError(f"S must have shape (..., n_freq, n_frames), got shape {S.shape}")
    return _pcen_core(S, _pcen_b(sr, hop_length, time_constant), gain, bias, power, eps, -1)


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
