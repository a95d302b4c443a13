"""Batch scoring: files in, one JSON record per clip (or chunk) out.

Files are read and transformed in parallel (:mod:`lfkit.parallel`), the networks run on
batches in the main process, and a long recording is cut into chunks read
block by block, so memory stays bounded. Several models average their
scores (an ensemble of, say, a 1-D and a 2-D network). A file that cannot be
read is reported and skipped; the caller exits 1 at the end.
"""

from __future__ import annotations

import itertools

import numpy as np

from lfkit import io
from lfkit.errors import DataError, LfkitError, ParameterError, check_chunk, check_device, check_number
from lfkit.inference.scorers import build_networks, load_scorers
from lfkit.resources import cap_workers
from lfkit.records import best_chunk, check_compatible, error_record, finite_records, record_path
from lfkit.scoring_stream import finish_records, score_many, stream_long, window_records
from lfkit.streaming import RecordSink
from lfkit.segments import (
    STREAM_BLOCK,
    ReadPlan,
    prepare_short,
    _target_sr,
    model_views,
    blocks_or_raise,
    chunk_rows,
    iter_segments,
    prepare_in_workers,
    read_segments,
    stream_segments,
)

__all__ = ["load_scorers", "iter_segments", "score", "ensemble_name", "record_path", "error_record"]


def ensemble_name(scorers) -> str:
    return "+".join(s.name for s in scorers)


def _records_for(clip, blocks, scorers, threshold, name, aggregate, scored):
    """Turn one clip's scored blocks (``scored[block][model]``, from :func:`lfkit.scoring_stream.score_many`) into records."""
    per_chunk = window_records(clip, blocks, scorers, name, scored)
    if aggregate:
        per_chunk = best_chunk(per_chunk)
    return finish_records(clip, per_chunk, scorers, threshold)


def check_score_options(threshold=None, chunk_s=None, chunk_hop_s=None, workers: int = 1, device: str = "cpu",
                        notice=None) -> int:
    """Check the options ``score`` and ``embed`` share before any file is read; returns the capped workers."""
    check_chunk(chunk_s, chunk_hop_s)
    if threshold is not None:
        check_number("threshold", threshold)
    check_device(device)
    return cap_workers(workers, notice)


def score(model_paths, inputs, output=None, threshold=None, chunk_s=None, chunk_hop_s=None, workers: int = 1,
          strict: bool = False, device: str = "cpu", report=None, notice=None, progress=None,
          resume: bool = False, fmt: str = "jsonl", min_score=None, detections: bool = False,
          gap_s: float = 0.0, channel: int | None = None, executor=None) -> int:
    """The whole of ``lfkit score`` for the binary and one-class regimes.

    Parameters
    ----------
    model_paths : sequence of str
        One model file, or several whose scores are averaged.
    inputs : sequence of str
        Audio files, folders, datasets, ``labels.csv``, ``.npy`` spectrograms or ``-``.
    output : str or None
        JSON Lines file, written as ``NAME.partial`` and renamed at the end;
        None or ``-`` for standard output (flushed after every input).
    threshold : float or None
        Decision threshold on the score; default the model's own.
    chunk_s, chunk_hop_s : float or None
        Score fixed windows; one record per chunk. Without it, a file longer
        than 1.5 times the training clips is scored in chunks of the training
        length and gets one record, its highest chunk score (``best_start``).
    workers : int
        Processes reading and transforming files (capped at the cores available).
    strict : bool
        Refuse audio at another sample rate than the model's instead of resampling.
    report, notice : callable(str)
        Bad files (always shown) and notices such as resampling.
    resume : bool
        Finish ``output``'s ``.partial`` file: inputs already there are skipped.
    fmt : str
        Output format, a name of :data:`lfkit.writers.WRITERS`: ``jsonl``
        (default), ``csv``, ``raven`` (selection table), ``audacity`` (labels).
    min_score : float or None
        Write only records scoring at least this (events: their peak score).
    detections : bool
        Merge each file's consecutive windows at or above the threshold into
        events (:class:`lfkit.detections.EventMerger`): ``start``, ``end``,
        frequency band, peak ``score``, ``n_windows``. Windows are never
        reduced to the best chunk then.
    gap_s : float
        With ``detections``: join events whose windows are at most this far apart (s).
    channel : int or None
        Channel of multichannel audio to read (0-based); None averages them.
    executor : concurrent.futures.Executor or None
        Where files are read and transformed (e.g. a ``dask.distributed``
        client's ``get_executor()``); default ``workers`` local processes
        (:func:`lfkit.parallel.map_batches`).

    Returns
    -------
    int
        Number of inputs that could not be scored (each has an error record).
    """
    workers = check_score_options(threshold, chunk_s, chunk_hop_s, workers, device, notice)
    # the model files are read and checked without torch; the networks (import torch, ~1 s) are built once the
    # readers have their first batches (_score_to's ``started``), so reading and the import overlap. A resumed
    # run builds them first: a model whose weights do not fit then fails before its partial file is touched.
    scorers = load_scorers(model_paths, device, build=resume)
    for s in scorers:
        if getattr(s, "needs_references", False):
            raise ParameterError(f"model {s.name} is a {s.regime} model: score with --enroll REFS or --pairs pairs.csv")
    check_compatible(scorers)
    views = model_views(scorers)
    target_sr = _target_sr(scorers)
    check_chunk_fits(chunk_s, chunk_hop_s, scorers, target_sr)
    default_n = min((s.n_samples for s in scorers if s.n_samples), default=None)
    if threshold is None:
        ths = [s.threshold for s in scorers if s.threshold is not None]
        threshold = float(np.mean(ths)) if len(ths) == len(scorers) else None
    plan = ReadPlan(target_sr, chunk_s, chunk_hop_s, default_n, strict, channel)
    from lfkit.detections import post_processor

    post = post_processor(scorers, threshold, fmt, min_score, detections, gap_s)
    clips = io.find_inputs(inputs)
    if executor is not None:
        io.for_other_machines(clips)
    name = ensemble_name(scorers)
    sink = RecordSink(output, resume, fmt, band=post.band)
    try:
        n_bad, n_good = _score_to(sink, clips, scorers, views, plan, threshold, name,
                                  chunk_s is None and not detections, workers, report, notice, progress, post,
                                  executor, started=lambda: build_networks(scorers))
    except BaseException:
        sink.close()
        raise
    if not n_good and n_bad:
        sink.discard()
        raise DataError(f"none of the {len(clips)} input(s) could be scored")
    sink.finish()
    return n_bad


def check_chunk_fits(chunk_s, chunk_hop_s, scorers, sr) -> None:
    """Refuse, once and before any file is read, a ``--chunk`` too short for a model's FFT window."""
    if chunk_s is None or not sr:
        return
    for s in scorers:
        n_fft = s.frontend.n_fft if s.kind == "spectrogram" else 1
        if round(chunk_s * sr) < n_fft or (chunk_hop_s is not None and round(chunk_hop_s * sr) < 1):
            raise ParameterError(f"chunk={chunk_s:g} s is shorter than model {s.name}'s FFT window "
                                 f"({n_fft} samples = {n_fft / sr:.3g} s at {sr} Hz)")


def _score_to(sink, clips, scorers, views, plan, threshold, name, aggregate, workers, report, notice, progress,
              post=None, executor=None, started=None):
    """Score ``clips`` into ``sink`` in input order; returns (bad inputs, good inputs), resumed ones included.

    ``started()``, if given, is called once the readers have their first
    batches and before anything is written (``score`` builds the networks there).

    A long file (more than one block of ``STREAM_BLOCK`` chunks, read here
    rather than in a worker) is streamed (:func:`~lfkit.scoring_stream.stream_long`): memory stays
    flat in its length, and its records are the bytes a materialised run writes.
    """
    # resume at a batch boundary: the same batches, the same bits
    sink.keep_groups(_batch_start(sink.groups, lambda path: chunk_rows(path, plan)))
    todo = [c for c in clips if not sink.skip(record_path(c))]
    n_bad = sink.done_errors
    n_good = len(clips) - len(todo) - n_bad
    held = []  # error records wait for the first good one: a batch where nothing scores writes nothing
    n_threads = 1 if workers > 1 else None

    def emit(recs, ok):
        nonlocal n_good
        if not ok and not n_good:
            held.append(recs)
            return
        for h in held:
            sink.write(h)
        held.clear()
        sink.write(recs)
        n_good += ok

    def fail(clip, exc):
        nonlocal n_bad
        n_bad += 1
        if report:
            report(str(exc))
        emit([error_record(clip, name, str(exc))], False)

    short = [c for c in todo if c["_file"] != io.STDIO]  # long files come back as None from the workers
    reading = prepare_in_workers(short, views, plan, workers, prepare_short, executor)
    arriving = zip(short, reading)
    if started is not None:
        try:
            started()
        except BaseException:
            _stop_quietly(reading)
            raise
    results, done = {}, len(clips) - len(todo)
    is_short = {id(c) for c in short}
    pending, n_pending = [], 0  # clips whose blocks wait for one shared forward pass

    def flush(scored=None):  # in input order: a bad input's error record waits its turn among the good ones
        ready = [(c, b) for c, b in pending if not isinstance(b, Exception)]
        scored = iter(scored if scored is not None else score_many(ready, scorers, n_threads))
        for clip, blocks in pending:
            if isinstance(blocks, Exception):
                fail(clip, blocks)
                continue
            sc = next(scored)
            try:
                recs = finite_records(_records_for(clip, blocks, scorers, threshold, name, aggregate, sc), clip["path"])
                if post is not None:
                    recs = post(recs)
            except LfkitError as exc:
                fail(clip, exc)
                continue
            emit(recs, True)
        pending.clear()

    def prepare(clip, blocks):
        for _, _, arrays in blocks:
            for s in scorers:
                s.check_input(arrays[s.view], clip["path"])
                arrays[s.view] = s.fit_input(arrays[s.view])
        return blocks

    for clip in todo:
        while id(clip) in is_short and id(clip) not in results:  # consume workers' results in order
            c, res = next(arriving)
            results[id(c)] = res
            done += 1
            if progress:
                progress(done, len(clips))
        res = results.pop(id(clip), None)  # None: standard input, or a long file streamed here
        fitted = False
        if res is None and clip["_file"] != io.STDIO:
            notes, head = [], []
            gen = stream_segments(clip, views, plan, notes)
            try:
                head = [prepare(clip, [b])[0] for b in itertools.islice(gen, 2)]
            except LfkitError as exc:
                res = (exc, notes)
            for note in notes if res is None else ():
                if notice:
                    notice(note)
            if res is None and len(head) == 2:
                try:
                    scored, spool = stream_long(clip, head, gen, pending, scorers, threshold, name, aggregate,
                                                 post, n_threads, prepare)
                except LfkitError as exc:  # as a materialised run: the file's error waits among the pending
                    pending.append((clip, exc))
                    continue
                flush(scored)
                parts = spool.parts()
                emit(next(parts, []), True)
                for part in parts:
                    sink.write(part)
                n_pending = 0
                continue
            if res is None:  # one block: scored with the pending clips, as any other
                res, fitted = (head, []), True
        if res is None:
            res = read_segments(clip, views, plan)
        try:
            blocks = blocks_or_raise(res, notice)
            if not fitted:
                prepare(clip, blocks)
        except LfkitError as exc:
            pending.append((clip, exc))
            continue
        pending.append((clip, blocks))
        n_pending += sum(len(a[scorers[0].view]) for _, _, a in blocks)
        if n_pending >= STREAM_BLOCK:
            flush()
            n_pending = 0
    flush()
    return n_bad, n_good


def _stop_quietly(reading) -> None:
    """Stop a map whose results will not be taken, without joblib's warning about the work done for nothing."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        close = getattr(reading, "close", None)
        if close is not None:
            close()


def _batch_start(groups, rows=None) -> int:
    """How many resumed inputs end at a boundary of the shared forward batches.

    The network's float results can differ in the last bits with the batch's
    composition, so a resumed run restarts where a batch of the original
    run began (replaying :func:`_score_to`'s rule: a batch closes once it
    holds ``STREAM_BLOCK`` rows); its records are then the original's to the bit.

    Parameters
    ----------
    groups : list of (path, records, offset)
        The resumed inputs (:class:`lfkit.streaming.RecordSink`'s ``groups``).
    rows : callable(path) -> int or None, optional
        The rows an input was scored as (:func:`lfkit.segments.chunk_rows`),
        where its records do not say (events, or windows left out by
        ``min_score``); None: count its records (``n_chunks`` for a best chunk).
    """
    k = n = 0
    for i, (path, recs, _) in enumerate(groups, 1):
        if any("error" in r for r in recs):
            m = 0
        else:
            m = rows(path) if rows is not None else None
            if m is None:
                m = sum(int(r.get("n_chunks", 1)) for r in recs)
        n += m
        if n >= STREAM_BLOCK:
            k, n = i, 0
    return k


def split_models(paths):
    """Split ``lfkit score`` arguments into model files (leading ``*.pt``) and inputs."""
    paths = list(paths)
    k = 0
    while k < len(paths) and str(paths[k]).endswith((".pt", ".lfk")):
        k += 1
    if k == 0:
        raise ParameterError("model: the first argument must be a model file (*.pt)")
    return paths[:k], paths[k:]


def run_score(models, inputs, output=None, *, enroll=None, pairs=None, scheduler=None, **kw) -> int:
    """Dispatch ``lfkit score``: enrollment or pairs (siamese models), else :func:`score`.

    With ``scheduler`` (``--scheduler local:N`` or a Dask scheduler address,
    :mod:`lfkit.cluster`), files are read and transformed on that cluster's
    workers and the networks run here: the records are those of a local run,
    byte for byte, in input order.

    The records file (and its ``.partial``) may not be, hold or sit inside a
    model, an input, the enrolment references or the pairs file
    (:func:`lfkit.io.check_outputs`), so a typo never overwrites a user's file.
    """
    from lfkit import io
    from lfkit.streaming import partial_path

    if output not in (None, io.STDIO):
        io.check_outputs([("output", output), ("output's partial file", partial_path(output))],
                         [("model", m) for m in models] + [("input", i) for i in (inputs or [])]
                         + ([("enroll", enroll)] if enroll is not None else [])
                         + ([("pairs", pairs)] if pairs is not None else []))
    if enroll is not None or pairs is not None:
        from lfkit.enroll import score_enroll, score_pairs

        if kw.pop("resume", False):
            raise ParameterError("resume works for plain scoring, not with --enroll or --pairs")
        kw["scheduler"] = scheduler
        for opt, default in (("fmt", "jsonl"), ("min_score", None), ("detections", False), ("gap_s", 0.0),
                             ("scheduler", None)):
            if kw.pop(opt, default) != default:
                raise ParameterError(f"{opt} works for plain scoring, not with --enroll or --pairs")
        kw["workers"] = check_score_options(kw.get("threshold"), kw.get("chunk_s"), kw.get("chunk_hop_s"),
                                            kw.get("workers", 1), kw.get("device", "cpu"), kw.get("notice"))

        if enroll is not None and pairs is not None:
            raise ParameterError("enroll and pairs cannot be combined")
        if enroll is not None:
            return score_enroll(models, enroll, inputs, output, **kw)
        if inputs:
            raise ParameterError("pairs: the pairs file names the inputs; give no other input")
        return score_pairs(models, pairs, output, **kw)
    if not inputs:
        raise ParameterError("inputs: give audio files, folders, a labels.csv, .npy spectrograms or '-'")
    from lfkit.cluster import scheduled

    with scheduled(scheduler, inputs, kw.pop("workers", 1), kw.get("notice")) as (executor, workers):
        return score(models, inputs, output, workers=workers, executor=executor, **kw)
