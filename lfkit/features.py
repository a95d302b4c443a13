"""The spectrogram front end: waveforms in, (frequency, time) arrays out.

Pure functions over numpy arrays: no file I/O, no printing. The stages compose
like librosa's, so a precomputed stage is never recomputed::

    P = stft_power(y, n_fft=2048, hop_length=512)        # (1 + n_fft//2, n_frames)
    M = mel_filterbank(sr, 2048, n_mels=64) @ P          # (n_mels, n_frames)
    C = mfcc(power_to_db(M), n_mfcc=20)                   # (n_mfcc, n_frames)

:func:`spectrogram` and :func:`spectrogram_batch` run a whole
:class:`~lfkit.config.FrontendConfig` and are the fast path. Frames are not
centred: ``n`` samples give ``1 + (n - n_fft) // hop_length`` frames. The
short-time Fourier transform runs in float32 (numpy's float32 rFFT), which
agrees with librosa's float64 result to about 1e-5 dB on noisy audio.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from lfkit.config import NORMS, FrontendConfig
from lfkit.errors import DataError, ParameterError, check_choice, check_positive_int
from lfkit.mel import dct_matrix, fft_frequencies, hann_window, mel_filterbank, mel_frequencies

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
#: Floor of the standard deviation in ``normalize(S, 'standard')``.
STD_FLOOR = 1e-8
# Bytes of windowed frames processed at once by the batch path.
_BLOCK_BYTES = 8 * 2**20


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


def _power_tf(Y: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """Power of float32 ``Y`` (b, n) as a (b, n_frames, 1 + n_fft//2) float32 array."""
    frames = np.lib.stride_tricks.sliding_window_view(Y, n_fft, axis=-1)[..., ::hop_length, :]
    X = np.fft.rfft(frames * hann_window(n_fft), axis=-1)
    P = np.square(X.real)
    P += np.square(X.imag)
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
    return np.ascontiguousarray(_power_tf(Y, n_fft, hop_length).transpose(0, 2, 1))


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


# ---------------------------------------------------------------- the whole front end


class _Plan(NamedTuple):
    sr: float
    lo: int  # first FFT bin used
    hi: int  # one past the last FFT bin used
    fb_t: np.ndarray | None  # (hi - lo, n_mels) float32 filterbank, transposed
    n_out: int


def _plan(config: FrontendConfig, sr) -> _Plan:
    """Check ``config`` against the effective ``sr`` and build what the transform needs."""
    if not isinstance(config, FrontendConfig):
        raise TypeError(f"config must be a FrontendConfig, got {type(config).__name__}")
    sr = float(config.sr if config.sr is not None else sr)
    if not sr > 0:
        raise ParameterError(f"sr={sr!r} must be a positive sample rate in Hz")
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
    if config.kind in ("linear", "log"):
        return _Plan(sr, lo, hi, None, hi - lo)
    fb = mel_filterbank(sr, n_fft, config.n_mels, fmin, fmax)
    used = np.flatnonzero(fb.any(axis=0))
    lo, hi = (int(used[0]), int(used[-1]) + 1) if used.size else (0, 1)
    n_out = config.n_mfcc if config.kind == "mfcc" else config.n_mels
    if config.kind == "mfcc":
        dct_matrix(config.n_mfcc, config.n_mels)  # raises if n_mfcc > n_mels
    return _Plan(sr, lo, hi, np.ascontiguousarray(fb[:, lo:hi].T), n_out)


def _transform(P: np.ndarray, plan: _Plan, config: FrontendConfig) -> np.ndarray:
    """Power (b, T, n_freq) float32 -> the config's kind, still (b, T, F), per-clip norm."""
    axes = (-2, -1)
    P = P[..., plan.lo : plan.hi]
    kind = config.kind
    if kind == "linear":
        S = P
    elif kind == "log":
        S = _db(P, 1.0, 1e-10, None, axes)
    else:
        S = P @ plan.fb_t
        if kind == "pcen":
            S *= np.float32(PCEN_INPUT_SCALE)
            b = _pcen_b(plan.sr, config.hop_length, 0.4)
            S = _pcen_core(S, b, 0.98, 2.0, 0.5, 1e-6, time_axis=-2)
        elif kind in ("logmel", "mfcc"):
            S = _db(S, 1.0, 1e-10, LOGMEL_TOP_DB, axes)
            if kind == "mfcc":
                S = S @ dct_matrix(config.n_mfcc, config.n_mels).T.astype(np.float32)
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
        n_samples = _resampled_length(n_samples, sr, config.sr)
    plan = _plan(config, sr)
    return plan.n_out, _n_frames(int(n_samples), config.n_fft, config.hop_length)


def spectrogram(y, sr: float, config: FrontendConfig) -> np.ndarray:
    """The spectrogram a model sees: STFT power, the config's kind, then its norm.

    Kinds: ``linear`` power cropped to the FFT bins with fmin <= f <= fmax;
    ``log`` is :func:`power_to_db` of it with ``top_db=None`` (no 80 dB clip,
    so weak tones far below a loud one keep their level); ``mel`` is
    ``mel_filterbank(sr, n_fft, n_mels, fmin, fmax) @ power``; ``logmel`` is
    ``power_to_db(mel)`` with librosa's ``top_db=80``; ``pcen`` is
    ``pcen(mel * 2**31)`` (librosa's documented scaling of [-1, 1] audio);
    ``mfcc`` is ``mfcc(power_to_db(mel), n_mfcc)``. If ``config.sr`` is set and
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
    plan = _plan(config, sr)
    n_fft, hop = config.n_fft, config.hop_length
    n_frames = _n_frames(Y.shape[-1], n_fft, hop)
    out = np.empty((Y.shape[0], plan.n_out, n_frames), dtype=np.float32)
    block = max(1, _BLOCK_BYTES // (4 * n_frames * n_fft))
    for i in range(0, Y.shape[0], block):
        S = _transform(_power_tf(Y[i : i + block], n_fft, hop), plan, config)
        out[i : i + block] = S.transpose(0, 2, 1)
    return out


# ---------------------------------------------------------------- resampling and chunks


def _resampled_length(n_samples: int, orig_sr, target_sr) -> int:
    g = math.gcd(int(orig_sr), int(target_sr))
    up, down = int(target_sr) // g, int(orig_sr) // g
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
    orig_sr = check_positive_int("orig_sr", orig_sr if not float(orig_sr).is_integer() else int(orig_sr))
    target_sr = check_positive_int(
        "target_sr", target_sr if not float(target_sr).is_integer() else int(target_sr)
    )
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
