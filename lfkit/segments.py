"""Reading inputs into blocks of model-ready arrays: the part of scoring that touches audio.

A clip becomes blocks ``(starts, ends, {view: arrays})``: the whole clip, or
its chunks, transformed once per distinct input a model needs (a *view*:
waveform, or a spectrogram front end). Long files are read block by block so
memory stays bounded; a clip at another sample rate than the model's is
resampled with a notice, or refused with ``strict``.
"""

from __future__ import annotations

import numpy as np

from lfkit import io
from lfkit.errors import DataError, LfkitError, ParameterError

__all__ = ["iter_segments", "AUTO_CHUNK_FACTOR", "STREAM_BLOCK"]

#: Clips up to this many times a model's training length are scored whole; longer ones are chunked.
AUTO_CHUNK_FACTOR = 1.5
#: Chunks per block when a long file is streamed.
STREAM_BLOCK = 256

def _views(scorers):
    """Distinct inputs the models need: key -> (kind, frontend)."""
    views = {}
    for s in scorers:
        key = (s.kind, s.frontend.to_json() if s.kind == "spectrogram" else "")
        views.setdefault(key, (s.kind, s.frontend))
        s.view = key
    return views


def _target_sr(scorers):
    rates = {s.sr for s in scorers if s.sr}
    if len(rates) > 1:
        raise ParameterError(f"models were trained at different sample rates {sorted(rates)}; score them separately")
    return next(iter(rates)) if rates else None


def _transform(Y, sr, views):
    """Waveform chunks (C, n) -> {view key: arrays (C, ...)}."""
    from lfkit import features

    out = {}
    for key, (kind, fe) in views.items():
        out[key] = Y.astype(np.float32) if kind == "waveform" else features.spectrogram_batch(Y, sr, fe)
    return out


def _segments_audio(clip, views, plan, notes):
    """Yield (starts, ends, {view: arrays}) blocks for one audio clip."""
    from lfkit import features

    path = clip["_file"]
    target_sr, chunk_s, hop_s, default_n, strict = plan
    if path != io.STDIO and chunk_s is None and default_n:
        n, sr, _ = io.audio_info(path)
        if n > AUTO_CHUNK_FACTOR * default_n * (sr / (target_sr or sr)):
            chunk_s = default_n / (target_sr or sr)
    if chunk_s is not None and path != io.STDIO:
        yield from _stream_chunks(path, views, target_sr, chunk_s, hop_s or chunk_s, strict, notes)
        return
    y, sr = io.read_audio(path)
    y, sr = _fit_rate(y, sr, target_sr, strict, path, notes)
    if chunk_s is None:
        yield None, None, _transform(y[None, :], sr, views)
        return
    Y, starts, ends = features.chunk(y, sr, chunk_s, hop_s)
    for i in range(0, len(Y), STREAM_BLOCK):
        yield starts[i : i + STREAM_BLOCK], ends[i : i + STREAM_BLOCK], _transform(np.asarray(Y[i : i + STREAM_BLOCK]), sr, views)


def _fit_rate(y, sr, target_sr, strict, path, notes):
    from lfkit import features

    if target_sr and sr != target_sr:
        if strict:
            raise DataError(f"{path}: sample rate {sr} Hz differs from the model's {target_sr} Hz (--strict)")
        notes.append(f"{path}: resampled from {sr} Hz to the model's {target_sr} Hz")
        y = features.resample(y, sr, target_sr).astype(np.float32)
        sr = target_sr
    return y, sr


def _stream_chunks(path, views, target_sr, chunk_s, hop_s, strict, notes):
    """Read a long file block by block; never holds more than STREAM_BLOCK chunks."""
    import soundfile as sf

    try:
        f = sf.SoundFile(path)
    except Exception as exc:
        raise DataError(f"{path}: not a readable audio file ({exc})") from None
    with f:
        sr = f.samplerate
        n_chunk, n_hop = int(round(chunk_s * sr)), int(round(hop_s * sr))
        if n_chunk < 1 or n_hop < 1:
            raise ParameterError(f"chunk={chunk_s!r} s is shorter than one sample")
        total = f.frames
        if total < n_chunk:
            raise DataError(f"{path}: {total / sr:.3g} s of audio is shorter than one chunk ({chunk_s:g} s)")
        n_chunks = 1 + (total - n_chunk) // n_hop
        for b in range(0, n_chunks, STREAM_BLOCK):
            idx = np.arange(b, min(n_chunks, b + STREAM_BLOCK))
            first = idx[0] * n_hop
            span = idx[-1] * n_hop + n_chunk - first
            f.seek(first)
            block = f.read(span, dtype="float32", always_2d=True)
            if block.shape[0] < span:
                raise DataError(f"{path}: truncated audio (ended at {(first + block.shape[0]) / sr:.3f} s)")
            block = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
            if not np.isfinite(block).all():
                raise DataError(f"{path}: audio holds NaN or Inf samples")
            Y = np.stack([block[(i - idx[0]) * n_hop : (i - idx[0]) * n_hop + n_chunk] for i in idx])
            rate = sr
            if target_sr and sr != target_sr:
                if strict:
                    raise DataError(f"{path}: sample rate {sr} Hz differs from the model's {target_sr} Hz (--strict)")
                if b == 0:
                    notes.append(f"{path}: resampled from {sr} Hz to the model's {target_sr} Hz")
                from lfkit import features

                Y = np.stack([features.resample(c, sr, target_sr) for c in Y]).astype(np.float32)
                rate = target_sr
            yield idx * n_hop / sr, (idx * n_hop + n_chunk) / sr, _transform(Y, rate, views)


def _check_npy_frontend(path, views) -> None:
    """Refuse .npy spectrograms whose folder's frontend.json differs from a model's front end."""
    from pathlib import Path

    from lfkit.frontend import FRONTEND_FILE, read_frontend

    folder = next((d for d in list(Path(path).resolve().parents)[:3] if (d / FRONTEND_FILE).exists()), None)
    stored = read_frontend(folder) if folder is not None else None
    if stored is None:
        return
    made = stored.to_dict()
    for kind, fe in views.values():
        want = fe.to_dict()
        diff = [k for k in want if k != "sr" and made.get(k) != want[k]]
        if kind == "spectrogram" and diff:
            k = diff[0]
            raise DataError(f"{path}: made with {k}={made.get(k)!r} ({folder / FRONTEND_FILE}) but the model expects "
                            f"{k}={want[k]!r}; remake the spectrograms with the model's settings or score the audio")


def _segments_npy(clip, views):
    path = clip["_file"]
    _check_npy_frontend(path, views)
    S = io.read_npy(path)
    if S.dtype.kind not in "biuf":
        raise DataError(f"{path}: a .npy of {S.dtype} values, not numbers; expected a float spectrogram")
    if S.size == 0:
        raise DataError(f"{path}: empty spectrogram, shape {S.shape}")
    if not np.isfinite(S).all():
        raise DataError(f"{path}: spectrogram holds NaN or Inf")
    keys = [k for k in views if k[0] == "spectrogram"]
    if len(keys) != len(views):
        raise DataError(f"{path}: a waveform model cannot score a .npy spectrogram; give the audio")
    if S.ndim == 2:
        S = S[None]
    elif S.ndim != 3:
        raise DataError(f"{path}: expected (frequency, time) or (chunk, frequency, time), got shape {S.shape}")
    starts = ends = None
    side = f"{path}.chunks.csv"
    import os

    if S.shape[0] > 1 and os.path.exists(side):
        import csv

        with open(side, newline="") as fh:
            r = list(csv.DictReader(fh))
        starts = np.array([float(x["start"]) for x in r])
        ends = np.array([float(x["end"]) for x in r])
    yield starts, ends, {k: S.astype(np.float32) for k in keys}


def iter_segments(clip, views, plan):
    """All blocks of one clip, materialised (runs in a worker). Returns (blocks, notes) or the error."""
    notes = []
    try:
        if clip["_file"].endswith(".npy"):
            blocks = list(_segments_npy(clip, views))
        else:
            blocks = list(_segments_audio(clip, views, plan, notes))
            for _, _, arrays in blocks:
                if not all(np.isfinite(a).all() for a in arrays.values()):
                    raise DataError(f"{clip['path']}: its spectrogram holds NaN or Inf "
                                    "(sample values too large for float32 power?)")
        return blocks, notes
    except LfkitError as exc:
        return exc, notes


def _prepare_one(clip, views, plan):
    """:func:`iter_segments` for :func:`prepare_in_workers` (runs in a worker)."""
    return iter_segments(clip, views, plan)


def _prepare_short(clip, views, plan):
    """:func:`_prepare_one` for ``score``: None for a long file, left to the main process to stream."""
    return None if _is_long(clip, plan) else iter_segments(clip, views, plan)


def _is_long(clip, plan) -> bool:
    """Long files are streamed in the main process (bounded memory), not shipped from workers."""
    target_sr, chunk_s, hop_s, default_n, strict = plan
    f = clip["_file"]
    if f == io.STDIO or f.endswith(".npy"):
        return False
    try:
        n, sr, _ = io.audio_info(f)
    except LfkitError:
        return False
    return n > 600 * sr


def _score_stdin(clip, views, plan):
    notes = []
    try:
        data = io.read_bytes(io.STDIO)
        y, sr = io.read_audio(io.STDIO, data=data)
        target_sr, chunk_s, hop_s, default_n, strict = plan
        y, sr = _fit_rate(y, sr, target_sr, strict, "<stdin>", notes)
        if chunk_s is None and default_n and len(y) > AUTO_CHUNK_FACTOR * default_n:
            chunk_s = default_n / sr
        if chunk_s is None:
            return [(None, None, _transform(y[None, :], sr, views))], notes
        from lfkit import features

        Y, starts, ends = features.chunk(y, sr, chunk_s, hop_s)
        return [(starts, ends, _transform(np.asarray(Y), sr, views))], notes
    except LfkitError as exc:
        return exc, notes


def segments_of(clip, views, plan):
    """Blocks of one clip read here (standard input included): ``(blocks or error, notes)``."""
    return _score_stdin(clip, views, plan) if clip["_file"] == io.STDIO else iter_segments(clip, views, plan)


def prepare_in_workers(files, views, plan, workers: int, prepare=None, executor=None):
    """Read and transform clips, in ``workers`` processes (or ``executor``) when there is work for them.

    Parameters
    ----------
    files : list of Clip
        Clips on disk (not standard input).
    prepare : callable(clip, views, plan) or None
        Per-clip function (default :func:`_prepare_one`); it runs in the workers.
    executor : concurrent.futures.Executor or None
        See :func:`lfkit.parallel.map_batches`.

    Returns
    -------
    iterator
        One ``(blocks or error, notes)`` per clip (what ``prepare`` returns), in order, as they arrive.
    """
    from functools import partial

    from lfkit.parallel import map_batches

    return map_batches(partial(prepare or _prepare_one, views=views, plan=plan), files, workers=workers,
                       executor=executor)


def blocks_or_raise(result, notice=None):
    """Unpack ``(blocks or error, notes)``: pass each note to ``notice``, raise the error, return the blocks."""
    blocks, notes = result
    for note in notes:
        if notice:
            notice(note)
    if isinstance(blocks, Exception):
        raise blocks
    return blocks
