"""Load a labelled dataset into arrays for training: spectrograms or waveforms.

A dataset is a folder with ``labels.csv`` (or the CSV itself) listing audio
clips or ``.npy`` spectrograms. Audio is turned into spectrograms with the
given front end; a folder made by ``lfkit spectro`` carries its own
``frontend.json``, which then is the front end (and must agree with any flag
the user gave).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lfkit import io
from lfkit.config import FrontendConfig
from lfkit.errors import DataError, LfkitError, ParameterError

__all__ = ["Dataset", "load_dataset", "load_inputs"]


@dataclass
class Dataset:
    """Arrays of a labelled dataset.

    Attributes
    ----------
    X : np.ndarray
        Spectrograms, shape (n_clips, n_freq, n_frames), float32; or
        waveforms, shape (n_clips, n_samples), float32.
    labels : list of str
    rows : list of dict
        The ``labels.csv`` rows (metadata carried through).
    frontend : FrontendConfig
    sr : int or None
        Sample rate of the audio (None for spectrogram folders without one).
    n_samples : int or None
        Samples per clip of the audio.
    kind : str
        ``"spectrogram"`` or ``"waveform"``.
    """

    X: np.ndarray
    labels: list
    rows: list
    frontend: FrontendConfig
    sr: int | None
    n_samples: int | None
    kind: str = "spectrogram"
    notes: list = field(default_factory=list)

    @property
    def classes(self) -> list:
        return sorted(set(self.labels))


def _load_one(clip, cfg, kind, target_sr):
    from lfkit import features

    f = clip["_file"]
    if f.endswith(".npy"):
        if kind == "waveform":
            raise ParameterError(f"{f}: a waveform model needs audio, not .npy spectrograms")
        S = io.read_npy(f)
        if S.ndim != 2:
            raise DataError(f"{f}: expected a (frequency, time) spectrogram, got shape {S.shape}")
        if not np.isfinite(S).all():
            raise DataError(f"{f}: spectrogram holds NaN or Inf")
        return S.astype(np.float32), None, None
    y, sr = io.read_audio(f)
    if target_sr is not None and sr != target_sr:
        y = features.resample(y, sr, target_sr).astype(np.float32)
        sr = target_sr
    if kind == "waveform":
        return y, sr, len(y)
    return features.spectrogram(y, sr, cfg), sr, len(y)


def _load_batch(clips, cfg, kind, target_sr):
    out = []
    for c in clips:
        try:
            out.append(_load_one(c, cfg, kind, target_sr))
        except LfkitError as exc:
            out.append(exc)
    return out


def load_inputs(clips, cfg: FrontendConfig, kind: str = "spectrogram", workers: int = 1, target_sr=None):
    """Load clips in parallel; returns a list of (array, sr, n_samples) or the LfkitError met."""
    size = max(1, min(128, len(clips) // max(1, workers * 4)))
    batches = [clips[i : i + size] for i in range(0, len(clips), size)]
    if workers > 1 and len(batches) > 1:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=workers)(delayed(_load_batch)(b, cfg, kind, target_sr) for b in batches)
    else:
        parts = [_load_batch(b, cfg, kind, target_sr) for b in batches]
    return [r for p in parts for r in p]


def load_dataset(data, frontend_changes: dict | None = None, kind: str = "spectrogram", workers: int = 1,
                 base: FrontendConfig | None = None) -> Dataset:
    """Read a dataset folder (or ``labels.csv``) into a :class:`Dataset`.

    Parameters
    ----------
    data : str
        Dataset folder or its ``labels.csv``.
    frontend_changes : dict
        Front-end fields the user set; applied to ``base`` (default
        ``FrontendConfig()``) for audio, checked against ``frontend.json``
        for spectrogram folders.
    kind : str
        ``"spectrogram"`` or ``"waveform"`` (for 1-D models).
    workers : int
        Processes reading and transforming in parallel.

    Raises
    ------
    DataError
        Empty dataset, unreadable clips, or clips of different shapes.
    """
    from lfkit.frontend import read_frontend

    changes = dict(frontend_changes or {})
    rows, root = io.read_labels(data)
    stored = read_frontend(root)
    if stored is not None:
        clash = {k: v for k, v in changes.items() if getattr(stored, k) != v}
        if clash:
            k, v = next(iter(clash.items()))
            raise ParameterError(
                f"{k}={v!r} differs from the {k}={getattr(stored, k)!r} these spectrograms were made with "
                f"({root / 'frontend.json'}); remake them or train on the audio"
            )
        cfg = stored
    else:
        cfg = (base or FrontendConfig()).replace(**changes)
    results = load_inputs(rows, cfg, kind, workers, target_sr=cfg.sr)
    bad = [r for r in results if isinstance(r, Exception)]
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise DataError(f"{bad[0]}{more}")
    arrays = [r[0] for r in results]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        ex = sorted(shapes)[:3]
        raise DataError(
            f"{data}: clips differ in shape {ex}: training needs clips of one length "
            "(cut long recordings with lfkit spectro --chunk, or synthesize with one --duration)"
        )
    srs = {r[1] for r in results if r[1] is not None}
    if len(srs) > 1:
        raise DataError(f"{data}: clips have different sample rates {sorted(srs)}; give --sr to resample")
    X = np.stack(arrays).astype(np.float32)
    sr = next(iter(srs)) if srs else None
    n_samples = results[0][2]
    if sr is None and stored is not None:
        meta = _frontend_meta(root)
        sr, n_samples = meta.get("sr"), meta.get("n_samples")
    labels = [r["label"] for r in rows]
    return Dataset(X=X, labels=labels, rows=rows, frontend=cfg, sr=sr, n_samples=n_samples, kind=kind)


def _frontend_meta(root) -> dict:
    import json

    try:
        return json.loads((Path(root) / "frontend.json").read_text())
    except (OSError, ValueError):
        return {}
