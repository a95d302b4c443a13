"""Batch scoring: files in, one JSON record per clip (or chunk) out.

Files are read and transformed in parallel (joblib), the networks run on
batches in the main process, and a long recording is cut into chunks read
block by block, so memory stays bounded. Several models average their
scores (an ensemble of, say, a 1-D and a 2-D network). A file that cannot be
read is reported and skipped; the caller exits 1 at the end.
"""

from __future__ import annotations

import numpy as np

from lfkit import io
from lfkit.errors import DataError, LfkitError, ParameterError

__all__ = ["load_scorers", "iter_segments", "score", "ensemble_name"]

#: Clips up to this many times a model's training length are scored whole; longer ones are chunked.
AUTO_CHUNK_FACTOR = 1.5
#: Chunks per block when a long file is streamed.
STREAM_BLOCK = 256


def load_scorers(model_paths, device: str = "cpu"):
    """Load model files and build their scorers."""
    from lfkit.modelfile import load_model
    from lfkit.scorers import make_scorer

    if not model_paths:
        raise ParameterError("model: give at least one model file")
    scorers = [make_scorer(load_model(p), device) for p in model_paths]
    for s in scorers:
        s._network()  # build now: weights that do not fit fail once, not once per clip
    return scorers


def ensemble_name(scorers) -> str:
    return "+".join(s.name for s in scorers)


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
        return blocks, notes
    except LfkitError as exc:
        return exc, notes


def _prepare_batch(clips, views, plan):
    return [iter_segments(c, views, plan) for c in clips]


def _prepare_short(clips, views, plan):
    """:func:`_prepare_batch` for ``score``: None for a long file, left to the main process to stream."""
    return [None if _is_long(c, plan) else iter_segments(c, views, plan) for c in clips]


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


def _score_many(pending, scorers, n_threads=None):
    """Score the blocks of many clips in shared batches.

    Arrays of one view and shape are stacked across clips, so the network runs
    on batches of up to 256 rather than one tiny forward pass per clip.

    Parameters
    ----------
    pending : list of (clip, blocks)
    n_threads : int or None
        Torch threads meanwhile (1 while worker processes hold the other cores:
        oversubscribed threads made the network several times slower).

    Returns
    -------
    list
        ``out[clip][block][model]``: that model's result dicts for the block's rows.
    """
    import torch

    out = [[[None] * len(scorers) for _ in blocks] for _, blocks in pending]
    saved = torch.get_num_threads()
    if n_threads:
        torch.set_num_threads(n_threads)
    try:
        _score_into(out, pending, scorers)
    finally:
        torch.set_num_threads(saved)
    return out


def _score_into(out, pending, scorers):
    for j, s in enumerate(scorers):
        groups = {}
        for ci, (_, blocks) in enumerate(pending):
            for bi, (_, _, arrays) in enumerate(blocks):
                X = arrays[s.view]
                groups.setdefault(X.shape[1:], []).append((ci, bi, X))
        for items in groups.values():
            X = items[0][2] if len(items) == 1 else np.concatenate([x for _, _, x in items])
            res = _batched(s, X)
            k = 0
            for ci, bi, x in items:
                out[ci][bi][j] = res[k : k + len(x)]
                k += len(x)


def _records_for(clip, blocks, scorers, threshold, name, aggregate, scored):
    """Turn one clip's scored blocks (``scored[block][model]``, from :func:`_score_many`) into records."""
    meta = {k: v for k, v in clip.items() if not k.startswith("_") and k != "path"}
    per_chunk = []
    for (starts, ends, _), results in zip(blocks, scored):
        n = len(results[0])
        for i in range(n):
            rec = {"path": clip["_file"] if clip["_file"] != io.STDIO else "-", "model": name}
            parts = [r[i] for r in results]
            rec["score"] = float(np.mean([p["score"] for p in parts]))
            for key in ("probability",):
                vals = [p[key] for p in parts if p.get(key) is not None]
                if len(vals) == len(parts):
                    rec[key] = float(np.mean(vals))
            if len(scorers) == 1:
                for k, v in parts[0].items():
                    rec.setdefault(k, v)
            if starts is not None:
                rec["start"], rec["end"] = round(float(starts[i]), 6), round(float(ends[i]), 6)
            per_chunk.append(rec)
    if aggregate and len(per_chunk) > 1 and "start" in per_chunk[0]:
        best = max(per_chunk, key=lambda r: r["score"])
        rec = dict(best)
        rec["n_chunks"] = len(per_chunk)
        rec["start"], rec["end"] = per_chunk[0]["start"], per_chunk[-1]["end"]
        rec["best_start"], rec["best_end"] = best["start"], best["end"]
        per_chunk = [rec]
    out = []
    for rec in per_chunk:
        if threshold is not None:
            rec["threshold"] = threshold
            rec["decision"] = bool(rec["score"] >= threshold)
        if scorers[0].positive is not None:
            rec["target"] = scorers[0].positive
        rec.update({k: v for k, v in meta.items() if k not in rec})
        out.append(rec)
    return out


def _batched(scorer, X, batch_size: int = 256):
    out = []
    for i in range(0, len(X), batch_size):
        out.extend(scorer.score_batch(X[i : i + batch_size]))
    return out


def score(model_paths, inputs, output=None, threshold=None, chunk_s=None, chunk_hop_s=None, workers: int = 1,
          strict: bool = False, device: str = "cpu", report=None, notice=None, progress=None) -> int:
    """The whole of ``lfkit score`` for the binary and one-class regimes.

    Parameters
    ----------
    model_paths : sequence of str
        One model file, or several whose scores are averaged.
    inputs : sequence of str
        Audio files, folders, datasets, ``labels.csv``, ``.npy`` spectrograms or ``-``.
    output : str or None
        JSON Lines file; None or ``-`` for standard output.
    threshold : float or None
        Decision threshold on the score; default the model's own.
    chunk_s, chunk_hop_s : float or None
        Score fixed windows; one record per chunk. Without it, a file longer
        than 1.5 times the training clips is scored in chunks of the training
        length and gets one record, its highest chunk score (``best_start``).
    workers : int
        Processes reading and transforming files.
    strict : bool
        Refuse audio at another sample rate than the model's instead of resampling.
    report, notice : callable(str)
        Bad files (always shown) and notices such as resampling.

    Returns
    -------
    int
        Number of inputs that could not be scored.
    """
    if workers < 1:
        raise ParameterError(f"workers={workers} must be a positive integer")
    if chunk_s is not None and not chunk_s > 0:
        raise ParameterError(f"chunk={chunk_s!r} must be a positive number of seconds")
    scorers = load_scorers(model_paths, device)
    for s in scorers:
        if getattr(s, "needs_references", False):
            raise ParameterError(f"model {s.name} is a {s.regime} model: score with --enroll REFS or --pairs pairs.csv")
    views = _views(scorers)
    target_sr = _target_sr(scorers)
    default_n = min((s.n_samples for s in scorers if s.n_samples), default=None)
    if threshold is None:
        ths = [s.threshold for s in scorers if s.threshold is not None]
        threshold = float(np.mean(ths)) if len(ths) == len(scorers) else None
    plan = (target_sr, chunk_s, chunk_hop_s, default_n, strict)
    clips = io.find_inputs(inputs)
    name = ensemble_name(scorers)
    records, n_bad = [], 0
    short = [c for c in clips if c["_file"] != io.STDIO]  # long files come back as None from the workers
    size = max(1, min(64, len(short) // max(1, workers * 4) or 1))
    batches = [short[i : i + size] for i in range(0, len(short), size)]
    if workers > 1 and len(batches) > 1:
        from joblib import Parallel, delayed

        prepared = Parallel(n_jobs=workers, return_as="generator")(
            delayed(_prepare_short)(b, views, plan) for b in batches)
    else:
        prepared = (_prepare_short(b, views, plan) for b in batches)
    results, arriving, done = {}, zip(batches, prepared), 0
    is_short = {id(c) for c in short}
    pending, n_pending = [], 0  # clips whose blocks wait for one shared forward pass

    def flush():
        scored = _score_many(pending, scorers, 1 if workers > 1 else None)
        for (clip, blocks), sc in zip(pending, scored):
            records.extend(_records_for(clip, blocks, scorers, threshold, name, chunk_s is None, sc))
        pending.clear()

    for clip in clips:
        while id(clip) in is_short and id(clip) not in results:  # consume workers' results in order
            b, res = next(arriving)
            results.update((id(c), r) for c, r in zip(b, res))
            done += len(b)
            if progress:
                progress(done, len(clips))
        res = results.pop(id(clip), None)  # None: standard input, or a long file streamed here
        if res is None:
            res = _score_stdin(clip, views, plan) if clip["_file"] == io.STDIO else iter_segments(clip, views, plan)
        blocks, notes = res
        for note in notes:
            if notice:
                notice(note)
        try:
            if isinstance(blocks, Exception):
                raise blocks
            for _, _, arrays in blocks:
                for s in scorers:
                    s.check_input(arrays[s.view], clip["path"])
        except LfkitError as exc:
            n_bad += 1
            if report:
                report(str(exc))
            continue
        pending.append((clip, blocks))
        n_pending += sum(len(a[scorers[0].view]) for _, _, a in blocks)
        if n_pending >= STREAM_BLOCK:
            flush()
            n_pending = 0
    flush()
    if not records and n_bad:
        raise DataError(f"none of the {len(clips)} input(s) could be scored")
    io.write_jsonl(records, output)
    return n_bad


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


def split_models(paths):
    """Split ``lfkit score`` arguments into model files (leading ``*.pt``) and inputs."""
    paths = list(paths)
    k = 0
    while k < len(paths) and str(paths[k]).endswith((".pt", ".lfk")):
        k += 1
    if k == 0:
        raise ParameterError("model: the first argument must be a model file (*.pt)")
    return paths[:k], paths[k:]


def run_score(models, inputs, output=None, *, enroll=None, pairs=None, **kw) -> int:
    """Dispatch ``lfkit score``: enrollment or pairs (siamese models), else :func:`score`."""
    if enroll is not None or pairs is not None:
        from lfkit.siamese import score_enroll, score_pairs

        if enroll is not None and pairs is not None:
            raise ParameterError("enroll and pairs cannot be combined")
        if enroll is not None:
            return score_enroll(models, enroll, inputs, output, **kw)
        if inputs:
            raise ParameterError("pairs: the pairs file names the inputs; give no other input")
        return score_pairs(models, pairs, output, **kw)
    if not inputs:
        raise ParameterError("inputs: give audio files, folders, a labels.csv, .npy spectrograms or '-'")
    return score(models, inputs, output, **kw)
