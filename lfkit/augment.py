"""Multi-condition training: seeded, deterministic augmentation of waveforms and spectrograms.

Pure numpy. Waveform-level transforms (gain, circular time shift, coloured
noise or the user's own background recordings mixed at a drawn SNR, small
frequency shifts by resampling) act on the audio before the front end;
masks along time and frequency act on the spectrogram after it.
:func:`augment_waveforms` and :func:`mask_spectrograms` make the augmented
copies of a whole training split, each clip and copy drawing from its own
random stream, so the same seed gives the same bytes.

SNR here is a power ratio over the full band: ``10*log10(var(y) / var(v))``
for a clip ``y`` and the interference ``v`` added to it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from lfkit.config import AUGMENT_KINDS, NOISE_KINDS, AugmentConfig
from lfkit.errors import DataError, ParameterError

__all__ = [
    "parse_augment",
    "parse_augment_snr",
    "random_gain",
    "circular_shift",
    "mix_at_snr",
    "frequency_scale",
    "time_mask",
    "freq_mask",
    "augment_clip",
    "augment_waveforms",
    "mask_spectrograms",
    "load_backgrounds",
    "background_excerpt",
    "multi_condition_set",
]

#: Waveform-level kinds (need audio); the rest act on spectrograms.
WAVEFORM_KINDS = ("gain", "shift", "noise", "pitch")
#: Largest reduced up/down factor of a resampling ratio (44100 -> 48000 is 160/147).
MAX_RESAMPLE_FACTOR = 1000


def parse_augment(text) -> tuple:
    """``"gain,noise"`` -> ("gain", "noise"); ``"none"`` or ``""`` -> ()."""
    s = str(text).strip().lower()
    if s in ("none", ""):
        return ()
    kinds = tuple(k.strip() for k in s.split(",") if k.strip())
    bad = [k for k in kinds if k not in AUGMENT_KINDS]
    if bad:
        raise ParameterError(f"augment={bad[0]!r} is not known; choose from: {', '.join(AUGMENT_KINDS)} or none")
    return tuple(dict.fromkeys(kinds))


def parse_augment_snr(text) -> tuple[float, float]:
    """``"0:20"`` -> (0.0, 20.0); one number is a fixed SNR. Range -60..60 dB, LO <= HI."""
    s = str(text)
    try:
        parts = [float(p) for p in s.split(":")] if ":" in s else [float(s)] * 2
    except ValueError:
        raise ParameterError(f"augment_snr={s!r} must be a number of dB or LO:HI") from None
    if len(parts) != 2 or not all(map(math.isfinite, parts)):
        raise ParameterError(f"augment_snr={s!r} must be a number of dB or LO:HI")
    lo, hi = parts
    if lo > hi:
        raise ParameterError(f"augment_snr={s!r} is reversed: LO must be <= HI")
    if lo < -60 or hi > 60:
        raise ParameterError(f"augment_snr={s!r} is outside -60..60 dB")
    return lo, hi


def random_gain(y: np.ndarray, rng: np.random.Generator, max_db: float) -> np.ndarray:
    """``y`` times a gain drawn uniformly in +-``max_db`` dB."""
    return y * np.float32(10.0 ** (rng.uniform(-max_db, max_db) / 20.0))


def circular_shift(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``y`` rolled by a uniformly drawn number of samples."""
    return np.roll(y, int(rng.integers(0, max(len(y), 1))))


def mix_at_snr(y: np.ndarray, v: np.ndarray, snr_db: float) -> np.ndarray:
    """``y + g*v`` with ``g`` such that ``10*log10(var(y) / var(g*v)) == snr_db``.

    Parameters
    ----------
    y, v : np.ndarray, shape (n_samples,)
        The clip and the interference (noise or a background excerpt).
    snr_db : float

    Returns
    -------
    np.ndarray, shape (n_samples,), float32
    """
    py, pv = float(np.var(y, dtype=np.float64)), float(np.var(v, dtype=np.float64))
    if pv <= 0 or py <= 0:
        return np.asarray(y, dtype=np.float32)
    g = math.sqrt(py / pv * 10.0 ** (-snr_db / 10.0))
    return (np.asarray(y, dtype=np.float64) + g * (np.asarray(v, dtype=np.float64) - np.mean(v))).astype(np.float32)


def frequency_scale(y: np.ndarray, factor: float) -> np.ndarray:
    """Every frequency of ``y`` times ``factor``, by resampling (linear interpolation, circular).

    A tone at ``f`` Hz comes out at ``factor * f`` Hz; the length is kept
    (the clip is read faster or slower and wraps around).
    """
    n = len(y)
    if factor == 1.0 or n < 2:
        return np.asarray(y, dtype=np.float32)
    pos = np.mod(np.arange(n, dtype=np.float64) * factor, n)
    return np.interp(pos, np.arange(n + 1), np.r_[y, y[:1]]).astype(np.float32)


def time_mask(S: np.ndarray, rng: np.random.Generator, max_frac: float) -> np.ndarray:
    """``S`` (frequency, time) with a random run of up to ``max_frac`` of its frames set to its mean."""
    S = np.array(S, dtype=np.float32)
    w = int(rng.integers(0, int(max_frac * S.shape[1]) + 1))
    if w:
        t0 = int(rng.integers(0, S.shape[1] - w + 1))
        S[:, t0 : t0 + w] = S.mean()
    return S


def freq_mask(S: np.ndarray, rng: np.random.Generator, max_bins: int) -> np.ndarray:
    """``S`` (frequency, time) with a random run of up to ``max_bins`` bins set to its mean."""
    S = np.array(S, dtype=np.float32)
    w = int(rng.integers(0, min(max_bins, S.shape[0] - 1) + 1))
    if w:
        f0 = int(rng.integers(0, S.shape[0] - w + 1))
        S[f0 : f0 + w, :] = S.mean()
    return S


def _rng(seed: int, copy: int, index: int, stage: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), 0xA06, int(copy), int(index), int(stage)]))


def background_excerpt(backgrounds: list, n: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``n``-sample excerpt of a random background recording."""
    b = backgrounds[int(rng.integers(0, len(backgrounds)))]
    start = int(rng.integers(0, len(b) - n + 1))
    return b[start : start + n]


def augment_clip(y: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator, backgrounds=None) -> np.ndarray:
    """One augmented copy of waveform ``y`` (the waveform-level kinds of ``cfg``, in a fixed order).

    Order: frequency shift, circular time shift, then one interference (a
    background excerpt when ``backgrounds`` is given and ``noise`` is not in
    ``cfg.kinds``, or either at even odds when both are), then the gain.
    """
    from lfkit.waveform import colored_noise

    kinds = set(cfg.kinds)
    out = np.asarray(y, dtype=np.float32)
    if "pitch" in kinds and cfg.max_pitch > 0:
        out = frequency_scale(out, 1.0 + rng.uniform(-cfg.max_pitch, cfg.max_pitch))
    if "shift" in kinds:
        out = circular_shift(out, rng)
    sources = (["noise"] if "noise" in kinds else []) + (["background"] if backgrounds else [])
    if sources:
        src = sources[int(rng.integers(0, len(sources)))]
        snr = rng.uniform(*cfg.snr_db)
        if src == "noise":
            v = colored_noise(len(out), NOISE_KINDS[int(rng.integers(0, len(NOISE_KINDS)))], rng)
        else:
            v = background_excerpt(backgrounds, len(out), rng)
        out = mix_at_snr(out, v, snr)
    if "gain" in kinds and cfg.gain_db > 0:
        out = random_gain(out, rng, cfg.gain_db)
    return out


def augment_waveforms(Y: np.ndarray, cfg: AugmentConfig, seed: int, copy: int, backgrounds=None) -> np.ndarray:
    """Copy number ``copy`` of every clip of ``Y``, augmented; same arguments, same bytes.

    Parameters
    ----------
    Y : np.ndarray, shape (n_clips, n_samples)
    cfg : AugmentConfig
    seed : int
    copy : int
        Which copy (each copy and clip draw from their own stream).
    backgrounds : list of np.ndarray or None
        Target-free recordings at the clips' sample rate, each at least
        ``n_samples`` long (:func:`load_backgrounds`).

    Returns
    -------
    np.ndarray, shape (n_clips, n_samples), float32
    """
    return np.stack([augment_clip(y, cfg, _rng(seed, copy, i, 0), backgrounds) for i, y in enumerate(Y)])


def mask_spectrograms(S: np.ndarray, cfg: AugmentConfig, seed: int, copy: int) -> np.ndarray:
    """The spectrogram-level kinds of ``cfg`` (``tmask``, ``fmask``) on a batch (n_clips, n_freq, n_frames)."""
    kinds = set(cfg.kinds)
    out = []
    for i, s in enumerate(S):
        rng = _rng(seed, copy, i, 1)
        if "tmask" in kinds:
            s = time_mask(s, rng, cfg.tmask_frac)
        if "fmask" in kinds:
            s = freq_mask(s, rng, cfg.fmask_bins)
        out.append(s)
    return np.stack(out).astype(np.float32)


def load_backgrounds(folder, sr: int, min_samples: int, channel: int | None = None) -> list:
    """Read every audio file under ``folder`` (one channel, or their mean), resampled to ``sr`` Hz.

    Parameters
    ----------
    folder : str
        A folder of target-free recordings (searched recursively) or one file.
    sr : int
        Sample rate to bring them to, Hz.
    min_samples : int
        Length of one clip: shorter recordings are refused.
    channel : int or None
        The channel to read (0-based, ``--channel``, as for the training clips); None averages them.

    Returns
    -------
    list of np.ndarray, float32, each at least ``min_samples`` long

    Raises
    ------
    DataError
        No audio there, a recording shorter than a clip, a sample-rate ratio
        too fine to resample, or silence.
    """
    from lfkit import io
    from lfkit.features import resample
    from lfkit.segments import ReadPlan, read_clip

    plan = ReadPlan(channel=channel)  # the reader of every clip; a bad channel is refused before reading
    p = Path(str(folder))
    if not p.exists():
        raise DataError(f"background={folder}: no such file or directory")
    files = [p] if p.is_file() else sorted(
        f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in io.AUDIO_EXTENSIONS
        and not any(part.startswith(".") for part in f.relative_to(p).parts)
    )
    if not files:
        raise DataError(f"background={folder}: holds no audio ({', '.join(io.AUDIO_EXTENSIONS)})")
    out = []
    for f in files:
        y, rate = read_clip(str(f), plan)
        if rate != sr:
            g = math.gcd(int(rate), int(sr))
            if max(rate // g, sr // g) > MAX_RESAMPLE_FACTOR:
                raise DataError(f"background {f}: sample rate {rate} Hz cannot be resampled to {sr} Hz "
                                f"(ratio {sr // g}/{rate // g} is too fine); convert it first")
            y = resample(y, rate, sr).astype(np.float32)
        if len(y) < min_samples:
            raise DataError(f"background {f}: {len(y) / sr:.3g} s is shorter than a clip "
                            f"({min_samples / sr:.3g} s at {sr} Hz)")
        if not np.var(y) > 0:
            raise DataError(f"background {f}: silent (zero variance); it cannot be mixed at an SNR")
        out.append(np.ascontiguousarray(y, dtype=np.float32))
    return out


def multi_condition_set(Y: np.ndarray, sr: int, y: np.ndarray, split, cfg: AugmentConfig, seed: int,
                        frontend=None, backgrounds=None):
    """The training arrays with ``cfg.copies`` augmented copies of the training clips appended.

    Parameters
    ----------
    Y : np.ndarray, shape (n_clips, n_samples) or (n_clips, n_freq, n_frames)
        Every clip's waveform at ``sr`` Hz; or spectrograms already, which
        take only the masks.
    sr : int
    y : np.ndarray of int, shape (n_clips,)
    split : tuple of 2 np.ndarray
        ``(train, val)`` indices; only the training clips are copied.
    cfg : AugmentConfig
    seed : int
    frontend : FrontendConfig or None
        Turn waveforms into spectrograms (masks then apply to the copies);
        ``None`` keeps waveforms (1-D models; masks do not apply).
    backgrounds : list of np.ndarray or None
        Target-free recordings at ``sr`` Hz (:func:`load_backgrounds`).

    Returns
    -------
    X : np.ndarray, shape (n_clips * (1 + ...), ...), float32
        The original clips first (spectrograms or waveforms), then the copies.
    y_all : np.ndarray of int
    split : tuple of 2 np.ndarray
        Training indices (originals and copies), validation indices (originals only).
    """
    from lfkit.features import spectrogram_batch

    tr, va = (np.asarray(s, dtype=int) for s in split)

    def front(W):
        return W.astype(np.float32) if frontend is None else spectrogram_batch(W, sr, frontend)

    spectrograms = np.ndim(Y) == 3
    if spectrograms:
        frontend = None
    parts, labels = [front(Y)], [np.asarray(y)]
    wave = any(k in WAVEFORM_KINDS for k in cfg.kinds) or bool(backgrounds)
    if wave and spectrograms:
        raise ParameterError("augment: gain, shift, noise, pitch and --background need audio, not spectrograms")
    for c in range(cfg.copies if tr.size else 0):
        W = augment_waveforms(Y[tr], cfg, seed, c, backgrounds) if wave else Y[tr]
        X = front(W)
        if (frontend is not None or spectrograms) and any(k in ("tmask", "fmask") for k in cfg.kinds):
            X = mask_spectrograms(X, cfg, seed, c)
        parts.append(X)
        labels.append(np.asarray(y)[tr])
    n = len(Y)
    extra = np.arange(n, n + tr.size * (len(parts) - 1))
    return np.concatenate(parts), np.concatenate(labels), (np.r_[tr, extra], va)
