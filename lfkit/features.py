"""The spectrogram front end: waveforms in, (frequency, time) arrays out.

Pure functions over numpy arrays: no file I/O, no printing. The stages compose
like librosa's, so a precomputed stage is never recomputed::

    P = stft_power(y, n_fft=2048, hop_length=512)        # (1 + n_fft//2, n_frames)
    M = mel_filterbank(sr, 2048, n_mels=64) @ P          # (n_mels, n_frames)
    C = mfcc(power_to_db(M), n_mfcc=20)                   # (n_mfcc, n_frames)

:func:`spectrogram` and :func:`spectrogram_batch` run a whole
:class:`~lfkit.config.FrontendConfig` and are the fast path. Frames are not
centred: ``n`` samples give ``1 + (n - n_fft) // hop_length`` frames. The
short-time Fourier transform runs in float64 (numpy's float32 rFFT is several
times slower than its float64 one); power is rounded to float32 right after it,
and every later stage runs in float32.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from lfkit.config import PCEN, FrontendConfig
from lfkit.errors import DataError, ParameterError, check_positive_int
from lfkit.cepstrum import dct_matrix, mfcc
from lfkit.mel import (
    _check_sr,
    db_scale,
    fft_frequencies,
    hann_window,
    mel_filterbank,
    mel_frequencies,
    normalize,
    power_to_db,
)
from lfkit.pcen import pcen, pcen_b, pcen_core
from lfkit.waveform import resampled_length, chunk, iter_chunks, resample  # re-exported

__all__ = [
    "stft_power",
    "stft_power_batch",
    "fft_frequencies",
    "mel_frequencies",
    "mel_filterbank",
    "power_to_db",
    "pcen",
    "mfcc",
    "normalize",
    "spectrogram",
    "spectrogram_batch",
    "output_shape",
    "frontend_kernels",
    "FrontendKernels",
    "resample",
    "chunk",
    "iter_chunks",
]

#: Scale applied to mel power before PCEN: librosa's documented usage
#: ``pcen(S * (2**31))`` maps [-1, 1] audio to the 32-bit integer range its
#: default ``bias``/``eps`` were tuned for.
PCEN_INPUT_SCALE = float(2**31)
#: ``top_db`` of the ``logmel`` and ``mfcc`` kinds (librosa's default).
LOGMEL_TOP_DB = 80.0
# Bytes of float32 power held at once by the batch path.
_BLOCK_BYTES = 8 * 2**20
# Mel filters per dense product in the banded filterbank product.
_MEL_GROUP = 8
# Samples of windowed float64 frames per FFT call (256 KiB).
_GROUP_SAMPLES = 32768


# ---------------------------------------------------------------- checks


def _as_audio(y, ndim: int, name: str = "y") -> np.ndarray:
    """``y`` as a float32 array of ``ndim`` dimensions with finite samples, or DataError."""
    y = np.asarray(y)
    if y.dtype.kind not in "fiu":
        raise DataError(f"{name} must hold real samples, got dtype {y.dtype}")
    if y.ndim != ndim:
        want = "(n_samples,)" if ndim == 1 else "(batch, n_samples)"
        raise DataError(f"{name} must have shape {want}, got shape {y.shape}")
    if y.size == 0:
        raise DataError(f"{name} is empty (shape {y.shape})")
    y = y.astype(np.float32, copy=False)
    if not np.isfinite(y).all():
        raise DataError(f"{name} holds NaN or infinite samples")
    return y


def _check_length(n_samples: int, n_fft: int) -> None:
    if n_samples < n_fft:
        raise DataError(
            f"audio has {n_samples} samples, shorter than one FFT window (n_fft={n_fft})"
        )


def _n_frames(n_samples: int, n_fft: int, hop_length: int) -> int:
    _check_length(n_samples, n_fft)
    return 1 + (n_samples - n_fft) // hop_length


# ---------------------------------------------------------------- STFT


def power_tf(Y: np.ndarray, n_fft: int, hop_length: int, lo: int = 0, hi: int | None = None):
    """Power of ``Y`` (b, n) as a (b, n_frames, hi - lo) float32 array (FFT bins lo:hi).

    The FFT runs in float64 (numpy's float32 rFFT measures ~4x slower) over
    groups of frames of about 256 KiB in reused buffers: whole-clip
    temporaries cost fresh pages on every call (measured 3x slower for one
    1 s clip at n_fft=2048).
    """
    hi = n_fft // 2 + 1 if hi is None else hi
    frames = np.lib.stride_tricks.sliding_window_view(Y, n_fft, axis=-1)[..., ::hop_length, :]
    n_clips, n_frames = frames.shape[:2]
    window = hann_window(n_fft)
    group = max(1, min(n_frames, _GROUP_SAMPLES // n_fft))
    P = np.empty((n_clips, n_frames, hi - lo), dtype=np.float32)
    # Work buffers reused across groups (np.fft.rfft costs ~8 us per call, so not too small).
    buf = np.empty((group, n_fft))
    X = np.empty((group, n_fft // 2 + 1), dtype=np.complex128)
    tmp = np.empty((group, hi - lo))
    for i in range(n_clips):
        for j in range(0, n_frames, group):
            m = min(group, n_frames - j)
            np.multiply(frames[i, j : j + m], window, out=buf[:m])
            np.fft.rfft(buf[:m], axis=-1, out=X[:m])
            Xb = X[:m, lo:hi]
            np.multiply(Xb.real, Xb.real, out=tmp[:m])
            tmp[:m] += np.square(Xb.imag)
            P[i, j : j + m] = tmp[:m]
    return P


def stft_power(y, n_fft: int, hop_length: int) -> np.ndarray:
    """Power spectrogram ``|STFT|**2`` with a periodic Hann window, frames not centred.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,)
        Mono audio, any real dtype (computed in float32).
    n_fft : int
        FFT and window length in samples.
    hop_length : int
        Samples between frame starts.

    Returns
    -------
    S : np.ndarray, shape (1 + n_fft // 2, n_frames), float32
        Power per FFT bin and frame, ``n_frames = 1 + (n_samples - n_fft) // hop_length``.
        Same scale as ``np.abs(librosa.stft(y, n_fft, hop_length, center=False))**2``.

    Raises
    ------
    ParameterError
        ``n_fft`` or ``hop_length`` not a positive integer.
    DataError
        ``y`` shorter than ``n_fft``, not 1-D, or holding NaN/Inf.
    """
    return np.ascontiguousarray(stft_power_batch(_as_audio(y, 1)[None], n_fft, hop_length)[0])


def stft_power_batch(Y, n_fft: int, hop_length: int) -> np.ndarray:
    """:func:`stft_power` of equal-length clips at once.

    Parameters
    ----------
    Y : np.ndarray, shape (batch, n_samples)
        Clips, one per row.
    n_fft, hop_length : int
        As in :func:`stft_power`.

    Returns
    -------
    S : np.ndarray, shape (batch, 1 + n_fft // 2, n_frames), float32
    """
    n_fft = check_positive_int("n_fft", n_fft)
    hop_length = check_positive_int("hop_length", hop_length)
    Y = _as_audio(Y, 2, "Y")
    _check_length(Y.shape[-1], n_fft)
    return np.ascontiguousarray(power_tf(Y, n_fft, hop_length).transpose(0, 2, 1))


# ---------------------------------------------------------------- the whole front end


class FrontendKernels(NamedTuple):
    """What a front end needs at one sample rate, built once and cached: the FFT bins kept, the mel
    filterbank's bands and the DCT matrix (see :func:`frontend_kernels`)."""

    sr: float
    lo: int  # first FFT bin used
    hi: int  # one past the last FFT bin used
    mel_bands: tuple | None  # ((m0, m1, k0, k1, W), ...): mel rows m0:m1 = P[..., k0:k1] @ W
    dct_t: np.ndarray | None  # (n_mels, n_mfcc) float32 DCT-II, transposed
    n_out: int


def frontend_kernels(config: FrontendConfig, sr) -> FrontendKernels:
    """The cached :class:`FrontendKernels` of ``config`` at ``sr`` Hz (``config.sr`` when set); checks the band."""
    if not isinstance(config, FrontendConfig):
        raise TypeError(f"config must be a FrontendConfig, got {type(config).__name__}")
    return _cached_kernels(config, _check_sr(config.sr if config.sr is not None else sr))


@functools.lru_cache(maxsize=32)
def _cached_kernels(config: FrontendConfig, sr: float) -> FrontendKernels:
    """Check ``config`` against the effective ``sr`` and build what the transform needs."""
    nyquist = sr / 2.0
    fmin = float(config.fmin)
    fmax = nyquist if config.fmax is None else float(config.fmax)
    if fmin >= nyquist:
        raise ParameterError(f"fmin={fmin:g} Hz must be below the Nyquist frequency sr/2={nyquist:g} Hz")
    if fmax > nyquist:
        raise ParameterError(f"fmax={fmax:g} Hz is above the Nyquist frequency sr/2={nyquist:g} Hz")
    n_fft = config.n_fft
    # Bins k with fmin <= k * sr / n_fft <= fmax (a 1e-9-bin tolerance absorbs rounding).
    lo = math.ceil(fmin * n_fft / sr - 1e-9)
    hi = math.floor(fmax * n_fft / sr + 1e-9) + 1
    if hi <= lo:
        raise ParameterError(
            f"the band fmin={fmin:g} to fmax={fmax:g} Hz holds no FFT bin "
            f"(bins are sr/n_fft={sr / n_fft:g} Hz apart); widen it or raise n_fft"
        )
    if config.kind == "auto":
        raise ParameterError("kind='auto' is chosen by training from labelled clips; "
                             "lfkit spectro --kind auto needs a labelled dataset folder")
    if config.kind in ("linear", "log", "whiten"):
        return FrontendKernels(sr, lo, hi, None, None, hi - lo)
    # The filterbank is banded: 8 filters at a time touch few FFT bins, so
    # per-group products skip ~85% of the dense matmul's multiply-adds.
    fb = mel_filterbank(sr, n_fft, config.n_mels, fmin, fmax)
    used = np.flatnonzero(fb.any(axis=0))
    lo, hi = (int(used[0]), int(used[-1]) + 1) if used.size else (0, 1)
    bands = []
    for m0 in range(0, config.n_mels, _MEL_GROUP):
        rows = fb[m0 : m0 + _MEL_GROUP, lo:hi]
        nz = np.flatnonzero(rows.any(axis=0))
        k0, k1 = (int(nz[0]), int(nz[-1]) + 1) if nz.size else (0, 1)
        W = _read_only(np.ascontiguousarray(rows[:, k0:k1].T))
        bands.append((m0, m0 + rows.shape[0], k0, k1, W))
    if config.kind == "mfcc":  # dct_matrix raises if n_mfcc > n_mels
        dct_t = _read_only(dct_matrix(config.n_mfcc, config.n_mels).T.astype(np.float32))
        return FrontendKernels(sr, lo, hi, tuple(bands), dct_t, config.n_mfcc)
    return FrontendKernels(sr, lo, hi, tuple(bands), None, config.n_mels)


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def transform_power(P: np.ndarray, kern: FrontendKernels, config: FrontendConfig) -> np.ndarray:
    """Power (b, T, n_freq) float32 -> the config's kind, still (b, T, F), per-clip norm."""
    axes = (-2, -1)
    kind = config.kind
    if kind == "linear":
        S = P
    elif kind == "log":
        S = db_scale(P, 1.0, 1e-10, None, axes)
    elif kind == "whiten":
        from lfkit.floor import whiten_db

        S = whiten_db(P.transpose(0, 2, 1)).transpose(0, 2, 1)
    else:
        S = np.empty(P.shape[:-1] + (config.n_mels,), dtype=np.float32)
        for m0, m1, k0, k1, W in kern.mel_bands:
            np.matmul(P[..., k0:k1], W, out=S[..., m0:m1])
        if kind == "pcen":
            S *= np.float32(PCEN_INPUT_SCALE)
            b = pcen_b(kern.sr, config.hop_length, PCEN.time_constant)
            S = pcen_core(S, b, PCEN.gain, PCEN.bias, PCEN.power, PCEN.eps, time_axis=-2)
        elif kind in ("logmel", "mfcc"):
            S = db_scale(S, 1.0, 1e-10, LOGMEL_TOP_DB, axes)
            if kind == "mfcc":
                S = S @ kern.dct_t
    if config.norm == "standard":
        S = normalize(S, "standard")
    return S


def output_shape(config: FrontendConfig, sr: float, n_samples: int) -> tuple[int, int]:
    """Shape ``(F, T)`` of ``spectrogram(y, sr, config)`` for ``len(y) == n_samples``.

    Computes nothing; raises the same errors :func:`spectrogram` would for
    the band (ParameterError) and a too short clip (DataError).

    Parameters
    ----------
    config : FrontendConfig
    sr : float
        Sample rate of the audio in Hz (before any resampling to ``config.sr``).
    n_samples : int
        Length of the audio in samples.

    Returns
    -------
    (n_features, n_frames) : tuple of int
    """
    if config.sr is not None and config.sr != sr:
        n_samples = resampled_length(n_samples, sr, config.sr)
    kern = frontend_kernels(config, sr)
    return kern.n_out, _n_frames(int(n_samples), config.n_fft, config.hop_length)


def spectrogram(y, sr: float, config: FrontendConfig) -> np.ndarray:
    """The spectrogram a model sees: STFT power, the config's kind, then its norm.

    Kinds: ``linear`` power cropped to the FFT bins with fmin <= f <= fmax;
    ``log`` is :func:`power_to_db` of it with ``top_db=None`` (no 80 dB clip,
    so weak tones far below a loud one keep their level); ``mel`` is
    ``mel_filterbank(sr, n_fft, n_mels, fmin, fmax) @ power``; ``logmel`` is
    ``power_to_db(mel)`` with librosa's ``top_db=80``; ``pcen`` is
    ``pcen(mel * 2**31)`` (librosa's documented scaling of [-1, 1] audio);
    ``mfcc`` is ``mfcc(power_to_db(mel), n_mfcc)``; ``whiten`` is the log
    power in dB minus its running-median noise floor across frequency
    (:func:`lfkit.floor.whiten_db`, one floor per clip). If ``config.sr`` is set and
    differs from ``sr``, ``y`` is resampled to it first.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,)
        Mono audio in [-1, 1].
    sr : float
        Sample rate of ``y`` in Hz.
    config : FrontendConfig

    Returns
    -------
    S : np.ndarray, shape output_shape(config, sr, n_samples), float32
        (frequency, time).

    Raises
    ------
    ParameterError
        The band is empty or reaches past the Nyquist frequency.
    DataError
        ``y`` is not 1-D, holds NaN/Inf, or is shorter than ``n_fft``.
    """
    return spectrogram_batch(_as_audio(y, 1)[None], sr, config)[0]


def spectrogram_batch(Y, sr: float, config: FrontendConfig) -> np.ndarray:
    """:func:`spectrogram` of equal-length clips, vectorised; ``top_db`` and norm per clip.

    Parameters
    ----------
    Y : np.ndarray, shape (batch, n_samples)
        Clips, one per row, at sample rate ``sr`` Hz.
    sr : float
        Sample rate in Hz.
    config : FrontendConfig

    Returns
    -------
    S : np.ndarray, shape (batch, F, T), float32
        ``S[i]`` equals ``spectrogram(Y[i], sr, config)``.
    """
    Y = _as_audio(Y, 2, "Y")
    if config.sr is not None and config.sr != sr:
        Y = resample(Y, sr, config.sr).astype(np.float32, copy=False)
    kern = frontend_kernels(config, sr)
    n_fft, hop = config.n_fft, config.hop_length
    n_frames = _n_frames(Y.shape[-1], n_fft, hop)
    out = np.empty((Y.shape[0], kern.n_out, n_frames), dtype=np.float32)
    block = max(1, _BLOCK_BYTES // (4 * n_frames * (kern.hi - kern.lo)))
    for i in range(0, Y.shape[0], block):
        S = transform_power(power_tf(Y[i : i + block], n_fft, hop, kern.lo, kern.hi), kern, config)
        out[i : i + block] = S.transpose(0, 2, 1)
    return out
