"""Tone-in-noise generator: the low-feature clips of the seed experiments.

A clip is a sum of sinusoids (the signature) in Gaussian noise. The SNR is
per tone, ``10*log10((A**2/2)/sigma**2)``: ``A`` a tone's amplitude and
``sigma**2`` the noise variance over the full band, so a clip at -30 dB holds
tones each 30 dB below the broadband noise power. Everything is pure: arrays
and dicts out, files are written by :mod:`lfkit.io`.
"""

from __future__ import annotations

import math

import numpy as np

from lfkit.config import SynthConfig
from lfkit.errors import ParameterError, check_seed
from lfkit.waveform import colored_noise  # noqa: F401  (public here too: the noise lfkit synth draws)

__all__ = [
    "tone_amplitude",
    "colored_noise",
    "synth_clip",
    "random_tones",
    "binary_set",
    "multiclass_set",
    "parse_snr",
    "parse_tones",
    "clip_rng",
]

#: Smallest distance, in Hz, between a negative's own random tones and the positive tones.
MIN_TONE_SEPARATION_HZ = 15.0


def tone_amplitude(snr_db: float, noise_var: float = 1.0) -> float:
    """Amplitude ``A`` of a tone with per-tone SNR ``snr_db`` against noise of variance ``noise_var``."""
    return math.sqrt(2.0 * noise_var * 10.0 ** (snr_db / 10.0))


def _check_tones(tones, sr: int) -> np.ndarray:
    t = np.asarray(tones, dtype=float).ravel()
    if t.size == 0:
        raise ParameterError("tones is empty; give at least one frequency in Hz")
    bad = t[(t <= 0) | (t >= sr / 2) | ~np.isfinite(t)]
    if bad.size:
        raise ParameterError(f"tones={bad[0]:g} Hz is outside (0, sr/2) = (0, {sr / 2:g}) Hz")
    return t


def synth_clip(tones, snr_db, cfg: SynthConfig, rng: np.random.Generator, backgrounds=None):
    """One clip: tones at per-tone SNR in coloured noise (or a background recording), scaled into [-1, 1].

    Parameters
    ----------
    tones : sequence of float
        Tone frequencies in Hz, each in (0, sr/2).
    snr_db : float
        Per-tone SNR in dB (before any ``gain_spread_db``).
    cfg : SynthConfig
        Sample rate, duration, noise colour and realism knobs.
    rng : np.random.Generator
    backgrounds : list of np.ndarray or None
        The user's recordings at ``cfg.sr`` (:func:`lfkit.augment.load_backgrounds`):
        a random excerpt of one replaces the generated noise, the per-tone
        SNR is measured against the excerpt's variance over the full band,
        and the excerpt keeps its level (the clip is scaled down to
        ``cfg.peak`` only if it would exceed it).

    Returns
    -------
    y : np.ndarray, shape (round(duration_s * sr),), float32
        The clip, peak ``cfg.peak`` (generated noise). Scaling multiplies
        tones and noise alike, so the SNR is unchanged.
    """
    sr = int(cfg.sr)
    if not cfg.duration_s > 0:
        raise ParameterError(f"duration_s={cfg.duration_s!r} must be positive")
    if sr <= 0:
        raise ParameterError(f"sr={sr!r} must be a positive integer")
    tones = _check_tones(tones, sr)
    n = int(round(cfg.duration_s * sr))
    if n < 1:
        raise ParameterError(f"duration_s={cfg.duration_s!r} gives no samples at sr={sr}")
    t = np.arange(n) / sr
    if backgrounds:
        from lfkit.augment import background_excerpt

        noise = background_excerpt(backgrounds, n, rng).astype(np.float64)
        noise_var = float(np.var(noise))
    else:
        noise, noise_var = colored_noise(n, cfg.noise, rng), 1.0
    sig = np.zeros(n)
    for f0 in tones:
        snr = snr_db + (rng.normal(0.0, cfg.gain_spread_db) if cfg.gain_spread_db > 0 else 0.0)
        a = tone_amplitude(snr, noise_var)
        f = f0 + (rng.normal(0.0, cfg.jitter_hz) if cfg.jitter_hz > 0 else 0.0)
        slope = rng.uniform(-cfg.drift_hz, cfg.drift_hz) / cfg.duration_s if cfg.drift_hz > 0 else 0.0
        for k in range(1, cfg.harmonics + 2):
            fk = k * f
            if fk + abs(slope) * cfg.duration_s >= sr / 2:
                break
            phase = 2 * np.pi * (fk * t + 0.5 * k * slope * t**2) + rng.uniform(0, 2 * np.pi)
            sig += (a / k) * np.sin(phase)
    y = sig + noise
    peak = np.max(np.abs(y))
    if not backgrounds or peak > cfg.peak:
        y *= cfg.peak / peak
    return y.astype(np.float32)


def random_tones(rng: np.random.Generator, cfg: SynthConfig, avoid=(), n_tones: int | None = None) -> list[float]:
    """Draw ``min_tones``..``max_tones`` distinct random tone frequencies (Hz, 0.1 Hz grid).

    Tones closer than :data:`MIN_TONE_SEPARATION_HZ` to a frequency in
    ``avoid`` or to each other are redrawn, so labels stay honest.
    """
    k = n_tones if n_tones is not None else int(rng.integers(cfg.min_tones, cfg.max_tones + 1))
    out: list[float] = []
    avoid = list(avoid)
    for _ in range(10000):
        if len(out) == k:
            break
        f = round(float(rng.uniform(cfg.tone_fmin_hz, cfg.tone_fmax_hz)), 1)
        if all(abs(f - g) >= MIN_TONE_SEPARATION_HZ for g in avoid + out):
            out.append(f)
    if len(out) < k:
        raise ParameterError("could not place the random tones; widen tone_fmin_hz..tone_fmax_hz")
    return sorted(out)


def parse_snr(text) -> tuple[float, float]:
    """``"-30"`` -> (-30, -30); ``"-35:-20"`` -> (-35, -20) (each clip draws uniformly)."""
    s = str(text)
    try:
        parts = [float(p) for p in s.split(":")] if ":" in s else [float(s)] * 2
    except ValueError:
        raise ParameterError(f"snr={s!r} must be a number of dB or LO:HI") from None
    if len(parts) != 2 or parts[0] > parts[1] or not all(map(math.isfinite, parts)):
        raise ParameterError(f"snr={s!r} must be a number of dB or LO:HI with LO <= HI")
    if not all(-200 <= p <= 200 for p in parts):  # 10**(snr/10) overflows long before 4000 dB
        raise ParameterError(f"snr={s!r} must lie in [-200, 200] dB")
    return parts[0], parts[1]


def parse_tones(text) -> list[float]:
    """``"120,340,777"`` -> [120.0, 340.0, 777.0]."""
    try:
        return [float(p) for p in str(text).replace(";", ",").split(",") if p.strip()]
    except ValueError:
        raise ParameterError(f"tones={text!r} must be comma-separated frequencies in Hz") from None


def clip_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of clip ``index`` of a set seeded with ``seed`` (independent streams)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))


def _draw_snr(rng, snr):
    lo, hi = snr
    return float(lo) if lo == hi else round(float(rng.uniform(lo, hi)), 2)


def _fmt_tones(tones) -> str:
    return ";".join(f"{f:g}" for f in tones)


def binary_set(positive, n: int, snr, cfg: SynthConfig, seed: int, label: str = "positive",
               positive_only: bool = False, backgrounds=None):
    """Plan and render a binary (or one-class) set.

    Half the clips are ``label`` (the positive tones), half ``negative``:
    random sets of ``min_tones``..``max_tones`` tones, half of which share
    one or two of the positive tones so the task is not trivial.

    Yields
    ------
    row : dict
        ``path``, ``label``, ``snr_db``, ``tones`` (``;``-separated Hz),
        ``noise``, ``shared`` (how many positive tones a negative holds).
    y : np.ndarray, shape (n_samples,), float32
    """
    if n < 1:
        raise ParameterError(f"n={n} must be a positive integer")
    if label == "negative":
        raise ParameterError("label='negative' is reserved for the other class; choose another name")
    positive = list(_check_tones(positive, cfg.sr))
    n_pos = n if positive_only else (n + 1) // 2
    for i in range(n):
        rng = clip_rng(seed, i)
        snr_db = _draw_snr(rng, snr)
        if i < n_pos:
            lab, tones, shared = label, positive, 0
        else:
            j = i - n_pos
            shared = int(rng.integers(1, 3)) if j % 2 == 0 else 0
            shared = min(shared, len(positive) - 1) if len(positive) > 1 else 0
            keep = sorted(rng.choice(positive, size=shared, replace=False).tolist()) if shared else []
            k = int(rng.integers(max(cfg.min_tones, 1), cfg.max_tones + 1))
            own = random_tones(rng, cfg, avoid=positive, n_tones=max(k - shared, 1))
            lab, tones = "negative", sorted(keep + own)
        y = synth_clip(tones, snr_db, cfg, rng, backgrounds)
        yield {"path": f"c{i:05d}.wav", "label": lab, "snr_db": f"{snr_db:g}", "tones": _fmt_tones(tones),
               "noise": "background" if backgrounds else cfg.noise, "shared": str(shared)}, y


def multiclass_set(signatures: dict, n: int, snr, cfg: SynthConfig, seed: int, backgrounds=None):
    """Plan and render ``n`` clips of every named signature.

    Parameters
    ----------
    signatures : dict of str -> list of float
        Class name to tone frequencies (Hz).

    Yields
    ------
    row : dict
    y : np.ndarray, shape (n_samples,), float32
    """
    if n < 1:
        raise ParameterError(f"n={n} must be a positive integer")
    i = 0
    for name, tones in signatures.items():
        tones = list(_check_tones(tones, cfg.sr))
        for _ in range(n):
            rng = clip_rng(seed, i)
            snr_db = _draw_snr(rng, snr)
            y = synth_clip(tones, snr_db, cfg, rng, backgrounds)
            yield {"path": f"c{i:05d}.wav", "label": name, "snr_db": f"{snr_db:g}",
                   "tones": _fmt_tones(tones), "noise": "background" if backgrounds else cfg.noise}, y
            i += 1


def random_signatures(k: int, cfg: SynthConfig, seed: int, prefix: str = "sig") -> dict:
    """``k`` random signatures named ``sig00``.. (1 to ``max_tones`` tones each)."""
    if k < 1:
        raise ParameterError(f"classes={k} must be a positive integer")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xC1A55]))
    width = max(2, len(str(k - 1)))
    return {f"{prefix}{j:0{width}d}": random_tones(rng, cfg) for j in range(k)}


def load_signatures(path) -> dict:
    """Read ``{name: [Hz, ...]}`` from a JSON file."""
    import json

    from lfkit.errors import DataError
    from lfkit.io import read_bytes

    try:
        sigs = json.loads(read_bytes(path).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a JSON object of signatures ({exc})") from None
    if not isinstance(sigs, dict) or not sigs or not all(isinstance(v, list) and v for v in sigs.values()):
        raise DataError(f"{path}: expected a JSON object {{name: [Hz, ...]}} with at least one signature")
    if "negative" in sigs:
        raise DataError(f"{path}: 'negative' is reserved; rename that signature")
    return {str(k): [float(f) for f in v] for k, v in sigs.items()}


def synthesize(output, cfg: SynthConfig, snr="-30", seed: int = 0, tones=None, positive=None, n=None,
               label: str = "positive", positive_only: bool = False, classes=None, signatures=None,
               subtype: str = "PCM_16", background=None, channel: int | None = None) -> None:
    """Generate one clip or a dataset and write it (the whole of ``lfkit synth``).

    Parameters
    ----------
    output : str
        A WAV path or ``-`` for one clip; a folder for a set.
    cfg : SynthConfig
    snr : str
        Per-tone SNR in dB, or ``LO:HI`` drawn uniformly per clip.
    seed : int
        The same seed writes byte-identical files.
    tones : str or None
        One clip's tones (Hz, comma-separated); random when None.
    positive : str or None
        A binary set's positive tones.
    n : int or None
        Set size (binary) or clips per class (multi-class).
    classes : int or None
        A multi-class set of this many random signatures.
    signatures : str or None
        A multi-class set of the signatures in this JSON file.
    subtype : str
        ``PCM_16`` or ``FLOAT``.
    background : str or None
        A folder of the user's own recordings (or one file): the tones go
        into random excerpts of them instead of generated noise, each tone's
        SNR measured against the excerpt (``cfg.noise`` is then unused).
    channel : int or None
        The channel (0-based) read from every ``background`` recording;
        None averages their channels. Only with ``background``.
    """
    from lfkit import io

    lo_hi = parse_snr(snr)
    check_seed(seed)
    if channel is not None and background is None:
        raise ParameterError(f"channel={channel!r} picks a channel of the --background recordings; give --background")
    modes = [m for m, v in (("--positive", positive), ("--classes", classes), ("--signatures", signatures)) if v]
    if len(modes) > 1:
        raise ParameterError(f"{' and '.join(modes)} cannot be combined: choose one kind of set")
    if not modes:
        if n is not None or positive_only:
            raise ParameterError("--n/--positive-only make a set: give --positive, --classes or --signatures")
        backgrounds = _backgrounds(background, cfg, output, channel)
        rng = clip_rng(seed, 0)
        t = parse_tones(tones) if tones is not None else random_tones(rng, cfg)
        snr_db = _draw_snr(rng, lo_hi)
        io.write_audio(synth_clip(t, snr_db, cfg, rng, backgrounds), cfg.sr, output, subtype)
        return
    if tones is not None:
        raise ParameterError("tones is for one clip; a set takes --positive, --classes or --signatures")
    if output in (None, io.STDIO):
        raise ParameterError("output='-': a set is a folder; give -o DIR")
    if n is None:
        raise ParameterError(f"n is required with {modes[0]}")
    io.check_outputs([output], [("signatures file", signatures)] if signatures else [])
    backgrounds = _backgrounds(background, cfg, output, channel)
    extra = {}
    if positive:
        items = binary_set(parse_tones(positive), n, lo_hi, cfg, seed, label=label, positive_only=positive_only,
                           backgrounds=backgrounds)
        extra["signatures.json"] = {label: parse_tones(positive)}
    else:
        if positive_only:
            raise ParameterError("positive_only is for binary sets (--positive)")
        sigs = random_signatures(classes, cfg, seed) if classes else load_signatures(signatures)
        items = multiclass_set(sigs, n, lo_hi, cfg, seed, backgrounds=backgrounds)
        extra["signatures.json"] = sigs
    extra["synth.json"] = {"synth": cfg.to_dict(), "snr": list(lo_hi), "seed": seed,
                           **({"background": str(background)} if background is not None else {}),
                           **({"channel": channel} if channel is not None else {})}
    io.write_dataset(output, items, cfg.sr, subtype=subtype, extra_json=extra)


def _backgrounds(background, cfg: SynthConfig, output, channel=None):
    """The user's recordings for ``--background`` at ``cfg.sr``, each at least one clip long (or None)."""
    if background is None:
        return None
    from lfkit import io
    from lfkit.augment import load_backgrounds

    io.check_outputs([output], [("background", background)])
    return load_backgrounds(background, cfg.sr, int(round(cfg.duration_s * cfg.sr)), channel=channel)
