"""The front end chosen from the data: kind, band and FFT length from the labelled training clips.

No single front end serves every dataset: lfkit's own tones live below 1 kHz,
recorded instruments are told apart by harmonics up to the Nyquist frequency.
:func:`select_frontend` decides per dataset, in seconds:

* ``n_fft`` follows from the sample rate and clip length (:func:`choose_n_fft`):
  today's 4096 (or the largest power of two within 93 ms, if longer), halved
  until the clip holds at least :data:`MIN_FRAMES` frames; ``hop_length =
  n_fft // 4``. The STFT is computed once, at that length.
* The band is where the classes differ (:func:`lfkit.probe.class_band`: bins whose
  per-bin F statistic over the time-averaged spectra beats the largest one
  under shuffled labels), at least 64 bins wide; inside today's 0-1000 Hz
  it is 0-1000 Hz, and reaching from near 0 to near the Nyquist
  frequency it is the full band. Outside it the bins hold no evidence, only
  noise and compute. If no bin differs, the full band, with a notice.
* Kinds: :data:`AUTO_KINDS` (``log``, ``whiten``, ``logmel``; not ``pcen``, see there).
* Each kind, on that band, is scored by a cross-validated linear probe
  (:func:`lfkit.probe.probe_score`) on the time-averaged spectrum the model would see
  (kind, band and per-clip norm applied): ridge regression on the few rows
  that best separate the classes in each training fold, stratified k-fold,
  area under the ROC curve of the held-out scores (macro one-vs-rest for more
  than two classes).
* Ties go to the simpler: the first kind in the listed order whose score is
  within :data:`TIE` of the best (about one standard error of an AUC on 400
  clips), or within its own standard error on fewer clips, wins, so today's
  ``log`` stays where it does as well as anything else.

Pure numpy; no printing (messages go to a ``notice`` callback).
"""

from __future__ import annotations

import math
import time

import numpy as np

from lfkit.config import AUTO_KIND, FrontendConfig
from lfkit.errors import DataError, ParameterError
from lfkit.probe import auc_standard_error, class_band, f_statistic, probe_score

__all__ = ["AUTO_KINDS", "TIE", "MIN_FRAMES", "wants_auto", "choose_n_fft", "f_statistic", "class_band",
           "probe_score", "select_frontend", "select_and_transform", "summary", "describe", "frontend_flags"]

#: Kinds scored, simplest first (ties go to the earlier one). ``pcen`` is not among them: its gain control
#: normalises stationary lines away and keeps what is particular to a recording; on a development rendering of
#: the real sets (``benchmarks/real/build.py --quick --seed 9``, horn on A3) it won the probe (0.869 against log's
#: 0.809, the folds sharing recordings) and its network scored AUC 0.50-0.56 on other recordings at every SNR,
#: where ``log`` gave 0.77-0.95. ``--kind pcen`` still gives it.
AUTO_KINDS = ("log", "whiten", "logmel")
#: Probe scores within this of the best count as ties.
TIE = 0.02
#: Narrowest band chosen, in FFT bins.
MIN_BAND_BINS = 64
#: Fewest frames a clip should give at the chosen ``n_fft``.
MIN_FRAMES = 16
#: Fields that :func:`select_frontend` chooses; the others pass through.
CHOSEN_FIELDS = ("kind", "n_fft", "hop_length", "fmin", "fmax")
# Seconds of audio per FFT window to aim for (4096 samples at 44.1 kHz).
_WINDOW_S = 4096 / 44100
# Bytes of float32 power per block.
_BLOCK_BYTES = 32 * 2**20


def wants_auto(changes: dict) -> bool:
    """True when the front end should be chosen from the data.

    No front-end flag at all, or ``kind='auto'`` (then the other flags given
    are kept and only the rest is chosen). Any other flag given without
    ``kind='auto'`` means the user's front end: today's defaults plus the flags.
    """
    return not changes or changes.get("kind") == AUTO_KIND


def choose_n_fft(sr: float, n_samples: int) -> int:
    """FFT length for clips of ``n_samples`` at ``sr`` Hz.

    Today's default (4096), or the largest power of two within 93 ms where
    that is longer (8192 at 96 kHz), halved while the clip gives fewer than
    :data:`MIN_FRAMES` frames at ``hop_length = n_fft // 4`` (never below 64):
    4096 for 1 s at 44.1/48 kHz and 1.5 s at 22.05 kHz, 2048 for 1 s at 16 kHz.
    """
    n_fft = max(FrontendConfig().n_fft, 2 ** max(6, int(math.floor(math.log2(sr * _WINDOW_S) + 1e-9))))
    while n_fft > 64 and (n_samples < n_fft or 1 + (n_samples - n_fft) // (n_fft // 4) < MIN_FRAMES):
        n_fft //= 2
    return n_fft


def _given_band(changes: dict):
    """The band the flags fix, or None when the band is to be chosen."""
    if "fmin" in changes or "fmax" in changes:
        return float(changes.get("fmin", 0.0)), changes.get("fmax")
    return None


def _fft_stats(P_blocks, lo: int, hi: int):
    """Per clip and FFT bin lo:hi: mean power, mean dB and mean squared dB over time, each (n_clips, hi - lo)."""
    from lfkit.mel import db_scale

    out = ([], [], [])
    for P in P_blocks:
        P = P[..., lo:hi]
        D = db_scale(P, 1.0, 1e-10, None, None)
        out[0].append(P.mean(axis=1, dtype=np.float64))
        out[1].append(D.mean(axis=1, dtype=np.float64))
        out[2].append(np.square(D).mean(axis=1, dtype=np.float64))
    return tuple(np.concatenate(a) for a in out)


def _time_averaged(P_blocks, stats, cfg: FrontendConfig, sr: float) -> np.ndarray:
    """Time average (n_clips, n_features) of ``spectrogram(y, sr, cfg)`` from full-band power blocks (b, T, F).

    ``log`` and ``whiten`` come from the per-bin statistics (their per-clip
    norm is exact from the means of dB and dB squared); the mel kinds run the
    front end's own transform on the blocks.
    """
    from lfkit.features import transform_power, frontend_kernels
    from lfkit.mel import STD_FLOOR

    kern = frontend_kernels(cfg, sr)
    if cfg.kind not in ("log", "whiten"):
        return np.concatenate([transform_power(P[..., kern.lo : kern.hi], kern, cfg).mean(axis=1) for P in P_blocks])
    Pm, M1, M2 = stats if stats is not None else _fft_stats(P_blocks, kern.lo, kern.hi)
    if cfg.kind == "whiten":
        from lfkit.floor import running_floor

        fl = 10.0 * np.log10(np.maximum(running_floor(Pm, axis=-1), 1e-10))
        M1, M2 = M1 - fl, M2 - 2.0 * fl * M1 + fl**2
    if cfg.norm != "standard":
        return M1
    mu = M1.mean(axis=1, keepdims=True)
    sd = np.sqrt(np.maximum(M2.mean(axis=1, keepdims=True) - mu**2, 0.0))
    return (M1 - mu) / np.maximum(sd, STD_FLOOR)


def select_frontend(Y: np.ndarray, sr: float, labels, changes: dict | None = None, seed: int = 0, notice=None):
    """Choose the front end for labelled clips; :func:`select_and_transform` also returns their spectrograms.

    Returns
    -------
    cfg : FrontendConfig
    report : dict
        As :func:`select_and_transform`'s.
    """
    return select_and_transform(Y, sr, labels, changes, seed, notice, transform=False)[:2]


def select_and_transform(Y: np.ndarray, sr: float, labels, changes: dict | None = None, seed: int = 0,
                         notice=None, transform: bool = True):
    """Choose the front end for labelled clips (see the module docstring).

    Parameters
    ----------
    Y : np.ndarray, shape (n_clips, n_samples)
        The training clips, mono, at ``sr`` Hz (already resampled when the
        user gave ``sr``).
    sr : float
        Sample rate in Hz.
    labels : sequence
        Class of each clip (two or more classes; binary training passes
        positive / rest).
    changes : dict
        Front-end fields the user gave: they are kept (``kind='auto'`` aside)
        and only the others are chosen. A given ``fmin`` or ``fmax`` fixes the
        band (``fmin`` alone: up to the Nyquist frequency).
    seed : int
        Seeds the folds and the label shuffles.
    notice : callable(str) or None
        Gets one line per candidate and one for the choice.

    Returns
    -------
    cfg : FrontendConfig
        The front end chosen.
    report : dict
        ``n_fft``, ``hop_length``, ``class_band_hz`` (or None), ``candidates``
        (kind, fmin, fmax, score each, in preference order), ``chosen``
        (its index), ``metric``, ``seconds``: stored in the model file
        (which drops ``seconds``: model files keep no timings).
    X : np.ndarray, shape (n_clips, n_features, n_frames), float32, or None
        ``spectrogram_batch(Y, sr, cfg)``, made from the STFT the selection
        already computed (None when ``transform`` is False).
    """
    from lfkit.features import power_tf, fft_frequencies

    t0 = time.perf_counter()
    changes = {k: v for k, v in dict(changes or {}).items() if not (k == "kind" and v == AUTO_KIND)}
    say = notice or (lambda message: None)
    Y = np.asarray(Y, dtype=np.float32)
    if Y.ndim != 2:
        raise DataError(f"clips must have shape (n_clips, n_samples), got {Y.shape}")
    labels = np.asarray([str(v) for v in labels])
    classes, y = np.unique(labels, return_inverse=True)
    base = FrontendConfig().replace(**{k: v for k, v in changes.items() if k not in CHOSEN_FIELDS})
    n_fft = int(changes.get("n_fft", choose_n_fft(sr, Y.shape[1])))
    hop = int(changes.get("hop_length", max(1, n_fft // 4)))
    base = base.replace(n_fft=n_fft, hop_length=hop)
    nyquist = sr / 2.0
    fixed_band = _given_band(changes)
    fixed_kind = changes.get("kind")
    report = {"n_fft": n_fft, "hop_length": hop, "class_band_hz": None, "candidates": [], "chosen": None,
              "metric": "cross-validated ridge-probe AUC on the time-averaged spectrum", "seconds": None}
    counts = np.bincount(y) if len(classes) else np.zeros(1, int)
    if len(classes) < 2 or counts.min() < 3:
        if len(classes) == 1 and fixed_band is None and len(Y) >= 3 and Y.shape[1] >= n_fft:
            fixed_band = _target_band(Y, sr, n_fft, hop)
            report["target_band_hz"] = None if fixed_band is None else [
                fixed_band[0], nyquist if fixed_band[1] is None else fixed_band[1]]
            reason = "one class: the band holds the target's own lines; kind stays log"
        else:
            reason = "too few labelled clips (need 2 classes of 3)"
        cfg = _fallback(base, fixed_kind, fixed_band)
        say(f"front end: {reason}; using {describe(cfg)}")
        report["reason"] = reason
        report["seconds"] = time.perf_counter() - t0
        if not transform:
            return cfg, report, None
        from lfkit.features import spectrogram_batch

        return cfg, report, spectrogram_batch(Y, sr, cfg)
    if Y.shape[1] < n_fft:
        raise DataError(f"clips have {Y.shape[1]} samples, shorter than one FFT window (n_fft={n_fft})")
    block = max(1, _BLOCK_BYTES // (4 * (n_fft // 2 + 1) * (1 + (Y.shape[1] - n_fft) // hop)))
    P_blocks = [power_tf(Y[i : i + block], n_fft, hop) for i in range(0, len(Y), block)]
    freqs = fft_frequencies(sr, n_fft)
    # The band where the classes differ: time-averaged log power with each clip's mean level removed
    # (a gain is no difference; a noise colour shared by the classes is none either).
    D = np.concatenate([10.0 * np.log10(np.maximum(P.mean(axis=1, dtype=np.float64), 1e-20)) for P in P_blocks])
    if fixed_band is None:
        found = class_band(D - D.mean(axis=1, keepdims=True), y, freqs, seed)
        if found:
            band = _snap_band(found, sr / n_fft, nyquist)
            report["class_band_hz"] = [band[0], nyquist if band[1] is None else band[1]]
        else:
            band = (0.0, None)
            say("front end: the classes differ in no frequency bin (time-averaged spectra); "
                "keeping the full band")
    else:
        band = fixed_band
    cfg, score, best = _score_kinds(P_blocks, y, sr, base.replace(fmin=band[0], fmax=band[1]),
                                    (fixed_kind,) if fixed_kind else AUTO_KINDS, seed, report, say)
    report["seconds"] = time.perf_counter() - t0
    say(f"front end chosen from the data: {describe(cfg)} (probe AUC {score:.3f}, best {best:.3f}; "
        f"ties go to the simpler; {report['seconds']:.1f} s)")
    if not transform:
        return cfg, report, None
    from lfkit.features import transform_power, frontend_kernels

    kern = frontend_kernels(cfg, sr)
    X = np.concatenate([transform_power(P[..., kern.lo : kern.hi], kern, cfg) for P in P_blocks])
    return cfg, report, np.ascontiguousarray(X.transpose(0, 2, 1))


def _score_kinds(P_blocks, y, sr, base: FrontendConfig, kinds, seed, report, say):
    """Probe each kind on ``base``'s band; the first tied with the best wins.

    Tied: within :data:`TIE` of the best score, or within the standard error
    of its own score (:func:`lfkit.probe.auc_standard_error`, the smallest
    class against the rest), so that few clips do not trade the simpler kind
    for a difference they cannot show.

    Appends one entry per kind to ``report["candidates"]`` and sets
    ``report["chosen"]``. Returns (cfg, its score, the best score).
    """
    from lfkit.features import frontend_kernels

    stats, cands = None, []
    for kind in kinds:
        cfg = base.replace(kind=kind)
        entry = {"kind": kind, "fmin": cfg.fmin, "fmax": cfg.fmax}
        try:
            if stats is None and kind in ("log", "whiten"):
                kern = frontend_kernels(cfg, sr)
                stats = _fft_stats(P_blocks, kern.lo, kern.hi)
            entry["score"] = probe_score(_time_averaged(P_blocks, stats, cfg, sr), y, seed)
        except ParameterError as exc:  # e.g. a band too narrow for n_mels filters
            entry.update(score=None, error=str(exc))
        else:
            cands.append((len(report["candidates"]), cfg, entry["score"]))
            say(f"front end candidate: {describe(cfg)}: probe AUC {entry['score']:.3f}")
        report["candidates"].append(entry)
    if not cands:
        raise ParameterError("no front-end candidate could be computed for these clips; give --kind and the band")
    best = max(c[2] for c in cands)
    counts = np.bincount(np.unique(y, return_inverse=True)[1])
    n_pos, n_neg = int(counts.min()), int(len(y) - counts.min())

    def tied(score):  # within TIE, or within one standard error of the score on this many clips
        return score >= best - max(TIE, auc_standard_error(score, n_pos, n_neg))

    index, cfg, score = next(c for c in cands if tied(c[2]))
    report["chosen"] = index
    return cfg, score, best


def _snap_band(band, df: float, nyquist: float):
    """The class band made usable: at least :data:`MIN_BAND_BINS` bins wide; today's 0-1000 Hz when it lies
    inside that (give or take a tenth of its width); the full band when it reaches from within a tenth of the
    Nyquist frequency of 0 to within a tenth of it."""
    lo, hi = band
    width = max(hi - lo, MIN_BAND_BINS * df)
    mid = 0.5 * (lo + hi)
    lo, hi = max(0.0, mid - width / 2), mid + width / 2
    if lo == 0.0:
        hi = max(hi, width)
    hi = min(hi, nyquist)
    d = FrontendConfig()
    if d.fmax is not None and d.fmax < nyquist:
        tol = 0.1 * (d.fmax - d.fmin)
        if lo >= d.fmin - tol and hi <= d.fmax + tol:
            return d.fmin, d.fmax
    if lo <= 0.1 * nyquist and hi >= 0.9 * nyquist:
        return 0.0, None
    return lo, hi


def _target_band(Y: np.ndarray, sr: float, n_fft: int, hop: int):
    """The band of one class's own lines (one-class training without other labels).

    Bins whose line strength (:func:`lfkit.floor.line_strength_db`), averaged
    over the clips, stands more than 5 robust standard deviations (median
    absolute deviation across bins) above the median bin; the band around
    them as :func:`class_band` widens it. None (the full band) when no bin
    stands out.
    """
    from lfkit.features import power_tf, fft_frequencies
    from lfkit.floor import line_strength_db

    R = np.concatenate([line_strength_db(power_tf(Y[i : i + 64], n_fft, hop).transpose(0, 2, 1))
                        for i in range(0, len(Y), 64)]).mean(axis=0)
    med = np.median(R)
    mad = 1.4826 * np.median(np.abs(R - med))
    sig = np.flatnonzero(R > med + 5 * max(mad, 1e-6))
    if sig.size == 0:
        return (0.0, None)
    freqs = fft_frequencies(sr, n_fft)
    df = sr / n_fft
    lo, hi = float(freqs[sig[0]]), float(freqs[sig[-1]])
    pad = max(3 * df, 0.1 * (hi - lo))
    return _snap_band((max(0.0, lo - pad), min(sr / 2, hi + pad)), df, sr / 2)


def _fallback(base: FrontendConfig, kind, band) -> FrontendConfig:
    cfg = FrontendConfig().replace(**{k: getattr(base, k) for k in ("sr", "n_mels", "n_mfcc", "norm")})
    cfg = cfg.replace(n_fft=base.n_fft, hop_length=base.hop_length)
    if kind:
        cfg = cfg.replace(kind=kind)
    if band is not None:
        cfg = cfg.replace(fmin=band[0], fmax=band[1])
    return cfg


def summary(report: dict, cfg: FrontendConfig) -> str:
    """One line saying what was chosen and why (for a caller that holds the notices until its checks pass)."""
    if report.get("reason"):
        return f"front end: {report['reason']}; using {describe(cfg)}"
    c = report["candidates"][report["chosen"]]
    return f"front end chosen from the data: {describe(cfg)} (probe AUC {c['score']:.3f})"


def describe(cfg: FrontendConfig) -> str:
    """``kind=log 0-1000 Hz n_fft=4096 hop_length=1024``: a front end in one phrase."""
    top = "nyquist" if cfg.fmax is None else f"{cfg.fmax:g}"
    return f"kind={cfg.kind} {cfg.fmin:g}-{top} Hz n_fft={cfg.n_fft} hop_length={cfg.hop_length}"


def frontend_flags(cfg: FrontendConfig) -> str:
    """The command-line flags that give ``cfg`` (for ``lfkit spectro --kind auto``)."""
    top = "nyquist" if cfg.fmax is None else f"{cfg.fmax:g}"
    out = f"--kind {cfg.kind} --n-fft {cfg.n_fft} --hop-length {cfg.hop_length} --fmin {cfg.fmin:g} --fmax {top}"
    d = FrontendConfig()
    for name in ("n_mels", "n_mfcc", "norm", "sr"):
        if getattr(cfg, name) != getattr(d, name):
            out += f" --{name.replace('_', '-')} {getattr(cfg, name)}"
    return out
