"""Noise-floor normalisation: the split-window normaliser of sonar LOFAR displays.

A narrowband line sits on a noise floor that may slope (pink, brown or a
machine's own spectrum). Dividing the power by a running median across
frequency flattens the floor to 0 dB whatever its colour, and leaves each line
at its height above the local floor. The median window has a gap of a few
bins around its centre, so a line (whose Hann main lobe is 4 bins wide) does
not raise its own floor; near the band edges the window shrinks so that it
stays symmetric, which keeps a sloping floor unbiased (the outermost
``gap_bins + 1`` bins, with no room for that, read 0 dB).

Pure numpy functions, arrays in and out, no I/O. The median commutes with
any increasing map, so the floor of power in dB is the dB of the power's floor.
"""

from __future__ import annotations

import numpy as np

from lfkit.errors import DataError, ParameterError, check_positive_int

__all__ = ["FLOOR_BINS", "GAP_BINS", "running_floor", "whiten_db", "line_strength_db", "time_normalize"]

#: Width of the running median across frequency, in FFT bins (odd).
FLOOR_BINS = 31
#: Bins either side of the centre left out of the median (a Hann line spans +-2 bins).
GAP_BINS = 2
# Values gathered at once by the running median (8 MB of float64).
_BLOCK_VALUES = 2**20
# Power below this (per bin) counts as this, as power_to_db's ``amin``.
_AMIN = 1e-10


def _check(floor_bins: int, gap_bins: int) -> tuple[int, int]:
    floor_bins = check_positive_int("floor_bins", floor_bins)
    if isinstance(gap_bins, bool) or not isinstance(gap_bins, (int, np.integer)) or gap_bins < 0:
        raise ParameterError(f"gap_bins={gap_bins!r} must be an integer >= 0")
    half = floor_bins // 2
    if half <= gap_bins:
        raise ParameterError(f"floor_bins={floor_bins} must reach past the gap: floor_bins // 2 > gap_bins={gap_bins}")
    return half, int(gap_bins)


def _median(a: np.ndarray) -> np.ndarray:
    """Median along the last axis (np.partition: several times faster than np.median here)."""
    m = a.shape[-1]
    if m % 2:
        return np.partition(a, m // 2, axis=-1)[..., m // 2]
    p = np.partition(a, [m // 2 - 1, m // 2], axis=-1)
    return 0.5 * (p[..., m // 2 - 1] + p[..., m // 2])


def running_floor(x, floor_bins: int = FLOOR_BINS, gap_bins: int = GAP_BINS, axis: int = -1) -> np.ndarray:
    """Running median of ``x`` along ``axis``, leaving out the centre bin and ``gap_bins`` either side.

    Parameters
    ----------
    x : np.ndarray, shape (..., n, ...)
        Values per bin along ``axis``: power, or power in dB (the median
        commutes with ``10*log10``).
    floor_bins : int
        Width of the window, in bins (``floor_bins // 2`` each side).
    gap_bins : int
        Bins either side of the centre that are not part of the window.
    axis : int
        The axis to run along (frequency).

    Returns
    -------
    floor : np.ndarray, same shape as ``x``, float64
        At bin ``k``: the median of ``x[k-h..k-g-1]`` and ``x[k+g+1..k+h]``
        (``h = floor_bins // 2``, ``g = gap_bins``). Within ``h`` bins of
        either end the window shrinks to the bins that are there on both
        sides, so a floor that slopes linearly keeps its value at ``k``. The
        ``g + 1`` outermost bins at each end, with no room for a symmetric
        window beyond the gap, are their own floor (they normalise to 0 dB):
        a one-sided median there misreads a steep floor (brown noise near 0 Hz)
        as a line tens of dB high.
        Where the floor curves (a power law ``k**-p`` near bin 0) the median
        reads it high, so a line there reads low, never the reverse: on brown
        noise (``p = 2``) by up to 24 dB within 8 bins of 0 Hz (the window
        reaches the bins next to 0 Hz), by under 6 dB from there to ``h``
        bins, under 1 dB beyond.

    Raises
    ------
    ParameterError
        ``floor_bins`` not a positive integer, or not wider than the gap.
    DataError
        ``x`` has fewer than ``gap_bins + 2`` bins along ``axis``.
    """
    half, gap = _check(floor_bins, gap_bins)
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    n = x.shape[-1]
    if n < gap + 2:
        raise DataError(f"a noise floor needs at least {gap + 2} bins along the axis, got {n}")
    out = np.empty_like(x)
    if n > 2 * half:  # the interior: a sliding window without its centre, in blocks of rows
        cols = np.r_[0 : half - gap, half + gap + 1 : 2 * half + 1]
        rows, inner = x.reshape(-1, n), out.reshape(-1, n)
        step = max(1, _BLOCK_VALUES // ((n - 2 * half) * len(cols)))
        for i in range(0, rows.shape[0], step):
            win = np.lib.stride_tricks.sliding_window_view(rows[i : i + step], 2 * half + 1, axis=-1)
            inner[i : i + step, half : n - half] = _median(win[..., cols])
    ks = np.arange(n)
    for k in ks[(ks < half) | (ks > n - 1 - half)]:
        reach = min(half, k, n - 1 - k)
        if reach > gap:
            out[..., k] = _median(x[..., ks[(np.abs(ks - k) > gap) & (np.abs(ks - k) <= reach)]])
        else:  # no room for a symmetric window: the bin is its own floor
            out[..., k] = x[..., k]
    return np.moveaxis(out, -1, axis)


def whiten_db(P, floor_bins: int = FLOOR_BINS, gap_bins: int = GAP_BINS) -> np.ndarray:
    """Power spectrogram in dB above its noise floor (the ``whiten`` front-end kind).

    The floor is the running median across frequency (:func:`running_floor`)
    of the clip's time-averaged power: one floor per clip, estimated from all
    its frames, subtracted from every frame. A stationary line keeps its
    height above the floor in every frame (a per-frame or time-wise
    normalisation would erase it, as PCEN does).

    Parameters
    ----------
    P : np.ndarray, shape (..., n_freq, n_frames)
        Linear power.
    floor_bins, gap_bins : int
        As in :func:`running_floor`.

    Returns
    -------
    W : np.ndarray, shape (..., n_freq, n_frames), float32
        ``10*log10(P / floor)`` in dB. On stationary noise of any colour the
        time average of ``10**(W/10)`` is 1 (0 dB) in every bin; the mean of
        ``W`` itself is ``-10*log10(e)*euler_gamma = -2.51`` dB, the mean of the
        log of an exponential (chi-squared, 2 degrees of freedom) variable.
    """
    P = np.asarray(P, dtype=np.float32)
    floor = running_floor(P.mean(axis=-1, dtype=np.float64), floor_bins, gap_bins, axis=-1)
    W = np.maximum(P, np.float32(_AMIN))
    np.log10(W, out=W)
    W *= np.float32(10.0)
    W -= (10.0 * np.log10(np.maximum(floor, _AMIN))).astype(np.float32)[..., None]
    return W


def line_strength_db(S, floor_bins: int = FLOOR_BINS, gap_bins: int = GAP_BINS) -> np.ndarray:
    """Time-averaged power over its running-median floor, in dB (the LOFAR line statistic).

    Parameters
    ----------
    S : np.ndarray, shape (..., n_freq, n_frames)
        Linear power spectrogram(s).
    floor_bins, gap_bins : int
        As in :func:`running_floor`.

    Returns
    -------
    R : np.ndarray, shape (..., n_freq), float64
        ``10*log10(mean_t S / floor(mean_t S))``: about 0 dB on noise of any
        colour; a stationary line of per-bin SNR ``s`` (line power over the
        noise power in its bin) reads ``10*log10(1 + s)``.
    """
    P = np.maximum(np.asarray(S, dtype=np.float64).mean(axis=-1), 1e-30)
    return 10.0 * np.log10(P) - 10.0 * np.log10(np.maximum(running_floor(P, floor_bins, gap_bins, axis=-1), 1e-30))


def time_normalize(S_db, n_frames: int, gap_frames: int = 0) -> np.ndarray:
    """Subtract a running median along time (the second, optional LOFAR normaliser).

    It removes what is steady over ``n_frames`` frames in each frequency row:
    use it for transients on a slowly changing floor. It also removes
    stationary lines, so the ``whiten`` kind does not apply it.

    Parameters
    ----------
    S_db : np.ndarray, shape (..., n_freq, n_frames_total)
        Spectrogram in dB (e.g. from :func:`whiten_db`).
    n_frames : int
        Width of the running median in frames.
    gap_frames : int
        Frames either side of the centre left out of the median.

    Returns
    -------
    np.ndarray, same shape, float32
        ``S_db`` minus its running median along the last axis.
    """
    S_db = np.asarray(S_db, dtype=np.float64)
    return (S_db - running_floor(S_db, n_frames, gap_frames, axis=-1)).astype(np.float32)
