"""Waveform chunks and resampling: the sample-level steps before any front end.

Pure functions over numpy arrays (scipy imported only to resample). Also
reachable as ``lfkit.features.resample``, ``chunk`` and ``iter_chunks``.
"""

from __future__ import annotations

import math

import numpy as np

from lfkit.config import NOISE_KINDS
from lfkit.errors import DataError, ParameterError, check_choice, check_positive_int

__all__ = ["resample", "chunk", "iter_chunks", "colored_noise"]


def _int_rate(name: str, value) -> int:
    """A sample rate as an int (``44100.0`` is fine), or ParameterError naming ``name``."""
    if isinstance(value, (float, np.floating, np.integer)) and float(value).is_integer():
        value = int(value)
    return check_positive_int(name, value)


def resampled_length(n_samples: int, orig_sr, target_sr) -> int:
    orig_sr, target_sr = _int_rate("sr", orig_sr), _int_rate("sr", target_sr)
    g = math.gcd(orig_sr, target_sr)
    up, down = target_sr // g, orig_sr // g
    return -(-int(n_samples) * up // down)


def resample(y, orig_sr: int, target_sr: int) -> np.ndarray:
    """Polyphase resampling (``scipy.signal.resample_poly``) along the last axis.

    Parameters
    ----------
    y : np.ndarray, shape (..., n_samples)
        Audio at ``orig_sr`` Hz.
    orig_sr, target_sr : int
        Sample rates in Hz; the ratio is reduced to ``up / down`` by their gcd.

    Returns
    -------
    y_resampled : np.ndarray, shape (..., ceil(n_samples * target_sr / orig_sr))
    """
    orig_sr, target_sr = _int_rate("orig_sr", orig_sr), _int_rate("target_sr", target_sr)
    y = np.asarray(y)
    if orig_sr == target_sr:
        return y
    import scipy.signal  # lazily: importing lfkit.features stays numpy-only

    g = math.gcd(orig_sr, target_sr)
    return scipy.signal.resample_poly(y, target_sr // g, orig_sr // g, axis=-1)


def _chunk_geometry(n_samples: int, sr, chunk_s, chunk_hop_s):
    if not sr > 0:
        raise ParameterError(f"sr={sr!r} must be a positive sample rate in Hz")
    if not chunk_s > 0:
        raise ParameterError(f"chunk_s={chunk_s!r} must be a positive number of seconds")
    chunk_hop_s = chunk_s if chunk_hop_s is None else chunk_hop_s
    if not chunk_hop_s > 0:
        raise ParameterError(f"chunk_hop_s={chunk_hop_s!r} must be a positive number of seconds")
    n_chunk = int(round(chunk_s * sr))
    n_hop = int(round(chunk_hop_s * sr))
    if n_chunk < 1 or n_hop < 1:
        raise ParameterError(f"chunk_s={chunk_s!r} and chunk_hop_s={chunk_hop_s!r} must span >= 1 sample at sr={sr}")
    if n_samples < n_chunk:
        raise DataError(
            f"recording has {n_samples} samples ({n_samples / sr:g} s), "
            f"shorter than one chunk (chunk_s={chunk_s:g})"
        )
    n_chunks = 1 + (n_samples - n_chunk) // n_hop
    starts = np.arange(n_chunks) * n_hop
    return n_chunk, n_hop, starts / sr, (starts + n_chunk) / sr


def chunk(y, sr: float, chunk_s: float, chunk_hop_s: float | None = None):
    """Cut a long recording into fixed windows; a trailing partial window is dropped.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,)
        Mono audio.
    sr : float
        Sample rate in Hz.
    chunk_s : float
        Window length in seconds (rounded to whole samples).
    chunk_hop_s : float or None
        Seconds between window starts; ``None`` means ``chunk_s`` (no overlap).

    Returns
    -------
    chunks : np.ndarray, shape (n_chunks, round(chunk_s * sr))
        A read-only strided view of ``y`` (no copy).
    starts_s, ends_s : np.ndarray, shape (n_chunks,), float64
        Start and end time of each window in seconds.

    Raises
    ------
    DataError
        The recording is shorter than one chunk.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"y must have shape (n_samples,), got shape {y.shape}")
    n_chunk, n_hop, starts_s, ends_s = _chunk_geometry(y.shape[0], sr, chunk_s, chunk_hop_s)
    chunks = np.lib.stride_tricks.sliding_window_view(y, n_chunk)[::n_hop]
    return chunks, starts_s, ends_s


def iter_chunks(y, sr: float, chunk_s: float, chunk_hop_s: float | None = None):
    """Yield ``(chunk, start_s, end_s)`` one window at a time, as :func:`chunk` cuts them.

    Yields
    ------
    chunk : np.ndarray, shape (round(chunk_s * sr),)
        A view of ``y``.
    start_s, end_s : float
        Window start and end in seconds.
    """
    chunks, starts_s, ends_s = chunk(y, sr, chunk_s, chunk_hop_s)
    for c, s, e in zip(chunks, starts_s, ends_s):
        yield c, float(s), float(e)


def colored_noise(n: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of unit variance over the full band.

    Parameters
    ----------
    n : int
        Number of samples.
    kind : str
        ``white`` (flat), ``pink`` (power ~ 1/f) or ``brown`` (power ~ 1/f**2).
    rng : np.random.Generator

    Returns
    -------
    np.ndarray, shape (n,), float64
        Zero mean and variance exactly 1 (normalised after shaping).
    """
    check_choice("noise", kind, NOISE_KINDS)
    w = rng.standard_normal(n)
    if kind != "white":
        spec = np.fft.rfft(w)
        f = np.arange(spec.size, dtype=float)
        f[0] = 1.0
        spec /= f ** (0.5 if kind == "pink" else 1.0)
        spec[0] = 0.0
        w = np.fft.irfft(spec, n)
    w -= w.mean()
    return w / w.std()
