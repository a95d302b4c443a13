"""Surrogate classes: what a one-class extractor learns against when only positives exist.

The seed paper trains its one-class feature extractors with categorical
cross-entropy. With positives alone there is nothing to tell apart, so lfkit
generates the other classes with its own tone-in-noise generator, at the
positives' sample rate, length, SNR range and noise colour (the front end is
applied by the caller, so it is the same too).

The target's tones are estimated from the positives themselves
(:func:`estimate_tones`: peaks of their mean spectrum), never read from
labels. The surrogate classes, distinct from each other, in this order:

* ``none``: fresh random tones in every clip, none near the target's;
* ``all+``: every target tone plus one to three extra lines;
* one class per proper subset of the target's tones (largest first): that
  subset plus fresh random lines (the hard negatives: they share lines with
  the target);
* the rest: fixed random signatures, the classic surrogate classes.

So the extractor learns what sets the target apart (all of its lines, and no
others) rather than only the look of a handful of fixed signatures.
"""

from __future__ import annotations

import numpy as np

from lfkit.config import FrontendConfig, SynthConfig
from lfkit.errors import DataError
from lfkit.synth import clip_rng, random_tones, synth_clip

__all__ = ["estimate_tones", "bin_frequencies", "class_plan", "surrogate_waveforms", "negative_waveforms", "DEFAULT_SNR"]

#: SNR range (dB) of surrogate clips when the positives' labels carry no ``snr_db``.
DEFAULT_SNR = (-35.0, -20.0)


def bin_frequencies(frontend: FrontendConfig, sr: float) -> np.ndarray | None:
    """Centre frequency in Hz of each row of a ``linear``/``log`` spectrogram; None for other kinds."""
    from lfkit.features import frontend_kernels

    if frontend.kind not in ("linear", "log"):
        return None
    kern = frontend_kernels(frontend, sr)
    return np.arange(kern.lo, kern.hi) * kern.sr / frontend.n_fft


def estimate_tones(X_pos: np.ndarray, freqs_hz: np.ndarray | None, max_tones: int = 10,
                   z_min: float = 6.0) -> list[float]:
    """The target's tone frequencies, from the peaks of the positives' mean spectrum.

    Parameters
    ----------
    X_pos : np.ndarray, shape (n_clips, n_freq, n_frames)
        Spectrograms of the positives.
    freqs_hz : np.ndarray, shape (n_freq,), or None
        Frequency of each row (:func:`bin_frequencies`); None returns ``[]``.
    max_tones : int
        Most tones returned (the strongest peaks).
    z_min : float
        A peak must stand this many robust standard deviations (MAD) above
        the running median (31 bins) of the spectrum, so coloured noise is
        no peak; nothing below 20 Hz counts.

    Returns
    -------
    list of float
        Sorted frequencies in Hz (may be empty).
    """
    if freqs_hz is None or len(X_pos) == 0:
        return []
    X = np.asarray(X_pos, dtype=np.float64)
    X = (X - X.mean(axis=(1, 2), keepdims=True)) / np.maximum(X.std(axis=(1, 2), keepdims=True), 1e-8)
    import scipy.ndimage

    profile = X.mean(axis=(0, 2))
    profile = profile - scipy.ndimage.median_filter(profile, size=min(31, len(profile)), mode="nearest")  # coloured noise
    med = np.median(profile)
    mad = 1.4826 * np.median(np.abs(profile - med)) + 1e-12
    z = (profile - med) / mad
    z[np.asarray(freqs_hz) < 20.0] = -np.inf  # no tone at DC
    peaks = [k for k in range(len(z)) if z[k] >= z_min and z[k] >= z[max(k - 1, 0)] and z[k] >= z[min(k + 1, len(z) - 1)]
             and not (k > 0 and z[k] == z[k - 1])]
    peaks = sorted(peaks, key=lambda k: -z[k])[:max_tones]
    return sorted(round(float(freqs_hz[k]), 1) for k in peaks)


def _clip_cfg(sr: int, n_samples: int, noise: str) -> SynthConfig:
    fmax = min(1000.0, 0.45 * sr)
    return SynthConfig(sr=int(sr), duration_s=n_samples / sr, noise=noise, tone_fmax_hz=fmax,
                       tone_fmin_hz=min(20.0, fmax / 2))


def _render(tones, snr, cfg, rng, n_samples):
    snr_db = float(rng.uniform(*snr)) if snr[0] < snr[1] else float(snr[0])
    y = synth_clip(tones, snr_db, cfg, rng)
    if len(y) != n_samples:  # duration_s * sr rounding
        y = np.resize(y, n_samples)
    return y


def class_plan(target_tones, n_classes: int, seed: int = 0) -> list:
    """What each surrogate class holds: ``("none",)``, ``("all+",)``, ``("subset", tones)`` or ``("fixed", tones)``."""
    import itertools

    target = [float(f) for f in target_tones]
    plan = [("none",)]
    if target:
        plan.append(("all+",))
        subsets = []
        for k in range(len(target) - 1, 0, -1):
            subsets.extend(itertools.combinations(target, k))
            if len(subsets) >= n_classes:
                break
        plan.extend(("subset", list(sub)) for sub in subsets)
    plan = plan[:n_classes]
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5A6]))
    cfg = SynthConfig()
    while len(plan) < n_classes:
        plan.append(("fixed", random_tones(rng, cfg, avoid=target)))
    return plan


def surrogate_waveforms(target_tones, n_classes: int, clips_per_class: int, sr: int, n_samples: int,
                        snr=DEFAULT_SNR, noise: str = "white", seed: int = 0):
    """Clips of ``n_classes`` surrogate classes (see the module docstring and :func:`class_plan`).

    Returns
    -------
    Y : np.ndarray, shape (n_classes * clips_per_class, n_samples), float32
    y : np.ndarray of int, shape (n_classes * clips_per_class,)
        Class index 0 .. n_classes - 1.
    """
    if not sr or not n_samples:
        raise DataError("surrogate classes need the audio's sample rate and clip length; "
                        "train on audio (or a spectro folder with its frontend.json), or give --aux")
    cfg = _clip_cfg(sr, n_samples, noise)
    target = [float(f) for f in target_tones]
    Y, labels = [], []
    for j, spec in enumerate(class_plan(target, n_classes, seed)):
        for i in range(clips_per_class):
            rng = clip_rng(seed, 0x5000 + j * 100003 + i)
            if spec[0] == "none":
                tones = random_tones(rng, cfg, avoid=target)
            elif spec[0] == "all+":
                tones = sorted(target + random_tones(rng, cfg, avoid=target, n_tones=int(rng.integers(1, 4))))
            elif spec[0] == "subset":
                own = random_tones(rng, cfg, avoid=target, n_tones=int(rng.integers(1, 4)))
                tones = sorted(spec[1] + own)
            else:
                tones = spec[1]
            Y.append(_render(tones, snr, cfg, rng, n_samples))
            labels.append(j)
    return np.stack(Y).astype(np.float32), np.asarray(labels, dtype=np.int64)


def negative_waveforms(target_tones, n: int, sr: int, n_samples: int, snr=DEFAULT_SNR, noise: str = "white",
                       seed: int = 0) -> np.ndarray:
    """``n`` generated negatives for calibration: random tones, half sharing some target tones.

    Returns
    -------
    np.ndarray, shape (n, n_samples), float32
    """
    target = [float(f) for f in target_tones]
    cfg = _clip_cfg(sr, n_samples, noise)
    Y = []
    for i in range(n):
        rng = clip_rng(seed + 0x9E6, i)
        k = int(rng.integers(1, len(target))) if len(target) > 1 and i % 2 else 0
        keep = sorted(rng.choice(target, size=k, replace=False).tolist()) if k else []
        Y.append(_render(sorted(keep + random_tones(rng, cfg, avoid=target)), snr, cfg, rng, n_samples))
    return np.stack(Y).astype(np.float32)
