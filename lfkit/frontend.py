"""From files to spectrograms: the whole of ``lfkit spectro`` and the loader models use.

Reading goes through :mod:`lfkit.io`, arithmetic through :mod:`lfkit.features`;
this module only joins them: one clip (or its chunks) to an array, a batch of
clips to a folder of ``.npy`` files with ``labels.csv`` and ``frontend.json``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from functools import partial
from pathlib import Path

import numpy as np

from lfkit import io, reading
from lfkit.config import FrontendConfig
from lfkit.errors import DataError, LfkitError, ParameterError, check_chunk, check_positive_int
from lfkit.parallel import batch_size_for, map_batches
from lfkit.resources import cap_workers

__all__ = [
    "clip_spectrogram",
    "spectro",
    "spectro_dataset",
    "read_frontend",
    "find_frontend",
    "FRONTEND_FILE",
    "FRONTEND_LEVELS",
]

from lfkit.io_tables import FRONTEND_FILE, FRONTEND_LEVELS, find_frontend, read_frontend  # noqa: E402,F401


def clip_spectrogram(path, cfg: FrontendConfig, chunk_s: float | None = None, chunk_hop_s: float | None = None,
                     channel: int | None = None, data: bytes | None = None, max_bytes: int | None = None):
    """Spectrogram of one audio file, whole or cut into fixed chunks.

    Parameters
    ----------
    path : str
        Audio file or ``-``.
    cfg : FrontendConfig
    chunk_s, chunk_hop_s : float or None
        Cut the recording into windows of ``chunk_s`` seconds every
        ``chunk_hop_s`` seconds (default: ``chunk_s``) before the transform.
    channel : int or None
        Channel to keep; None averages to mono.
    data : bytes or None
        The file's bytes, when already read.
    max_bytes : int or None
        Largest file read (default :attr:`lfkit.config.ReadConfig.max_bytes`).

    Returns
    -------
    S : np.ndarray, float32
        Shape (n_freq, n_frames), or (n_chunks, n_freq, n_frames) when chunked.
    starts, ends : np.ndarray or None
        Chunk bounds in seconds (None when not chunked).
    """
    return _clip_spec(path, cfg, chunk_s, chunk_hop_s, channel, data, max_bytes)[:3]


def _clip_spec(path, cfg, chunk_s=None, chunk_hop_s=None, channel=None, data=None, max_bytes=None):
    from lfkit import features

    from lfkit.segments import ReadPlan, read_clip

    y, sr = read_clip(path, ReadPlan(channel=channel), data=data, max_bytes=max_bytes)
    try:
        if chunk_s is None:
            return features.spectrogram(y, sr, cfg), None, None, sr, len(y)
        chunks, starts, ends = features.chunk(y, sr, chunk_s, chunk_hop_s)
        S = features.spectrogram_batch(np.asarray(chunks), sr, cfg)
    except DataError as exc:  # e.g. shorter than one FFT window: name the file
        raise DataError(f"{'<stdin>' if str(path) == io.STDIO else path}: {exc}") from None
    except ParameterError as exc:  # the default band at a file's own rate it cannot hold (a 7 Hz file): exit 1
        default = FrontendConfig()
        if cfg.sr is not None or (cfg.fmin, cfg.fmax) != (default.fmin, default.fmax) or not (
                "Nyquist" in str(exc) or "FFT bin" in str(exc)):
            raise
        raise DataError(f"{'<stdin>' if str(path) == io.STDIO else path}: at {sr} Hz, {exc}") from None
    return S, np.asarray(starts, dtype=float), np.asarray(ends, dtype=float), sr, len(y)


def _chunks_csv(starts, ends) -> list[dict]:
    return [{"chunk": i, "start": f"{s:.6g}", "end": f"{e:.6g}"} for i, (s, e) in enumerate(zip(starts, ends))]


def spectro(inp: str, output, cfg: FrontendConfig, chunk_s=None, chunk_hop_s=None, channel=None,
            max_bytes: int | None = None) -> None:
    """Spectrogram of one input, written as NPY to ``output`` (or standard output).

    With chunks, their bounds go to ``<output>.chunks.csv`` (``chunk,start,end``,
    seconds); on standard output only the array is written. An output (or its
    sidecar) that is the input is refused before anything is read.
    """
    if output not in (None, io.STDIO):
        sidecars = [("chunks CSV", f"{output}.chunks.csv")] if chunk_s is not None else []
        io.check_outputs([output] + sidecars, [inp])
    S, starts, ends = clip_spectrogram(inp, cfg, chunk_s, chunk_hop_s, channel, max_bytes=max_bytes)
    io.write_npy(S, output)
    if starts is not None and output not in (None, io.STDIO):
        io.write_csv(_chunks_csv(starts, ends), f"{output}.chunks.csv")


def _spectro_one(clip, out_dir, cfg, chunk_s, chunk_hop_s, channel, max_bytes=None):
    """Compute and write one clip's arrays; returns its ``labels.csv`` row (or raises LfkitError)."""
    S, starts, ends, sr, n = _clip_spec(clip["_file"], cfg, chunk_s, chunk_hop_s, channel, max_bytes=max_bytes)
    rel = Path(clip["_rel"])
    target = Path(out_dir) / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    io.write_npy(S, target)
    row = {k: v for k, v in clip.items() if not k.startswith("_")}
    row["path"] = str(rel)
    row.setdefault("label", "")
    row["_sr"], row["_n"] = (cfg.sr or sr), (n if cfg.sr in (None, sr) else round(n * cfg.sr / sr))
    if starts is not None:
        io.write_csv(_chunks_csv(starts, ends), f"{target}.chunks.csv")
        row["n_chunks"] = str(len(starts))
    return row


def _spectro_group(clips, out_dir, cfg, chunk_s, chunk_hop_s, channel, max_bytes=None):
    """Worker task: :func:`_spectro_one` over a group of clips, recorded as finished in ``out_dir``.

    The clips' files are written without a ``fsync`` each
    (:func:`lfkit.io_files.deferred_sync`); the finished ones are flushed to
    disk together and only then recorded, about every :data:`FLUSH_EVERY_S`
    seconds and when the group ends or is interrupted
    (:class:`lfkit.partial_dir.RecordBuffer`; the rule is in
    :mod:`lfkit.partial_dir`). Returns one row or LfkitError per clip.
    """
    from lfkit.io_files import deferred_sync
    from lfkit.partial_dir import RecordBuffer

    out = []
    with RecordBuffer(out_dir, FLUSH_EVERY_S) as held:
        for clip in clips:
            try:
                with deferred_sync():
                    row = _spectro_one(clip, out_dir, cfg, chunk_s, chunk_hop_s, channel, max_bytes)
            except LfkitError as exc:
                out.append(exc)
                continue
            held.add(row["path"], row)
            out.append(row)
    return out


def _relative_names(clips, inputs) -> None:
    """Give each clip ``_rel``: its ``.npy`` path inside the output folder (unique, no ``..``).

    The name is the clip's path below its input folder (or its file name)
    with the suffix replaced by ``.npy``: ``a.wav`` -> ``a.npy``. Clips whose
    names would clash (``a.wav`` and ``a.flac``) keep their suffix instead:
    ``a.wav.npy`` and ``a.flac.npy``; the others keep the short name.
    """
    roots = [Path(i) for i in inputs if Path(i).is_dir()]
    for clip in clips:
        f = Path(clip["_file"])
        rel = None
        for r in roots:
            try:
                rel = f.resolve().relative_to(r.resolve())
                break
            except ValueError:
                continue
        clip["_rel"] = str(rel if rel is not None else f.name)
    short = [str(Path(c["_rel"]).with_suffix(".npy")) for c in clips]
    counts = {}
    for k in short:
        counts[k] = counts.get(k, 0) + 1
    for clip, k in zip(clips, short):
        clip["_rel"] = k if counts[k] == 1 else clip["_rel"] + ".npy"
    seen = {}
    for clip in clips:
        k = clip["_rel"]
        if k in seen:
            raise ParameterError(f"inputs: two clips would both be written as {k}; pass one folder at a time")
        seen[k] = True


def _one_rate(clips, cfg: FrontendConfig, strict: bool, notice=None) -> FrontendConfig:
    """The front end for a folder: clips of several sample rates are resampled to one.

    With ``cfg.sr`` set, every clip is resampled to it already. Otherwise the
    most common rate is taken (the higher on a tie), with a notice; under
    ``strict`` mixed rates are refused. Files whose header cannot be read are
    left to the batch, which reports them.
    """
    if cfg.sr is not None:
        return cfg
    counts = {}
    for clip in clips:
        if clip["_file"] == io.STDIO:
            continue
        try:
            sr = io.audio_info(clip["_file"])[1]
        except LfkitError:
            continue
        counts[sr] = counts.get(sr, 0) + 1
    if len(counts) < 2:
        return cfg
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], -kv[0]))
    listed = ", ".join(f"{sr} Hz ({k} clip{'s' * (k != 1)})" for sr, k in ranked)
    if strict:
        raise DataError(f"inputs hold several sample rates: {listed}; --strict refuses to resample "
                        "(give --sr, or one rate per folder)")
    target = ranked[0][0]
    if notice:
        notice(f"inputs hold several sample rates: {listed}; all resampled to {target} Hz "
               "(--sr chooses, --strict refuses)")
    return dataclasses.replace(cfg, sr=target)


def spectro_dataset(inputs, out_dir, cfg: FrontendConfig, chunk_s=None, chunk_hop_s=None, channel=None,
                    workers: int = 1, report=None, progress=None, notice=None, strict: bool = False,
                    max_bytes: int | None = None, resume: bool = False, executor=None) -> int:
    """Spectrograms of many clips into a folder: one ``.npy`` each, ``labels.csv``, ``frontend.json``.

    Each clip's array is named after its path below its input folder with the
    suffix replaced by ``.npy`` (``sub/a.wav`` -> ``sub/a.npy``); clips whose
    names would clash (``a.wav`` and ``a.flac``) keep their suffix
    (``a.wav.npy``, ``a.flac.npy``). The folder holds lfkit's manifest, and
    ``frontend.json`` records the front end actually used, sample rate included.

    Parameters
    ----------
    inputs : sequence of str
        Audio files, folders, datasets or ``labels.csv`` files.
    out_dir : str
        The output folder, built in ``out_dir.partial`` and moved into place
        when complete; an interrupted run leaves the finished arrays there. It
        may not be, hold or sit inside an input, and an existing folder is
        replaced only if lfkit wrote it (see :func:`lfkit.io.atomic_dir`).
    workers : int
        Processes reading and transforming in parallel (:func:`lfkit.parallel.map_batches`).
    report : callable(str) or None
        Called with one line per bad file; the others are still written.
    progress : callable(done, total) or None
    notice : callable(str) or None
        Called once when clips of several sample rates are resampled to one.
    strict : bool
        Refuse clips of several sample rates instead of resampling.
    max_bytes : int or None
        Largest audio file read (default :attr:`lfkit.config.ReadConfig.max_bytes`).
    resume : bool
        Finish the ``OUT.partial`` folder an interrupted run left (the same
        inputs and settings): clips whose arrays are there are not redone.
        Without it an existing ``OUT.partial`` is refused (see
        :class:`lfkit.partial_dir.PartialDir`).
    executor : concurrent.futures.Executor or None
        Where the clips are read and transformed (e.g. a Dask cluster's, from
        :func:`lfkit.cluster.scheduled`), in place of ``workers``
        local processes; ``workers`` then only sizes the groups of clips
        sent (give the cluster's worker count). Its workers write into
        ``OUT.partial`` directly, so it must be on a filesystem they share.
        The folder written is the same, byte for byte.

    Returns
    -------
    int
        Number of bad files (0 when all were written).
    """
    if out_dir in (None, io.STDIO):
        raise ParameterError("output='-': many clips make a folder; give -o DIR")
    from lfkit.partial_dir import PartialDir, partial_dir_path

    if executor is None:
        workers = cap_workers(workers, notice)
    outs = [out_dir, ("partial folder", partial_dir_path(out_dir))]
    io.check_outputs(outs, list(inputs))
    clips = io.find_inputs(inputs, allow_npy=False)
    io.check_outputs(outs, [("input", c["_file"]) for c in clips])
    _relative_names(clips, inputs)
    cfg = _one_rate(clips, cfg, strict, notice)
    job = [{k: (str(Path(v).resolve()) if k == "_file" else v) for k, v in c.items()} for c in clips]
    settings = {"frontend": cfg.to_dict(), "chunk_s": chunk_s, "chunk_hop_s": chunk_hop_s, "channel": channel,
                "clips_sha256": hashlib.sha256(io.dumps(job).encode("utf-8")).hexdigest()}
    part = PartialDir(out_dir, "spectro", settings, resume=resume)
    try:
        n_bad = _fill(part.folder, clips, [part.done(c["_rel"]) for c in clips], cfg, chunk_s, chunk_hop_s,
                      channel, workers, report, progress, max_bytes, inputs, executor=executor)
    except BaseException:
        part.discard_if_empty()
        raise
    part.finish()
    return n_bad


#: Seconds between two flushes of a worker's finished clips to disk (:class:`lfkit.partial_dir.RecordBuffer`):
#: a kill or power cut costs at most about this much work per worker.
FLUSH_EVERY_S = 1.0


def _fill(tmp, clips, done_rows, cfg, chunk_s, chunk_hop_s, channel, workers, report, progress, max_bytes,
          inputs, executor=None) -> int:
    """Write the arrays of the clips not done yet, then ``labels.csv`` and ``frontend.json``; the bad count.

    The clips go to the workers in groups of :func:`lfkit.parallel.batch_size_for`
    (one task each, :func:`_spectro_group`).
    """
    todo = [c for c, r in zip(clips, done_rows) if r is None]
    n_bad = 0
    new = {}
    size = batch_size_for(len(todo), workers)
    groups = [todo[i : i + size] for i in range(0, len(todo), size)]
    task = partial(_spectro_group, out_dir=Path(tmp).resolve(), cfg=cfg, chunk_s=chunk_s, chunk_hop_s=chunk_hop_s,
                   channel=channel, max_bytes=max_bytes)
    results = map_batches(task, groups, workers=workers, executor=executor, batch_size=1)
    done = len(clips) - len(todo)
    if progress and done:
        progress(done, len(clips))
    for group, result in zip(groups, results):
        if isinstance(result, LfkitError):  # the group's flush failed (a disk error): none of it is kept
            result = [result] + [None] * (len(group) - 1)
        for row in result:
            if row is None or isinstance(row, LfkitError):
                n_bad += 1
                if report and row is not None:
                    report(str(row))
            else:
                new[row["path"]] = row
            done += 1
            if progress:
                progress(done, len(clips))
    if executor is not None:  # other machines wrote the arrays: they must have landed in this folder
        for name in new:
            if not (Path(tmp) / name).is_file():
                raise DataError(f"output={str(tmp)!r}: the cluster's workers wrote {name} but it is not in this "
                                "folder; the output must be on a filesystem every worker mounts at the same path")
    rows = [r if r is not None else new[c["_rel"]] for c, r in zip(clips, done_rows)
            if r is not None or c["_rel"] in new]
    if not rows:
        raise DataError(f"no clip could be read from {', '.join(map(str, inputs))}")
    lengths = {r["_n"] for r in rows}
    io.write_json({"frontend": cfg.to_dict(), "chunk_s": chunk_s, "chunk_hop_s": chunk_hop_s,
                   "sr": rows[0]["_sr"],
                   "n_samples": rows[0]["_n"] if chunk_s is None and len(lengths) == 1 else None},
                  Path(tmp) / FRONTEND_FILE)
    io.write_csv(rows, Path(tmp) / "labels.csv")
    return n_bad


def is_single(inputs) -> bool:
    """True when the inputs name one file (or ``-``), not a folder or dataset."""
    if len(inputs) != 1:
        return False
    s = str(inputs[0])
    return s == io.STDIO or (os.path.isfile(s) and not s.endswith(".csv"))


def run_spectro(inputs, output, cfg: FrontendConfig, chunk_s=None, chunk_hop_s=None, channel=None,
                workers: int = 1, report=None, progress=None, notice=None, strict: bool = False,
                max_bytes: int | None = None, resume: bool = False, executor=None) -> int:
    """The whole of ``lfkit spectro``: one file to one ``.npy`` (or standard output), else a folder.

    With no inputs and standard input not a terminal, standard input is read
    (``lfkit synth | lfkit spectro > x.npy``). ``executor`` (a folder
    only) is passed to :func:`spectro_dataset`; one file is always done here.

    Returns
    -------
    int
        Number of bad files (always 0 for a single file, which raises instead).
    """
    inputs = reading.inputs_or_stdin(inputs)
    if not inputs:
        raise ParameterError("inputs: give an audio file, a folder, a labels.csv or '-'")
    if max_bytes is not None:
        check_positive_int("max_bytes", max_bytes)
    check_chunk(chunk_s, chunk_hop_s)
    from lfkit.segments import ReadPlan

    ReadPlan(channel=channel)  # a negative channel: one parameter error, not one per file
    if not is_single(inputs):
        io.find_inputs(inputs, allow_npy=False)  # a missing input or a folder without audio: say so first
    single = is_single(inputs) and not (output not in (None, io.STDIO) and Path(output).is_dir())
    if str(output).endswith(".npy") or single:
        if not is_single(inputs):
            raise ParameterError(f"output={output!r} is one .npy file but the inputs hold many clips; give -o DIR")
        if resume:
            raise ParameterError(f"resume: output={output!r} is one file, written in one step; "
                                 "--resume finishes an output folder (-o DIR)")
        spectro(inputs[0], output, cfg, chunk_s, chunk_hop_s, channel, max_bytes)
        return 0
    return spectro_dataset(inputs, output, cfg, chunk_s, chunk_hop_s, channel, workers, report, progress,
                           notice, strict, max_bytes, resume=resume, executor=executor)
