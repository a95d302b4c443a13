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
from lfkit.errors import DataError, ParameterError
from lfkit.resources import cap_workers

__all__ = ["Dataset", "load_dataset", "load_inputs", "spectro_auto"]


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
    #: How the front end was chosen from the data (:mod:`lfkit.autofront`), or None.
    selection: dict | None = None

    @property
    def classes(self) -> list:
        return sorted(set(self.labels))


def _load_one(clip, cfg, kind, target_sr, channel=None):
    from lfkit import features
    from lfkit.segments import ReadPlan, read_clip

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
    y, sr = read_clip(clip, ReadPlan(target_sr=target_sr, channel=channel))
    if kind == "waveform":
        return y, sr, len(y)
    return features.spectrogram(y, sr, cfg), sr, len(y)


def load_inputs(clips, cfg: FrontendConfig, kind: str = "spectrogram", workers: int = 1, target_sr=None,
                executor=None, channel: int | None = None):
    """Load clips in parallel; returns a list of (array, sr, n_samples) or the LfkitError met.

    ``executor``: see :func:`lfkit.parallel.map_batches`; ``channel``: of
    multichannel audio (0-based; None averages them).
    """
    from functools import partial

    from lfkit.parallel import map_batches

    workers = cap_workers(workers)
    return list(map_batches(partial(_load_one, cfg=cfg, kind=kind, target_sr=target_sr, channel=channel), clips,
                            workers=workers, executor=executor))


def load_dataset(data, frontend_changes: dict | None = None, kind: str = "spectrogram", workers: int = 1,
                 base: FrontendConfig | None = None, auto: bool = False, positive: str | None = None,
                 notice=None, channel: int | None = None) -> Dataset:
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
    auto : bool
        The model reads spectrograms and training asks for its front end to
        be chosen from the data (:func:`lfkit.autofront.select_and_transform`)
        when the user gave no front-end flag, or ``kind='auto'``, and the
        clips are audio. The choice is ``Dataset.frontend`` and its report
        ``Dataset.selection``; with ``kind="waveform"`` (augmentation on the
        audio first) ``X`` stays the waveforms. Without ``auto``,
        ``kind='auto'`` is still honoured for spectrogram loads.
    positive : str or None
        For the selection: the target label, the others counted as one class
        (binary training); None keeps every label a class.
    notice : callable(str) or None
        Gets the selection's lines as they come; they are also kept in
        ``Dataset.notes`` (for a caller that says them once its own checks pass).
    channel : int or None
        Channel of multichannel audio to read (0-based); None averages them.

    Raises
    ------
    DataError
        Empty dataset, unreadable clips, or clips of different shapes.
    ParameterError
        ``kind='auto'`` for spectrogram files (there is no audio to choose from).
    """
    from lfkit.autofront import wants_auto
    from lfkit.config import AUTO_KIND
    from lfkit.io_tables import find_frontend
    from lfkit.segments import ReadPlan

    ReadPlan(channel=channel)  # a bad channel is refused before anything is read
    changes = dict(frontend_changes or {})
    rows, root = io.read_labels(data)
    folder, stored = find_frontend(root)
    asked = changes.get("kind") == AUTO_KIND
    audio = stored is None and not any(r["_file"].endswith(".npy") for r in rows)
    if asked and not audio:
        raise ParameterError(f"kind='auto' chooses the front end from audio clips; {data} holds spectrograms "
                             "(give the audio, or leave --kind out to use the settings they were made with)")
    if audio and ((auto and wants_auto(changes)) or (asked and kind == "spectrogram")):
        return _load_auto(data, rows, changes, workers, positive, notice, kind, channel)
    if asked:  # a waveform model: no front end to choose
        changes.pop("kind")
    if stored is not None:
        clash = {k: v for k, v in changes.items() if getattr(stored, k) != v}
        if clash:
            k, v = next(iter(clash.items()))
            raise ParameterError(
                f"{k}={v!r} differs from the {k}={getattr(stored, k)!r} these spectrograms were made with "
                f"({folder / 'frontend.json'}); remake them or train on the audio"
            )
        cfg = stored
    else:
        cfg = (base or FrontendConfig()).replace(**changes)
    results = load_inputs(rows, cfg, kind, workers, target_sr=cfg.sr, channel=channel)
    X, sr, n_samples = _stack(data, results)
    if sr is None and stored is not None:
        meta = _frontend_meta(folder)
        sr, n_samples = meta.get("sr"), meta.get("n_samples")
    labels = [r["label"] for r in rows]
    return Dataset(X=X, labels=labels, rows=rows, frontend=cfg, sr=sr, n_samples=n_samples, kind=kind)


def _stack(data, results):
    """Arrays, sample rate and clip length from :func:`load_inputs` results, or DataError."""
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
    return np.stack(arrays).astype(np.float32), (next(iter(srs)) if srs else None), results[0][2]


def _load_auto(data, rows, changes, workers, positive, notice, kind, channel=None) -> Dataset:
    """Audio read as waveforms, the front end chosen from them, then their spectrograms (unless ``kind`` is
    ``"waveform"``)."""
    from lfkit.autofront import select_and_transform

    results = load_inputs(rows, FrontendConfig(), "waveform", workers, target_sr=changes.get("sr"), channel=channel)
    Y, sr, n_samples = _stack(data, results)
    labels = [r["label"] for r in rows]
    target = labels if positive is None else [lab == positive for lab in labels]
    lines = []

    def say(message):
        lines.append(message)
        if notice:
            notice(message)

    cfg, report, X = select_and_transform(Y, sr, target, changes, notice=say, transform=kind == "spectrogram")
    return Dataset(X=Y if X is None else X, labels=labels, rows=rows, frontend=cfg, sr=sr, n_samples=n_samples,
                   kind=kind, notes=lines, selection=report)


def spectro_auto(inputs, output, frontend_changes: dict, chunk_s=None, chunk_hop_s=None, channel=None,
                 workers: int = 1, notice=None, **spectro_kw):
    """``lfkit spectro --kind auto DATA``: the front end training would choose for a labelled dataset.

    The choice is the one ``train-siamese`` makes (every label a class; for a
    dataset of two labels also the one ``train-binary`` and ``train-oneclass``
    make). With an output folder the spectrograms are written with it, as
    ``lfkit spectro`` would with the chosen flags.

    Parameters
    ----------
    inputs : sequence of str
        One labelled dataset: a folder with ``labels.csv``, or the CSV.
    output : str or None
        A folder to write to; None or ``-``: only choose.
    frontend_changes : dict
        The flags given (``kind='auto'`` among them); the others are kept.
    notice : callable(str) or None
        Gets the candidates and the choice.
    **spectro_kw
        Passed to :func:`lfkit.frontend.run_spectro` (``report``, ``progress``...).

    Returns
    -------
    cfg : FrontendConfig
    report : dict
        As stored in a model's training information.
    n_bad : int
        Clips that could not be written (0 when only choosing).
    """
    one = str(inputs[0]) if inputs and len(inputs) == 1 else None
    if one is None or one == io.STDIO or (Path(one).is_file() and not one.lower().endswith(".csv")):
        raise ParameterError(f"inputs={list(inputs or [])!r}: kind='auto' needs one labelled dataset "
                             "(a folder with labels.csv, or the labels.csv)")
    if chunk_s is not None or chunk_hop_s is not None:
        raise ParameterError(f"chunk={chunk_s!r}: kind='auto' chooses on whole clips; run it without --chunk, "
                             "then cut with the flags it prints")
    ds = load_dataset(inputs[0], frontend_changes, kind="waveform", workers=workers, auto=True, notice=notice,
                      channel=channel)
    n_bad = 0
    if output not in (None, io.STDIO):
        from lfkit.frontend import run_spectro

        n_bad = run_spectro(list(inputs), output, ds.frontend, channel=channel, workers=workers, notice=notice,
                            **spectro_kw)
    return ds.frontend, ds.selection, n_bad


def _frontend_meta(root) -> dict:
    from lfkit.errors import LfkitError

    try:
        return io.read_json(Path(root) / "frontend.json")
    except (LfkitError, ValueError):
        return {}
