"""Reference detectors no trained network should ignore, usable as lfkit models.

* ``knowntone``: the classical narrowband (LOFAR-style) detector for a known
  signature. Each frequency bin's time-averaged power is divided by a
  running-median noise floor along frequency with a gap around the bin
  (:func:`lfkit.floor.line_strength_db`: the split-window normaliser, which
  whitens noise of any colour); each target line is the strongest bin within
  ``lfkit.inference.heads.TONE_BINS`` of its tone (lines that wander or jitter are still found);
  ``score`` = the weakest target line minus the strongest line anywhere else
  in the band, in dB. It needs no training, only the target tones, and marks
  how well a detector can do when it knows the answer.
* ``logreg``: what a practitioner tries first: scikit-learn's logistic
  regression on the time-averaged (log) spectrum, standardised.

Both are built by ``lfkit train-binary --arch knowntone|logreg`` and stored
in the ordinary model file (arrays only, no pickle); their scorers and the
known-tone score live in :mod:`lfkit.inference` (numpy only, no torch).
"""

from __future__ import annotations

import time

import numpy as np

from lfkit.config import DEFAULT_THRESHOLD, TrainConfig
from lfkit.errors import DataError, ParameterError
from lfkit.floor import line_strength_db
from lfkit.inference.heads import band_frequencies, knowntone_score

__all__ = ["BASELINES", "line_strength_db", "knowntone_score", "band_frequencies", "train_baseline"]

#: Non-network "architectures" that train-binary builds.
BASELINES = ("knowntone", "logreg")
def _check_fit(X, where):
    if X.ndim != 3:
        raise DataError(f"{where}: expected spectrograms (n, freq, time)")


def train_baseline(data, output, positive: str, cfg: TrainConfig, frontend_changes=None, tones=None,
                   workers: int = 1, notice=None, channel: int | None = None) -> dict:
    """Build ``knowntone`` or ``logreg`` on a dataset and save it as a model file.

    ``logreg`` takes the front end chosen from the data as the networks do
    (:mod:`lfkit.autofront`); ``knowntone`` always reads linear power.
    """
    from lfkit.data import load_dataset
    from lfkit.inference.modelfile import save_model
    from lfkit.synth import parse_tones

    changes = dict(frontend_changes or {})
    t0 = time.perf_counter()
    if cfg.arch == "knowntone":
        for k in ("kind", "norm"):
            if k in changes and changes[k] != {"kind": "linear", "norm": "none"}[k]:
                raise ParameterError(f"{k}={changes[k]!r}: the known-tone detector works on linear power, no norm")
        changes.update(kind="linear", norm="none")
    ds = load_dataset(data, changes, workers=workers, auto=cfg.arch != "knowntone", positive=positive, notice=notice,
                      channel=channel)
    _check_fit(ds.X, data)
    labels = np.array(ds.labels)
    if positive not in set(ds.labels):
        raise ParameterError(f"positive={positive!r} is not a label of {data} (labels: {', '.join(ds.classes)})")
    y = (labels == positive).astype(int)
    info = {"kind": "spectrogram", "sr": ds.sr, "n_samples": ds.n_samples, "shape": list(ds.X.shape[1:])}
    common = dict(classes=sorted(set(ds.labels) - {positive}) + [positive], positive=positive)
    if cfg.arch == "knowntone":
        if ds.frontend.kind != "linear" or ds.frontend.norm != "none":
            raise ParameterError("arch='knowntone' needs linear power spectrograms (kind=linear, norm=none)")
        if tones is None:
            tones = _signature_tones(data, positive)
        tones = parse_tones(tones) if isinstance(tones, str) else [float(t) for t in tones]
        if ds.sr is None:
            raise DataError(f"{data}: the sample rate is unknown; train the known-tone detector on audio")
        freqs = band_frequencies(ds.frontend, ds.sr)
        bad = [t for t in tones if not freqs[0] <= t <= freqs[-1]]
        if bad:
            raise ParameterError(f"tones={bad[0]:g} Hz is outside the band {freqs[0]:g}-{freqs[-1]:g} Hz")
        s = knowntone_score(ds.X, freqs, tones)
        threshold = _eer_threshold(y, s)
        save_model(output, "knowntone", ds.frontend, info, threshold=threshold,
                   training={"seconds": time.perf_counter() - t0, "n_train": len(y), "data": str(data)},
                   extra={"tones": np.array(tones, dtype=np.float64), "freqs": freqs}, **common)
        return {"threshold": threshold}
    from sklearn.linear_model import LogisticRegression

    if len(set(y)) < 2:
        raise DataError(f"{data}: one class only; logistic regression needs positives and others")
    F = ds.X.mean(axis=2).astype(np.float64)
    mean, scale = F.mean(0), F.std(0)
    scale[scale == 0] = 1.0
    clf = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced", random_state=cfg.seed)
    clf.fit((F - mean) / scale, y)
    save_model(output, "baseline", ds.frontend, info, threshold=DEFAULT_THRESHOLD,
               training={"seconds": time.perf_counter() - t0, "n_train": len(y), "data": str(data),
                         "frontend_selection": ds.selection},
               extra={"method": "logreg", "mean": mean, "scale": scale, "coef": clf.coef_[0].astype(np.float64),
                      "intercept": float(clf.intercept_[0])}, **common)
    return {"threshold": DEFAULT_THRESHOLD}


def _signature_tones(data, positive):
    import json
    from pathlib import Path

    p = Path(data)
    root = p if p.is_dir() else p.parent
    for folder in (root, *root.parents[:1]):
        f = folder / "signatures.json"
        if f.exists():
            sigs = json.loads(f.read_text())
            if positive in sigs:
                return sigs[positive]
    raise ParameterError(f"tones: give --tones for positive={positive!r} (no signatures.json names it)")


#: Share of the clips a knowntone model trained on one class only leaves below its threshold.
ONE_CLASS_MISS_RATE = 0.08


def _eer_threshold(y, s) -> float:
    """The equal-error threshold; with one class only, the 8 % quantile of its scores (:mod:`lfkit.thresholds`)."""
    from lfkit.thresholds import eer_threshold, target_quantile_threshold

    th, _ = eer_threshold(y, s, one_class="none")
    return target_quantile_threshold(s, ONE_CLASS_MISS_RATE) if th is None else th
