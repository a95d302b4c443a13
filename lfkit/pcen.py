"""Per-channel energy normalisation (PCEN), identical to ``librosa.pcen``.

Its constants are declared once, in :data:`lfkit.config.PCEN`. Imports numpy only.
"""

from __future__ import annotations

import math

import numpy as np

from lfkit.config import PCEN
from lfkit.errors import DataError, ParameterError, check_positive_int

__all__ = ["pcen", "pcen_b", "pcen_core"]


def pcen_b(sr: float, hop_length: int, time_constant: float) -> float:
    """The smoother's coefficient ``b`` for a time constant in seconds, as librosa derives it."""
    t_frames = time_constant * sr / float(hop_length)
    return (math.sqrt(1 + 4 * t_frames**2) - 1) / (2 * t_frames**2)


def pcen_core(S, b, gain, bias, power, eps, time_axis: int) -> np.ndarray:
    """PCEN of a non-negative array along ``time_axis``, parameters unchecked (:func:`pcen` checks them)."""
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
    gain: float = PCEN.gain,
    bias: float = PCEN.bias,
    power: float = PCEN.power,
    time_constant: float = PCEN.time_constant,
    eps: float = PCEN.eps,
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
    return pcen_core(S, pcen_b(sr, hop_length, time_constant), gain, bias, power, eps, -1)
