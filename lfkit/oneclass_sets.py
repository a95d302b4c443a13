"""What a one-class extractor trains against: the positives beside their surrogate classes.

:func:`classifier_set` assembles the classes ``train-oneclass`` trains its
extractor on, from the sources named in ``OneClassConfig.surrogates``
(:mod:`lfkit.surrogate_data` for ``shift``, ``notch``, ``add`` and
``background``; :mod:`lfkit.surrogate` for ``tones``; ``aux`` for real
recordings of other sources). The ``n_surrogate`` generated classes are shared
out among the generated sources (``background`` gets one class); every label
of ``--aux`` data is one more class. All are made once, as spectrograms, and
reused every epoch.
"""

from __future__ import annotations

import numpy as np

from lfkit.errors import DataError, ParameterError

__all__ = ["check_sources", "positive_waves", "allot", "classifier_set", "dev_negatives", "snr_range",
           "noise_colour"]

#: Sources made by editing the positives' waveforms.
DATA_MADE = ("shift", "notch", "add", "background")


def snr_range(rows) -> tuple:
    """The positives' ``snr_db`` range from their labels, or the generator's default."""
    from lfkit.surrogate import DEFAULT_SNR

    vals = []
    for r in rows:
        try:
            vals.append(float(r.get("snr_db", "")))
        except ValueError:
            pass
    return (min(vals), max(vals)) if vals else DEFAULT_SNR


def noise_colour(rows) -> str:
    """The positives' most common ``noise`` label, else ``white``."""
    from lfkit.config import NOISE_KINDS

    kinds = [r.get("noise") for r in rows if r.get("noise") in NOISE_KINDS]
    return max(set(kinds), key=kinds.count) if kinds else "white"


def positive_waves(ds, rows, workers: int = 1):
    """The positives' waveforms at the dataset's rate, shape (n, n_samples); None for spectrogram folders."""
    from lfkit.data import load_inputs

    if not ds.sr or any(str(r.get("_file", "")).endswith(".npy") for r in rows):
        return None
    res = load_inputs(rows, ds.frontend, "waveform", workers, target_sr=ds.frontend.sr)
    bad = [r for r in res if isinstance(r, Exception)]
    if bad:
        raise DataError(str(bad[0]))
    return np.stack([r[0] for r in res]).astype(np.float32)


def allot(kinds, n_classes: int) -> dict:
    """Share ``n_classes`` out among the generated sources: ``background`` one, the rest evenly, in order."""
    gen = [k for k in kinds if k != "aux"]
    out = {k: 0 for k in gen}
    if "background" in out:
        out["background"] = 1
        n_classes -= 1
    rest = [k for k in gen if k != "background"]
    for i in range(max(0, n_classes)):
        if rest:
            out[rest[i % len(rest)]] += 1
    return out


def check_sources(cfg, aux=None, background=None, positive: str | None = None) -> list:
    """The surrogate sources ``cfg``, ``--aux`` and ``--background`` name, checked before any work.

    Raises
    ------
    ParameterError
        A source named without its flag (``background`` without ``--background``).
    DataError
        ``--aux`` data whose only label is the target's (read from its labels alone).
    """
    from lfkit import io
    from lfkit.surrogate_data import parse_surrogates

    kinds = list(parse_surrogates(cfg.surrogates))
    for flag, value, name in (("--aux DATA", aux, "aux"), ("--background DIR", background, "background")):
        if value is not None and name not in kinds:
            kinds.append(name)
        if value is None and name in kinds:
            raise ParameterError(f"surrogates={cfg.surrogates!r}: {name!r} needs {flag}")
    if aux is not None and positive is not None:
        rows, _ = io.read_labels(aux)
        if rows and all(r.get("label") == positive for r in rows):
            raise DataError(f"aux={str(aux)!r} holds only the label {positive!r}, the target; "
                            "--aux needs recordings of other sources")
    return kinds


def _kinds(cfg, aux, background, have_waves: bool, notice):
    kinds = check_sources(cfg, aux, background)
    if not have_waves and any(k in DATA_MADE for k in kinds):
        dropped = [k for k in kinds if k in DATA_MADE]
        kinds = [k for k in kinds if k not in DATA_MADE]
        if notice:
            notice(f"surrogates {', '.join(dropped)} need the positives' audio (these are spectrograms): skipped")
        if not kinds:
            raise DataError("no surrogate source left: the data-made surrogates need audio; add tones or --aux")
    return kinds


def _aux_set(aux, ds, X_pos, positive, workers, notice, channel=None):
    from lfkit.data import load_dataset

    ax = load_dataset(aux, ds.frontend.to_dict(), workers=workers, channel=channel)
    if ax.X.shape[1:] != X_pos.shape[1:]:
        raise DataError(f"{aux}: clips of shape {ax.X.shape[1:]} differ from the positives' {X_pos.shape[1:]}")
    keep = np.array([lab != positive for lab in ax.labels])
    if not keep.any():
        raise DataError(f"aux={str(aux)!r} holds only the label {positive!r}, the target; "
                        "--aux needs recordings of other sources")
    if not keep.all() and notice:
        notice(f"aux: {int((~keep).sum())} clip(s) labelled {positive!r} (the target) left out")
    labels = [lab for lab, k in zip(ax.labels, keep) if k]
    return ax.X[keep], labels


def classifier_set(ds, X_pos, pos_rows, cfg, aux=None, workers: int = 1, notice=None, Y_pos=None,
                   background=None, positive: str = "positive", seed: int | None = None, per_class=None,
                   quiet: bool = False, channel: int | None = None):
    """Training set of a learned extractor: the positives (class 0) and the surrogate classes.

    Parameters
    ----------
    ds : lfkit.data.Dataset
        The loaded data (front end, sample rate, clip length).
    X_pos : np.ndarray, shape (n_pos, n_freq, n_frames)
    pos_rows : list of dict
        The positives' ``labels.csv`` rows (``snr_db``, ``noise`` shape the ``tones`` classes).
    Y_pos : np.ndarray, shape (n_pos, n_samples), or None
        The positives' waveforms (None: spectrogram folder, data-made sources skipped).
    background : np.ndarray, shape (n_crops, n_samples), or None
        Crops of ``--background`` recordings.
    channel : int or None
        Channel of the ``aux`` recordings to read (0-based, as for the positives); None averages them.

    Returns
    -------
    X : np.ndarray, shape (N, n_freq, n_frames)
    y : np.ndarray of int, shape (N,)
    names : list of str
        ``target`` then one name per surrogate class.
    info : dict
        What was made (sources, classes per source, target lines, SNR range).
    """
    from lfkit import features
    from lfkit import surrogate as sur
    from lfkit.surrogate_data import data_surrogates, find_lines

    seed = cfg.seed if seed is None else seed
    kinds = _kinds(cfg, aux, background, Y_pos is not None, None if quiet else notice)
    counts = allot(kinds, cfg.n_surrogate)
    per = per_class or cfg.clips_per_class or max(10, -(-len(X_pos) // 4))
    parts, labels, names = [X_pos], [np.zeros(len(X_pos), np.int64)], ["target"]
    info = {"sources": kinds, "classes": dict(counts), "clips_per_class": per}
    made = [k for k in kinds if k in DATA_MADE and counts.get(k)]
    if made:
        lines = find_lines(Y_pos, ds.sr)
        info["target_lines_hz"] = lines
        Y, yk, nk = data_surrogates(Y_pos, ds.sr, made, counts, per, seed, lines, background)
        if len(Y):
            parts.append(features.spectrogram_batch(Y, ds.sr, ds.frontend))
            labels.append(len(names) + yk)
            names.extend(nk)
    if counts.get("tones"):
        tones = sur.estimate_tones(X_pos, sur.bin_frequencies(ds.frontend, ds.sr) if ds.sr else None)
        snr, noise = snr_range(pos_rows), noise_colour(pos_rows)
        Y, yt = sur.surrogate_waveforms(tones, counts["tones"], per, ds.sr, ds.n_samples, snr, noise, seed)
        parts.append(features.spectrogram_batch(Y, ds.sr, ds.frontend))
        labels.append(len(names) + yt)
        names.extend(f"tones{j:02d}" for j in range(counts["tones"]))
        info.update(target_tones_hz=tones, snr_db=list(snr), noise=noise)
    if "aux" in kinds:
        Xa, la = _aux_set(aux, ds, X_pos, positive, workers, notice, channel)
        aux_names = sorted(set(la))
        parts.append(Xa)
        labels.append(len(names) + np.array([aux_names.index(v) for v in la], dtype=np.int64))
        names.extend(aux_names)
        info["aux_classes"] = len(aux_names)
    if notice and not quiet:
        lines = info.get("target_lines_hz")
        notice(f"surrogate classes: {len(names) - 1} ({', '.join(f'{k} {counts[k]}' for k in counts if counts[k])}"
               f"{', aux ' + str(info['aux_classes']) if 'aux_classes' in info else ''}), {per} clips each"
               + (f"; target lines found at {', '.join(f'{f:g}' for f in lines)} Hz" if lines else ""))
    return np.concatenate(parts), np.concatenate(labels), names, info


def dev_negatives(ds, X_pos, pos_rows, cfg, Y_pos=None, background=None, per_class: int = 4):
    """Fresh surrogate clips (another seed, no ``aux``), for choosing a joint weight: shape (N, F, T)."""
    kinds = [k.strip() for k in cfg.surrogates.split(",") if k.strip() not in ("aux", "")]
    kinds = [k for k in kinds if (Y_pos is not None or k not in DATA_MADE) and (k != "background" or background is not None)]
    if background is not None and Y_pos is not None and "background" not in kinds:
        kinds.append("background")
    if not kinds:
        return None
    sub = cfg.replace(surrogates=",".join(kinds))
    X, y, _, _ = classifier_set(ds, X_pos, pos_rows, sub, None, 1, None, Y_pos, background,
                                seed=cfg.seed + 7919, per_class=per_class, quiet=True)
    return X[y > 0]
