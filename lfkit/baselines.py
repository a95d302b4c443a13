"""Reference detectors no trained network should ignore, usable as lfkit models.

* ``knowntone``: the classical narrowband (LOFAR-style) detector for a known
  signature. Each frequency bin's time-averaged power is divided by a
  running-median noise floor along frequency with a gap around the bin
  (:func:`lfkit.floor.line_strength_db`: the split-window normaliser, which
  whitens noise of any colour); each target line is the strongest bin within
  ``TONE_BINS`` of its tone (lines that wander or jitter are still found);
  ``score`` = the weakest target line minus the strongest line anywhere else
  in the band, in dB. It needs no training, only the target tones, and marks
  how well a detector can do when it knows the answer.
* ``logreg``: what a practitioner tries first: scikit-learn's logistic
  regression on the time-averaged (log) spectrum, standardised.

Both are built by ``lfkit train-binary --arch knowntone|logreg`` and stored
in the ordinary model file (arrays only, no pickle).
"""

from __future__ import annotations

import time

import numpy as np

from lfkit.config import FrontendConfig, TrainConfig
from lfkit.errors import DataError, ParameterError
from lfkit.floor import line_strength_db
from lfkit.scorers import SCORERS, Scorer

__all__ = ["BASELINES", "line_strength_db", "knowntone_score", "train_baseline", "KnownToneScorer",
           "LogRegScorer"]

#: Non-network "architectures" that train-binary builds.
BASELINES = ("knowntone", "logreg")
#: Bins either side of a target tone searched for its line (a line that wanders by a bin, or jitters
#: by a few Hz, is still found; 2 bins cost 0.07 AUC at -35 dB on white noise) / kept out of "elsewhere".
TONE_BINS, GUARD_BINS = 1, 3


def knowntone_score(S: np.ndarray, freqs_hz: np.ndarray, tones_hz) -> np.ndarray:
    """The known-signature score of spectrograms.

    Parameters
    ----------
    S : np.ndarray, shape (batch, n_freq, n_frames)
        Linear power.
    freqs_hz : np.ndarray, shape (n_freq,)
        Centre frequency of each row, Hz.
    tones_hz : sequence of float
        The target's tones, Hz.

    Returns
    -------
    np.ndarray, shape (batch,)
        Weakest target line minus strongest other line, dB (higher = more like the target).
    """
    R = line_strength_db(S)
    idx = [int(np.argmin(np.abs(freqs_hz - t))) for t in tones_hz]
    n = len(freqs_hz)
    target = np.stack([R[:, max(0, i - TONE_BINS) : min(n, i + TONE_BINS + 1)].max(axis=1) for i in idx], axis=1)
    mask = np.ones(n, dtype=bool)
    for i in idx:
        mask[max(0, i - GUARD_BINS) : min(n, i + GUARD_BINS + 1)] = False
    other = R[:, mask].max(axis=1) if mask.any() else np.zeros(len(R))
    return target.min(axis=1) - other


def band_frequencies(cfg: FrontendConfig, sr: int) -> np.ndarray:
    """Frequencies (Hz) of the rows a linear/log spectrogram keeps."""
    f = np.arange(cfg.n_fft // 2 + 1) * sr / cfg.n_fft
    fmax = sr / 2 if cfg.fmax is None else cfg.fmax
    return f[(f >= cfg.fmin) & (f <= fmax)]


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
    from lfkit.modelfile import save_model
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
    save_model(output, "baseline", ds.frontend, info, threshold=0.5,
               training={"seconds": time.perf_counter() - t0, "n_train": len(y), "data": str(data),
                         "frontend_selection": ds.selection},
               extra={"method": "logreg", "mean": mean, "scale": scale, "coef": clf.coef_[0].astype(np.float64),
                      "intercept": float(clf.intercept_[0])}, **common)
    return {"threshold": 0.5}


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


def _eer_threshold(y, s) -> float:
    from lfkit.metrics import eer

    if len(set(y.tolist())) < 2:
        return float(np.quantile(s, 0.08))
    _, th = eer(y, s)
    return float(th)


class KnownToneScorer(Scorer):
    """``score`` = weakest target line minus strongest other line (dB)."""

    def __init__(self, doc, device="cpu"):
        super().__init__(doc, device)
        self.tones = np.asarray(doc["extra"]["tones"], dtype=float)
        self.freqs = np.asarray(doc["extra"]["freqs"], dtype=float)

    def check_input(self, X, where):
        if X.shape[-2] != len(self.freqs):
            raise DataError(f"{where}: spectrogram has {X.shape[-2]} frequency rows but model {self.name} expects "
                            f"{len(self.freqs)} (made with other spectro settings?)")

    def score_batch(self, X):
        return [{"score": float(v)} for v in knowntone_score(X, self.freqs, self.tones)]

    def embed_batch(self, X):
        return line_strength_db(X).astype(np.float32)


class LogRegScorer(Scorer):
    """``score`` = the logistic regression's probability of the target class."""

    def __init__(self, doc, device="cpu"):
        super().__init__(doc, device)
        e = doc["extra"]
        self.mean, self.scale, self.coef = (np.asarray(e[k], dtype=float) for k in ("mean", "scale", "coef"))
        self.intercept = float(e["intercept"])

    def embed_batch(self, X):
        return ((np.asarray(X, dtype=float).mean(axis=2) - self.mean) / self.scale).astype(np.float32)

    def score_batch(self, X):
        z = self.embed_batch(X).astype(float) @ self.coef + self.intercept
        return [{"score": float(v)} for v in 1.0 / (1.0 + np.exp(-z))]


SCORERS["knowntone"] = KnownToneScorer
SCORERS["baseline"] = LogRegScorer
