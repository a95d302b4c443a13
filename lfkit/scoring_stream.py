"""The forward batches and records of ``lfkit score``, and a long recording scored block by block.

:func:`score_many` scores the blocks of many clips in shared batches;
:func:`window_records` and :func:`finish_records` make their records.
:func:`stream_long` scores a long file as it is read, with memory flat in
its length and the bytes of a materialised run:
:class:`RowBatcher` runs a model over rows as they arrive, in forward
batches of exactly ``NET_BATCH`` rows (the batches a materialised run makes,
so the scores are the same to the bit); :class:`BestChunk` keeps a file's
best chunk record as chunks go by (:func:`lfkit.records.best_chunk`
streamed); :class:`Spool` keeps a file's records on disk until the whole
file has scored, so a file that fails half-way writes only its error record.
"""

from __future__ import annotations

import itertools
import pickle
import tempfile

import numpy as np

from lfkit.errors import DataError
from lfkit.parallel import net_batches
from lfkit.records import add_metadata, chunk_summary, clip_metadata, decide, finite_records, make_record

__all__ = ["RowBatcher", "BestChunk", "Spool", "score_many", "window_records", "finish_records", "stream_long",
           "torch_threads"]


class RowBatcher:
    """``fn`` over a stream of row arrays, called on slices of ``size`` rows (the last may be shorter).

    Parameters
    ----------
    fn : callable(X) -> list
        One result per row of ``X`` (e.g. a scorer's ``score_batch``).
    size : int or None
        Rows per call; default :data:`lfkit.parallel.NET_BATCH`.

    Notes
    -----
    The rows ``add`` receives are those :func:`lfkit.parallel.net_batches`
    would see concatenated; each call gets the same rows it would, so results
    equal that of one call over everything. Results are taken in row order
    with :meth:`take`; at most ``size - 1`` rows wait for a full batch.
    """

    def __init__(self, fn, size: int | None = None):
        from lfkit.parallel import NET_BATCH, net_batches

        self.fn, self.size, self._net = fn, size or NET_BATCH, net_batches
        self.rows, self.n_rows, self.results = [], 0, []

    def add(self, X) -> None:
        """Queue rows ``X`` (shape (k, ...)); runs every full batch now."""
        if len(X):
            self.rows.append(X)
            self.n_rows += len(X)
        if self.n_rows >= self.size:
            self._run(self.n_rows // self.size * self.size)

    def finish(self) -> None:
        """Run the rows left over (the last, shorter batch)."""
        if self.n_rows:
            self._run(self.n_rows)

    def _run(self, k: int) -> None:
        X = self.rows[0] if len(self.rows) == 1 else np.concatenate(self.rows)
        res = self._net(self.fn, X[:k], self.size)
        self.results.extend(res if res is not None else [])
        rest = X[k:]
        self.rows, self.n_rows = ([rest] if len(rest) else []), len(rest)

    def available(self) -> int:
        """Results ready to :meth:`take`."""
        return len(self.results)

    def take(self, k: int) -> list:
        """The next ``k`` results, in row order."""
        out = self.results[:k]
        del self.results[:k]
        return out


class BestChunk:
    """:func:`lfkit.records.best_chunk` over chunk records fed in blocks: the same record, one held."""

    def __init__(self):
        self.top, self.first, self.last, self.n = None, None, None, 0

    def feed(self, records) -> None:
        for r in records:
            if self.first is None:
                self.first = r
            if self.top is None or r["score"] > self.top["score"]:
                self.top = r
            self.last = r
            self.n += 1

    def records(self) -> list:
        """The file's one record (its chunk records all have ``start`` / ``end``)."""
        if self.n < 2:
            return [self.first] if self.n else []
        return [chunk_summary(self.top, self.first, self.last, self.n)]


class Spool:
    """A file's records, block by block, on disk (a temporary file) until it has all scored."""

    def __init__(self):
        self._fh = tempfile.TemporaryFile()
        self.n_parts = 0

    def add(self, records) -> None:
        if records:
            pickle.dump(records, self._fh, protocol=pickle.HIGHEST_PROTOCOL)
            self.n_parts += 1

    def parts(self):
        """The records added, part by part, in order (then the spool is closed)."""
        self._fh.seek(0)
        try:
            for _ in range(self.n_parts):
                yield pickle.load(self._fh)
        finally:
            self.close()

    def close(self) -> None:
        self._fh.close()


def score_many(pending, scorers, n_threads=None, skip=None):
    """Score the blocks of many clips in shared batches.

    Arrays of one view and shape are stacked across clips, so the network runs
    on batches of up to ``NET_BATCH`` (256) rather than one tiny forward pass per clip.

    Parameters
    ----------
    pending : list of (clip, blocks)
    n_threads : int or None
        Torch threads meanwhile (1 while worker processes hold the other cores:
        oversubscribed threads made the network several times slower).
    skip : list or None
        Per model, a row shape left out (its rows are scored elsewhere, with a
        long file's: :func:`stream_long`); their entries stay None.

    Returns
    -------
    list
        ``out[clip][block][model]``: that model's result dicts for the block's rows.
    """
    out = [[[None] * len(scorers) for _ in blocks] for _, blocks in pending]
    with torch_threads(scorers, n_threads):
        _score_into(out, pending, scorers, skip)
    return out


class torch_threads:
    """Torch's thread count set to ``n`` meanwhile (nothing, and torch never imported, for classical models)."""

    def __init__(self, scorers, n):
        self.n = n if n and any(s.net is not None for s in scorers) else None

    def __enter__(self):
        if self.n:
            import torch

            self.saved = torch.get_num_threads()
            torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        if self.n:
            import torch

            torch.set_num_threads(self.saved)


def _score_into(out, pending, scorers, skip=None):
    for j, s in enumerate(scorers):
        groups = {}
        for ci, (_, blocks) in enumerate(pending):
            for bi, (_, _, arrays) in enumerate(blocks):
                X = arrays[s.view]
                if skip is None or X.shape[1:] != skip[j]:
                    groups.setdefault(X.shape[1:], []).append((ci, bi, X))
        for items in groups.values():
            X = items[0][2] if len(items) == 1 else np.concatenate([x for _, _, x in items])
            res = _batched(s, X)
            k = 0
            for ci, bi, x in items:
                out[ci][bi][j] = res[k : k + len(x)]
                k += len(x)


def window_records(clip, blocks, scorers, name, scored):
    """One bare record per row of ``blocks`` (score, probability, times), before the decision and metadata."""
    per_chunk = []
    for (starts, ends, _), results in zip(blocks, scored):
        for i in range(len(results[0])):
            parts = [r[i] for r in results]
            probs = [p["probability"] for p in parts if p.get("probability") is not None]
            per_chunk.append(make_record(
                clip, name, score=float(np.mean([p["score"] for p in parts])),
                probability=float(np.mean(probs)) if len(probs) == len(parts) else None,
                extra=parts[0] if len(scorers) == 1 else None,
                start=None if starts is None else starts[i], end=None if ends is None else ends[i]))
    return per_chunk


def finish_records(clip, per_chunk, scorers, threshold):
    """The decision, the model's target and the clip's metadata added to bare records (in place)."""
    meta = clip_metadata(clip)
    target = scorers[0].positive
    for rec in per_chunk:
        decide(rec, threshold)
        if target is not None:
            rec["target"] = target
        add_metadata(rec, meta)
    return per_chunk


def _batched(scorer, X):
    return net_batches(scorer.score_batch, X) or []


def stream_long(clip, head, gen, pending, scorers, threshold, name, aggregate, post, n_threads, prepare):
    """Score a long file as its blocks are read: the batches, and the bytes, of a materialised run.

    A materialised run stacks the file's rows after the pending clips' rows of
    the same shape and cuts ``NET_BATCH`` batches from the whole; here a
    :class:`~lfkit.scoring_stream.RowBatcher` per model gets the pending rows of
    the file's shape, then the file's blocks one at a time, and each block's
    records are made once its rows have scored. Pending clips are scored but
    not written (the caller writes them, then the file).

    Parameters
    ----------
    head : list
        The file's first two blocks (already read and fitted); ``gen`` yields the rest.
    pending : list of (clip, blocks or error)
        Clips waiting for a forward pass; left as they are.
    prepare : callable(clip, blocks) -> blocks
        Checks and fits a block for the models.

    Returns
    -------
    scored : list
        ``scored[ready clip][block][model]`` for the pending clips that are not errors.
    spool : Spool
        The file's records, block by block (events, best chunk or windows, as ``post`` and ``aggregate`` say).

    Raises
    ------
    LfkitError
        The file failed (unreadable block, NaN, a non-finite score...); nothing was written.
    """
    ready = [(c, b) for c, b in pending if not isinstance(b, Exception)]
    shapes = [head[0][2][s.view].shape[1:] for s in scorers]
    batchers = [RowBatcher(s.score_batch) for s in scorers]
    with torch_threads(scorers, n_threads):
        scored = score_many(ready, scorers, None, skip=shapes)
        for j, s in enumerate(scorers):
            for _, blocks in ready:
                for _, _, arrays in blocks:
                    if arrays[s.view].shape[1:] == shapes[j]:
                        batchers[j].add(arrays[s.view])
        n_prefix = [b.n_rows + b.available() for b in batchers]
        best = BestChunk() if aggregate else None
        stream = post.stream() if post is not None and not aggregate else None
        spool = Spool()
        try:
            waiting = []  # (starts, ends, rows) whose results are not all in yet

            def drain(final=False):
                while waiting:
                    if not final and any(b.available() < p + waiting[0][2] for b, p in zip(batchers, n_prefix)):
                        return
                    if any(n_prefix):  # the pending clips' rows come first
                        _fill_prefix(scored, ready, scorers, shapes, batchers, n_prefix)
                    starts, ends, n = waiting.pop(0)
                    res = [b.take(n) for b in batchers]
                    bare = window_records(clip, [(starts, ends, None)], scorers, name, [res])
                    if best is not None:
                        best.feed(bare)
                        continue
                    recs = finite_records(finish_records(clip, bare, scorers, threshold), clip["path"])
                    spool.add(stream.feed(recs) if stream is not None else recs)

            for starts, ends, arrays in itertools.chain(head, (prepare(clip, [b])[0] for b in gen)):
                for j, s in enumerate(scorers):
                    if arrays[s.view].shape[1:] != shapes[j]:
                        raise DataError(f"{clip['path']}: chunks of another shape half-way through the file")
                    batchers[j].add(arrays[s.view])
                waiting.append((starts, ends, len(arrays[scorers[0].view])))
                drain()
            for b in batchers:
                b.finish()
            drain(final=True)
            if any(n_prefix):
                _fill_prefix(scored, ready, scorers, shapes, batchers, n_prefix)
            if best is not None:
                recs = finite_records(finish_records(clip, best.records(), scorers, threshold), clip["path"])
                spool.add(post(recs) if post is not None else recs)
            elif stream is not None:
                spool.add(stream.close())
        except BaseException:
            spool.close()
            raise
    return scored, spool


def _fill_prefix(scored, ready, scorers, shapes, batchers, n_prefix):
    """Hand the pending clips' rows of the long file's shape their results (the first a batcher gives)."""
    for j, s in enumerate(scorers):
        if not n_prefix[j]:
            continue
        for ci, (_, blocks) in enumerate(ready):
            for bi, (_, _, arrays) in enumerate(blocks):
                if arrays[s.view].shape[1:] == shapes[j]:
                    scored[ci][bi][j] = batchers[j].take(len(arrays[s.view]))
        n_prefix[j] = 0
