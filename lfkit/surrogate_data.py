"""Surrogate classes made from the positives themselves, usable on any audio.

A one-class extractor learns to tell the target from surrogate classes. The
classes here are made by editing the positives' own waveforms, so they have
the target's noise, level, recording chain and line shapes, and differ only in
what makes another source another source:

* ``shift``: every line moved by a few per cent by resampling (another
  machine of the same kind running at another speed); one factor per class,
  ``1 +- 3..12 %``; the clip keeps its length and the band a slowed-down copy
  leaves empty near Nyquist is filled with noise at the level just below it;
* ``notch``: some of the target's lines removed (band-stop), the removed band
  refilled with noise at the floor around it, so only the line is missing;
* ``add``: a copy of one of the target's lines added at a new frequency;
* ``background``: crops of the user's recordings that hold no target
  (``--background DIR``), scaled to the positives' level.

Line edits work on a short-time Fourier transform (Hann window of about
0.1 s, hop a quarter of it), so a line's energy is confined to a few bins and
can be removed or moved whole. The target's lines are found with
:func:`find_lines` on the positives' mean spectrum (never read from labels).
"""

from __future__ import annotations

import numpy as np

from lfkit.config import SURROGATE_SOURCES
from lfkit.errors import DataError, ParameterError

__all__ = ["SURROGATE_KINDS", "parse_surrogates", "edit_window", "find_lines", "shift_frequency", "remove_lines",
           "add_line", "load_background", "data_surrogates"]

#: Every surrogate source, in the order classes are allotted.
SURROGATE_KINDS = SURROGATE_SOURCES
#: Smallest and largest relative frequency shift of a ``shift`` class.
SHIFT_RANGE = (0.03, 0.12)


def parse_surrogates(text) -> tuple:
    """``"shift,notch,tones"`` -> ``("shift", "notch", "tones")``; unknown or empty names are refused."""
    names = [s.strip() for s in str(text).split(",") if s.strip()]
    if not names:
        raise ParameterError(f"surrogates={text!r} names no surrogate source; choose from: {', '.join(SURROGATE_KINDS)}")
    bad = [n for n in names if n not in SURROGATE_KINDS]
    if bad:
        raise ParameterError(f"surrogates={text!r}: {bad[0]!r} is not a surrogate source; "
                             f"choose from: {', '.join(SURROGATE_KINDS)}")
    return tuple(dict.fromkeys(names))


def edit_window(sr: int) -> int:
    """STFT length used for line edits: the power of two nearest to 0.1 s (4096 at 44.1 kHz)."""
    return int(2 ** max(6, round(np.log2(sr / 10.0))))


def _stft(y, n):
    import scipy.signal

    return scipy.signal.stft(y, nperseg=n, noverlap=3 * n // 4, window="hann", boundary="even", padded=True)[2]


def _istft(Z, n, length):
    import scipy.signal

    y = scipy.signal.istft(Z, nperseg=n, noverlap=3 * n // 4, window="hann", boundary=True)[1]
    return np.resize(y, length) if len(y) < length else y[:length]


def find_lines(Y, sr: int, max_lines: int = 8, z_min: float = 6.0) -> list[float]:
    """The strongest spectral lines of clips ``Y``, from their mean STFT power.

    Parameters
    ----------
    Y : np.ndarray, shape (n_clips, n_samples)
        Waveforms at ``sr`` Hz.
    max_lines : int
        Most lines returned (the strongest).
    z_min : float
        A line stands this many robust standard deviations (MAD) above the
        spectrum's running median (31 bins); if none does, the 3 strongest
        local maxima are returned.

    Returns
    -------
    list of float
        Sorted line frequencies in Hz (empty only for silent clips).
    """
    import scipy.ndimage

    Y = np.atleast_2d(np.asarray(Y, dtype=np.float64))
    n = min(edit_window(sr), Y.shape[1])
    P = np.mean([np.mean(np.abs(_stft(y, n)) ** 2, axis=1) for y in Y[:64]], axis=0)
    L = 10.0 * np.log10(np.maximum(P, 1e-30))
    W = L - scipy.ndimage.median_filter(L, size=31, mode="nearest")
    W[:2] = -np.inf  # DC
    mad = 1.4826 * np.median(np.abs(W[2:] - np.median(W[2:]))) + 1e-9
    z = W / mad
    peaks = [k for k in range(2, len(z) - 1) if z[k] > z[k - 1] and z[k] >= z[k + 1]]
    strong = [k for k in peaks if z[k] >= z_min]
    chosen = sorted(strong or peaks, key=lambda k: -z[k])[: (max_lines if strong else 3)]
    return sorted(round(float(k * sr / n), 1) for k in chosen if np.isfinite(z[k]))


def shift_frequency(y, factor: float, rng=None) -> np.ndarray:
    """Every frequency of ``y`` multiplied by ``factor`` by band-limited resampling; length kept.

    The clip is extended by its mirror image (continuous at both seams), so a
    speed-up has samples to read. A slow-down (``factor < 1``) leaves the top
    ``1 - factor`` of the band empty; it is filled with Gaussian noise at the
    level of the band just below, so the shift leaves no gap to learn.

    Returns
    -------
    np.ndarray, shape (n_samples,), float32
    """
    import scipy.signal

    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    ext = np.concatenate([y, y[::-1]])
    out = scipy.signal.resample(ext, int(round(len(ext) / factor)))[:n]
    if factor < 1.0:
        rng = rng or np.random.default_rng(0)
        F = np.fft.rfft(out)
        cut = int(len(F) * factor)
        ref = np.abs(F[max(1, cut - max(8, cut // 20)) : cut])
        level = np.sqrt(np.mean(ref**2)) if len(ref) else 0.0
        k = len(F) - cut
        F[cut:] = level * (rng.standard_normal(k) + 1j * rng.standard_normal(k)) / np.sqrt(2.0)
        out = np.fft.irfft(F, n)
    return out.astype(np.float32)


def _band(freq_hz, sr, n, width_hz):
    df = sr / n
    half = max(2.0 * df, width_hz if width_hz else 0.0, 0.02 * freq_hz)
    lo, hi = int(np.floor((freq_hz - half) / df)), int(np.ceil((freq_hz + half) / df))
    return max(lo, 1), min(hi, n // 2)


def remove_lines(y, sr: int, freqs_hz, rng, width_hz: float | None = None) -> np.ndarray:
    """``y`` with the lines at ``freqs_hz`` removed: their STFT bins replaced by noise at the floor around them.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,)
    freqs_hz : sequence of float
        Lines to remove.
    rng : np.random.Generator
        Draws the refill noise.
    width_hz : float or None
        Half-width of the removed band; default two STFT bins or 2 % of the
        frequency, whichever is wider.

    Returns
    -------
    np.ndarray, shape (n_samples,), float32
    """
    y = np.asarray(y, dtype=np.float64)
    n = min(edit_window(sr), len(y))
    Z = _stft(y, n)
    N = _stft(rng.standard_normal(len(y)), n)  # real noise, so the refill is a consistent STFT
    N /= np.sqrt(np.mean(np.abs(N[1:-1]) ** 2))
    for f in freqs_hz:
        lo, hi = _band(float(f), sr, n, width_hz)
        if hi < lo:
            continue
        w = hi - lo + 1
        ring = np.r_[max(1, lo - 3 * w) : lo, hi + 1 : min(Z.shape[0], hi + 1 + 3 * w)]
        floor = np.sqrt(np.median(np.abs(Z[ring]) ** 2, axis=0) / np.log(2.0)) if len(ring) else np.zeros(Z.shape[1])
        Z[lo : hi + 1] = N[lo : hi + 1] * floor[None, :]  # median |z|^2 of a unit complex Gaussian is ln 2
    return _istft(Z, n, len(y)).astype(np.float32)


def add_line(y, sr: int, from_hz: float, to_hz: float, width_hz: float | None = None) -> np.ndarray:
    """``y`` plus a copy of its line at ``from_hz`` moved to ``to_hz`` (the copy keeps the line's level and shape).

    The copied STFT bins are moved by a whole number of bins and their phase
    advanced per frame as a tone at the new frequency would advance.

    Returns
    -------
    np.ndarray, shape (n_samples,), float32
    """
    y = np.asarray(y, dtype=np.float64)
    n = min(edit_window(sr), len(y))
    Z = _stft(y, n)
    lo, hi = _band(float(from_hz), sr, n, width_hz)
    dk = int(round((to_hz - from_hz) * n / sr))
    if hi < lo or dk == 0 or lo + dk < 1 or hi + dk >= Z.shape[0]:
        return y.astype(np.float32)
    hop = n // 4
    phase = np.exp(2j * np.pi * dk * hop * np.arange(Z.shape[1]) / n)
    add = np.zeros_like(Z)
    add[lo + dk : hi + dk + 1] = Z[lo : hi + 1] * phase[None, :]
    return (y + _istft(add, n, len(y))).astype(np.float32)


def load_background(path, sr: int, n_samples: int, seed: int = 0, n_crops: int = 64,
                    channel: int | None = None) -> np.ndarray:
    """Clips of ``n_samples`` cut from the audio under ``path`` (resampled to ``sr``).

    ``channel`` (0-based, ``--channel``, as for the training clips) is the
    channel read from each recording; None averages them.

    Returns
    -------
    np.ndarray, shape (n_crops, n_samples), float32
        Crops at random offsets, drawn evenly across the files.

    Raises
    ------
    DataError
        ``path`` holds no audio, or no file is as long as a clip.
    """
    from lfkit import features, io
    from lfkit.segments import ReadPlan, read_clip

    plan = ReadPlan(channel=channel)  # the reader of every clip; a bad channel is refused before reading
    try:
        clips = [c for c in io.find_inputs([str(path)], allow_npy=False) if c["_file"] != io.STDIO]
    except DataError as exc:
        raise DataError(f"background={str(path)!r}: {exc}") from None
    clips = [c for c in clips if str(c["_file"]).lower().endswith(io.AUDIO_EXTENSIONS)]
    if not clips:
        raise DataError(f"background={str(path)!r} holds no audio ({', '.join(io.AUDIO_EXTENSIONS)})")
    waves = []
    for c in clips:
        y, file_sr = read_clip(c, plan)
        if file_sr != sr:
            y = features.resample(y, file_sr, sr)
        if len(y) >= n_samples:
            waves.append(np.asarray(y, dtype=np.float32))
    if not waves:
        raise DataError(f"background={str(path)!r}: no recording is as long as a clip ({n_samples / sr:g} s)")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xB6]))
    out = []
    for i in range(n_crops):
        w = waves[i % len(waves)]
        s = int(rng.integers(0, len(w) - n_samples + 1))
        out.append(w[s : s + n_samples])
    return np.stack(out)


def _rms(Y) -> float:
    return float(np.sqrt(np.mean(np.square(Y, dtype=np.float64))))


def data_surrogates(Y_pos, sr: int, kinds, n_classes: dict, per_class: int, seed: int = 0, lines=None,
                    background=None):
    """Waveforms of the data-made surrogate classes.

    Parameters
    ----------
    Y_pos : np.ndarray, shape (n_pos, n_samples)
        The positives' waveforms at ``sr`` Hz.
    kinds : sequence of str
        Data-made kinds among ``shift``, ``notch``, ``add``, ``background``.
    n_classes : dict
        Classes per kind, e.g. ``{"shift": 4, "notch": 4}``.
    per_class : int
        Clips per class, each made from a positive drawn at random.
    lines : list of float or None
        The target's lines in Hz (default :func:`find_lines` of ``Y_pos``).
    background : np.ndarray, shape (n_crops, n_samples), or None
        :func:`load_background` crops, needed by ``background``.

    Returns
    -------
    Y : np.ndarray, shape (n_clips, n_samples), float32
    y : np.ndarray of int, shape (n_clips,)
        Class index 0 .. len(names) - 1.
    names : list of str
        ``shift+5.2%``, ``notch340``, ``add777>512``, ``background``...
    """
    Y_pos = np.asarray(Y_pos, dtype=np.float32)
    lines = find_lines(Y_pos, sr) if lines is None else [float(f) for f in lines]
    nyq = sr / 2.0
    plan_rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5D47]))
    plan = []
    for kind in kinds:
        for j in range(int(n_classes.get(kind, 0))):
            if kind == "shift":
                sign = 1.0 if j % 2 == 0 else -1.0
                plan.append(("shift", 1.0 + sign * float(plan_rng.uniform(*SHIFT_RANGE))))
            elif kind == "notch" and lines:
                k = int(plan_rng.integers(1, max(2, len(lines))))
                plan.append(("notch", sorted(plan_rng.choice(lines, size=min(k, len(lines)), replace=False).tolist())))
            elif kind == "add" and lines:
                src = float(plan_rng.choice(lines))
                lo, hi = max(20.0, 0.5 * min(lines)), min(0.95 * nyq, 1.5 * max(lines) + 50.0)
                gap = max(15.0, 4.0 * sr / edit_window(sr))
                for _ in range(100):
                    to = float(plan_rng.uniform(lo, hi))
                    if all(abs(to - f) >= gap for f in lines):
                        break
                plan.append(("add", (src, round(to, 1))))
            elif kind == "background":
                if background is None:
                    raise ParameterError("surrogates: 'background' needs --background DIR")
                plan.append(("background", None))
    level = _rms(Y_pos)
    Y, labels, names = [], [], []
    for c, (kind, arg) in enumerate(plan):
        names.append({"shift": lambda a: f"shift{100 * (a - 1):+.1f}%",
                      "notch": lambda a: "notch" + "+".join(f"{f:g}" for f in a),
                      "add": lambda a: f"add{a[0]:g}>{a[1]:g}",
                      "background": lambda a: "background"}[kind](arg))
        for i in range(per_class):
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5D48, c, i]))
            y = Y_pos[int(rng.integers(len(Y_pos)))]
            if kind == "shift":
                out = shift_frequency(y, arg, rng)
            elif kind == "notch":
                out = remove_lines(y, sr, arg, rng)
            elif kind == "add":
                out = add_line(y, sr, arg[0], arg[1])
            else:
                b = background[int(rng.integers(len(background)))]
                out = (b * (level / max(_rms(b), 1e-12))).astype(np.float32)
            Y.append(out)
            labels.append(c)
    if not Y:
        return np.zeros((0, Y_pos.shape[1]), np.float32), np.zeros(0, np.int64), []
    return np.stack(Y).astype(np.float32), np.asarray(labels, dtype=np.int64), names
