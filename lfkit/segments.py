"""The one read path: a clip (:class:`lfkit.io.Clip`) and a :class:`ReadPlan` in, model-ready arrays out.

:func:`read_clip` reads one whole waveform as the plan says (its channel, or
the mean of all; resampled to the models' rate with a notice, or refused
with ``strict``); training and ``spectro`` read through it.
:func:`read_segments` (and :func:`iter_segments` in worker processes) turn a
clip into blocks ``(starts, ends, {view: arrays})``: the whole clip, or its
chunks, transformed once per distinct input a model needs (a *view*:
waveform, or a spectrogram front end); scoring, embedding and enrolment read
through it. Long files are read block by block
(:func:`lfkit.io.audio_chunk_blocks`) so memory stays bounded.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

from lfkit import io
from lfkit.errors import DataError, LfkitError, ParameterError

__all__ = ["ReadPlan", "read_segments", "read_clip", "iter_segments", "AUTO_CHUNK_FACTOR", "STREAM_BLOCK",
           "stream_segments", "chunk_rows"]

#: Clips up to this many times a model's training length are scored whole; longer ones are chunked.
AUTO_CHUNK_FACTOR = 1.5
#: Chunks per block when a long file is streamed.
STREAM_BLOCK = 256


@dataclass(frozen=True)
class ReadPlan:
    """How every clip of a run is read for the models (one per ``score``, ``embed`` or enrolment run).

    Attributes
    ----------
    target_sr : int or None
        The models' sample rate, Hz; other rates are resampled (or refused
        with ``strict``). None keeps each file's own rate.
    chunk_s, chunk_hop_s : float or None
        Fixed chunks, seconds (hop default: ``chunk_s``). None: a clip is
        read whole, unless it is longer than ``AUTO_CHUNK_FACTOR`` times
        ``default_n``, when it is cut into chunks of that length.
    default_n : int or None
        The models' training clip length, samples at ``target_sr``.
    strict : bool
        Refuse audio at another rate than ``target_sr`` instead of resampling.
    channel : int or None
        Channel of multichannel audio to read (0-based); None averages them.
    """

    target_sr: int | None = None
    chunk_s: float | None = None
    chunk_hop_s: float | None = None
    default_n: int | None = None
    strict: bool = False
    channel: int | None = None

    def __post_init__(self):
        c = self.channel
        if c is not None and (isinstance(c, bool) or not isinstance(c, int) or c < 0):
            raise ParameterError(f"channel={c!r} must be a channel number (0-based) or None for the mean of all")

def model_views(scorers):
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


def _segments_audio(clip, views, plan: ReadPlan, notes):
    """Yield (starts, ends, {view: arrays}) blocks for one audio clip."""
    from lfkit import features

    path = clip["_file"]
    target_sr, chunk_s, hop_s = plan.target_sr, plan.chunk_s, plan.chunk_hop_s
    if path != io.STDIO and chunk_s is None and plan.default_n:
        n, sr, _ = _audio_info(path)
        if n > AUTO_CHUNK_FACTOR * plan.default_n * (sr / (target_sr or sr)):
            chunk_s = plan.default_n / (target_sr or sr)
    if chunk_s is not None and path != io.STDIO:
        yield from _stream_chunks(path, views, plan, chunk_s, hop_s or chunk_s, notes)
        return
    y, sr = read_clip(clip, plan, notes)
    if chunk_s is None:
        yield None, None, _transform(y[None, :], sr, views)
        return
    Y, starts, ends = features.chunk(y, sr, chunk_s, hop_s)
    for i in range(0, len(Y), STREAM_BLOCK):
        yield starts[i : i + STREAM_BLOCK], ends[i : i + STREAM_BLOCK], _transform(np.asarray(Y[i : i + STREAM_BLOCK]), sr, views)


def read_clip(source, plan: ReadPlan, notes=None, data: bytes | None = None, max_bytes: int | None = None):
    """One whole clip as the plan reads it: its channel (or the mean), resampled to ``plan.target_sr``.

    The waveform-level reader every command shares (scoring, embedding,
    training, ``spectro``).

    Parameters
    ----------
    source : Clip or str
        A clip (its ``_file``) or a path; ``-`` for standard input.
    plan : ReadPlan
    notes : list or None
        Gets a line when the clip is resampled.
    data, max_bytes :
        As :func:`lfkit.io.read_audio`.

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32
    sr : int
        ``plan.target_sr`` when set, else the file's rate (Hz).
    """
    path = source["_file"] if isinstance(source, dict) else str(source)
    y, sr = io.read_audio(path, channel=plan.channel, data=data, max_bytes=max_bytes)
    if not plan.target_sr or sr == plan.target_sr:
        return y, sr
    return _fit_rate(y, sr, plan.target_sr, plan.strict, "<stdin>" if path == io.STDIO else path,
                     [] if notes is None else notes)


def _fit_rate(y, sr, target_sr, strict, path, notes):
    from lfkit import features

    if target_sr and sr != target_sr:
        if strict:
            raise DataError(f"{path}: sample rate {sr} Hz differs from the model's {target_sr} Hz (--strict)")
        notes.append(f"{path}: resampled from {sr} Hz to the model's {target_sr} Hz")
        y = features.resample(y, sr, target_sr).astype(np.float32)
        sr = target_sr
    return y, sr


def _stream_chunks(path, views, plan: ReadPlan, chunk_s, hop_s, notes):
    """Transform a long file block by block (:func:`lfkit.io.audio_chunk_blocks`): at most STREAM_BLOCK chunks."""
    target_sr = plan.target_sr
    first = True
    for starts, ends, Y, sr in io.audio_chunk_blocks(path, chunk_s, hop_s, STREAM_BLOCK, plan.channel):
        rate = sr
        if target_sr and sr != target_sr:
            if plan.strict:
                raise DataError(f"{path}: sample rate {sr} Hz differs from the model's {target_sr} Hz (--strict)")
            if first:
                notes.append(f"{path}: resampled from {sr} Hz to the model's {target_sr} Hz")
            from lfkit import features

            Y = np.stack([features.resample(c, sr, target_sr) for c in Y]).astype(np.float32)
            rate = target_sr
        first = False
        yield starts, ends, _transform(Y, rate, views)


def _check_npy_frontend(path, views) -> None:
    """Refuse .npy spectrograms whose folder's frontend.json differs from a model's front end."""
    from lfkit.io_tables import FRONTEND_FILE, find_frontend

    folder, stored = find_frontend(path)
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
    bounds = io.read_chunk_bounds(path) if S.shape[0] > 1 else None
    starts, ends = bounds if bounds is not None else (None, None)
    yield starts, ends, {k: S.astype(np.float32) for k in keys}


def stream_segments(clip, views, plan, notes):
    """One clip's blocks read lazily, one at a time (a long file never in memory whole).

    As :func:`iter_segments`, but a generator: each block is read, transformed
    and checked (finite values) when asked for; an unreadable block raises its
    :class:`~lfkit.errors.LfkitError` there. ``notes`` gets the resampling notice.
    """
    if clip["_file"].endswith(".npy"):
        yield from _segments_npy(clip, views)
        return
    for block in _segments_audio(clip, views, plan, notes):
        if not all(np.isfinite(a).all() for a in block[2].values()):
            raise DataError(f"{clip['path']}: its spectrogram holds NaN or Inf "
                            "(sample values too large for float32 power?)")
        yield block


def iter_segments(clip, views, plan):
    """All blocks of one clip, materialised (runs in a worker). Returns (blocks, notes) or the error."""
    notes = []
    try:
        return list(stream_segments(clip, views, plan, notes)), notes
    except LfkitError as exc:
        return exc, notes


def chunk_rows(path, plan) -> int | None:
    """How many rows (chunks, or 1 for a whole clip) ``plan`` reads from an audio file on disk.

    None for standard input, a ``.npy`` or a file whose header cannot be read.
    Replays :func:`_segments_audio`'s choice (fixed chunks, automatic chunks
    of ``default_n`` for a file longer than ``AUTO_CHUNK_FACTOR`` of it, else whole).
    """
    path = str(path)
    if path == io.STDIO or path.endswith(".npy"):
        return None
    try:
        n, sr, _ = io.audio_info(path)
    except LfkitError:
        return None
    chunk_s, hop_s, target_sr = plan.chunk_s, plan.chunk_hop_s, plan.target_sr
    if chunk_s is None and plan.default_n and n > AUTO_CHUNK_FACTOR * plan.default_n * (sr / (target_sr or sr)):
        chunk_s = plan.default_n / (target_sr or sr)
    if chunk_s is None:
        return 1
    n_chunk, n_hop = int(round(chunk_s * sr)), int(round((hop_s or chunk_s) * sr))
    return 1 + (n - n_chunk) // n_hop if n >= n_chunk and n_hop >= 1 else 0


def _prepare_one(clip, views, plan):
    """:func:`iter_segments` for :func:`prepare_in_workers` (runs in a worker)."""
    return iter_segments(clip, views, plan)


def prepare_short(clip, views, plan):
    """:func:`_prepare_one` for ``score``: None for a long file, left to the main process to stream."""
    return None if _is_long(clip, plan) else iter_segments(clip, views, plan)


def _is_long(clip, plan) -> bool:
    """Long files are streamed in the main process (bounded memory), not shipped from workers."""
    f = clip["_file"]
    if f == io.STDIO or f.endswith(".npy"):
        return False
    try:
        n, sr, _ = _audio_info(f)
    except LfkitError:
        return False
    return n > 600 * sr


def _audio_info(path):
    """:func:`lfkit.io.audio_info`, its header read once per file version.

    :func:`_is_long` and :func:`_segments_audio` both need a clip's length; a
    file is identified by its path, size and modification time, so a file
    rewritten in place is read again.
    """
    try:
        st = os.stat(path)
    except OSError:
        return io.audio_info(path)  # its own error message
    return _audio_info_of(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _audio_info_of(path, size, mtime_ns):
    return io.audio_info(path)


def _score_stdin(clip, views, plan):
    notes = []
    try:
        y, sr = read_clip(clip, plan, notes, data=io.read_bytes(io.STDIO))
        chunk_s, hop_s = plan.chunk_s, plan.chunk_hop_s
        if chunk_s is None and plan.default_n and len(y) > AUTO_CHUNK_FACTOR * plan.default_n:
            chunk_s = plan.default_n / sr
        if chunk_s is None:
            return [(None, None, _transform(y[None, :], sr, views))], notes
        from lfkit import features

        Y, starts, ends = features.chunk(y, sr, chunk_s, hop_s)
        return [(starts, ends, _transform(np.asarray(Y), sr, views))], notes
    except LfkitError as exc:
        return exc, notes


def read_segments(source, views, plan: ReadPlan):
    """The one reader of model inputs: one clip's blocks, read in this process (standard input included).

    Parameters
    ----------
    source : Clip
        An audio file, a ``.npy`` spectrogram or ``-``.
    views : dict
        The distinct inputs the models need (:func:`model_views`): waveform or a front end.
    plan : ReadPlan

    Returns
    -------
    (blocks or LfkitError, notes)
        ``blocks``: a list of ``(starts, ends, {view: arrays})``, one array row
        per chunk (``starts``/``ends`` in seconds, None for a whole clip);
        ``notes``: lines such as a resampling notice.
    """
    return _score_stdin(source, views, plan) if source["_file"] == io.STDIO else iter_segments(source, views, plan)


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
