"""Pieces for scoring a long recording block by block, with memory flat in its length.

:class:`RowBatcher` runs a model over rows as they arrive, in forward
batches of exactly ``NET_BATCH`` rows (the batches a materialised run makes,
so the scores are the same to the bit); :class:`BestChunk` keeps a file's
best chunk record as chunks go by (:func:`lfkit.records.best_chunk`
streamed); :class:`Spool` keeps a file's records on disk until the whole
file has scored, so a file that fails half-way writes only its error record.
"""

from __future__ import annotations

import pickle
import tempfile

import numpy as np

__all__ = ["RowBatcher", "BestChunk", "Spool"]


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
        rec = dict(self.top)
        rec["n_chunks"] = self.n
        rec["start"], rec["end"] = self.first["start"], self.last["end"]
        rec["best_start"], rec["best_end"] = self.top["start"], self.top["end"]
        return [rec]


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
