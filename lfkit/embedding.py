"""``lfkit embed``: a model's embeddings of clips (or chunks), for use in other tools.

Every model lfkit writes has an embedding: a binary network's penultimate
layer, a one-class model's extractor output, a siamese network's embedding.
Inputs are read and chunked exactly as ``lfkit score`` does (:mod:`lfkit.segments`) (a long file
is cut into chunks of the training length), and every row of the (N, D)
array has a row in the CSV beside it: ``row``, ``path`` (absolute), ``start``, ``end``
and the input's label columns.

Rows are written as each input is embedded: the CSV to ``emb.csv.partial`` and
the vectors to ``emb.npy.partial`` (a small header, then float32 rows), both
flushed; when the batch ends the array becomes ``emb.npy`` and the CSV
``emb.csv``. ``resume`` finishes the partial files of an interrupted run.
"""

from __future__ import annotations

import csv
import io as _io
import os
import struct
from collections import Counter
from pathlib import Path

import numpy as np

from lfkit import io, outputs
from lfkit.errors import DataError, LfkitError, ParameterError
from lfkit.parallel import NET_BATCH, net_batches
from lfkit.records import clip_metadata, record_path

__all__ = ["embed", "embed_clips", "csv_path_for", "EmbeddingSink"]

#: First bytes of ``emb.npy.partial``: this tag, then the embedding width as a little-endian uint64.
_MAGIC = b"LFKEMB1\n"


def csv_path_for(output) -> str:
    """The CSV written beside an NPY output: ``emb.npy`` -> ``emb.csv``."""
    return str(Path(output).with_suffix(".csv"))


def iter_embeddings(scorer, clips, chunk_s=None, chunk_hop_s=None, strict: bool = False, report=None, notice=None,
                    batch_size: int = NET_BATCH, channel: int | None = None, workers: int = 1, executor=None):
    """Yield ``(clip, E, rows)`` per input that could be embedded; report (and skip) the others.

    ``E`` has shape (n, D), float32; ``rows`` one dict per row (``path``,
    ``start``, ``end`` and the clip's metadata; ``row`` is left to the writer).
    With ``workers`` > 1 or an ``executor`` (:func:`lfkit.parallel.map_batches`)
    files are read and transformed there, in input order; a long file is
    still read here a block at a time.
    """
    from lfkit.segments import (ReadPlan, blocks_or_raise, model_views, prepare_in_workers, prepare_short,
                                read_segments, stream_segments)

    views = model_views([scorer])
    plan = ReadPlan(scorer.sr, chunk_s, chunk_hop_s, scorer.n_samples, strict, channel)
    ready = None
    if workers > 1 or executor is not None:
        on_disk = [c for c in clips if c["_file"] != io.STDIO]
        ready = iter(prepare_in_workers(on_disk, views, plan, workers, prepare_short, executor))
    for clip in clips:
        notes = []  # a file on disk is read a block at a time (a long one is never whole in memory)
        pre = next(ready) if ready is not None and clip["_file"] != io.STDIO else None
        try:
            if clip["_file"] == io.STDIO:
                blocks = blocks_or_raise(read_segments(clip, views, plan), notice)
            elif pre is not None:  # read by a worker (None: a long file, streamed here)
                blocks = blocks_or_raise(pre, notice)
            else:
                blocks = stream_segments(clip, views, plan, notes)
            parts, rows = [], []
            for starts, ends, arrays in blocks:
                _pass_notes(notes, notice)
                X = arrays[scorer.view]
                scorer.check_input(X, clip["path"])
                X = scorer.fit_input(X)
                parts.append(net_batches(lambda x: np.asarray(scorer.embed_batch(x), dtype=np.float32), X, batch_size))
                for i in range(len(X)):
                    row = {"path": record_path(clip),
                           "start": "" if starts is None else round(float(starts[i]), 6),
                           "end": "" if ends is None else round(float(ends[i]), 6)}
                    row.update({k: v for k, v in clip_metadata(clip).items() if k not in row})
                    rows.append(row)
            E = np.concatenate(parts)
            if not np.isfinite(E).all():
                raise DataError(f"{clip['path']}: the embedding holds NaN or Inf (sample values too large?)")
        except LfkitError as exc:
            _pass_notes(notes, notice)
            if report:
                report(str(exc))
            continue
        yield clip, E, rows


def _pass_notes(notes, notice) -> None:
    """Hand ``notice`` the notes gathered so far (such as a resampling notice), once each."""
    for note in notes:
        if notice:
            notice(note)
    notes.clear()


def embed_clips(scorer, clips, chunk_s=None, chunk_hop_s=None, strict: bool = False, report=None, notice=None,
                batch_size: int = NET_BATCH, channel: int | None = None, workers: int = 1, executor=None):
    """Embeddings of ``clips`` (from :func:`lfkit.io.find_inputs`) with one scorer, in memory.

    Returns
    -------
    E : np.ndarray, shape (N, D), float32
    rows : list of dict
        One per row of ``E``: ``row``, ``path``, ``start``, ``end`` and the clip's metadata.
    n_bad : int
        Clips that could not be read (reported, skipped).
    """
    parts, rows, n_good = [], [], 0
    for _, E, rs in iter_embeddings(scorer, clips, chunk_s, chunk_hop_s, strict, report, notice, batch_size, channel,
                                    workers, executor):
        parts.append(E)
        rows.extend(dict({"row": len(rows) + i}, **r) for i, r in enumerate(rs))
        n_good += 1
    E = np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
    return E, rows, len(clips) - n_good


class EmbeddingSink:
    """``emb.npy.partial`` and ``emb.csv.partial``, appended per input; ``resume`` picks them up.

    The CSV is the commit log: an input's vectors are written and flushed
    before its CSV rows, so every CSV row has its vector. On resume the last
    input of the CSV is redone (it may be incomplete) and the array is cut
    to the rows kept.
    """

    def __init__(self, output, columns: list[str], resume: bool = False):
        from lfkit.streaming import partial_path

        self.output, self.csv_out = Path(output), Path(csv_path_for(output))
        self.npart, self.cpart = partial_path(self.output), partial_path(self.csv_out)
        self.columns, self.done, self.n_rows, self.dim = columns, Counter(), 0, None
        if (self.npart.exists() or self.cpart.exists()) and not resume:
            raise ParameterError(f"output={str(output)!r}: {self.npart.name} is left by an interrupted run; "
                                 "add --resume to finish it, or delete it to start again")
        keep_csv = 0
        if resume and self.npart.exists() and self.cpart.exists():
            keep_csv = self._read_back()
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self._n = open(self.npart, "r+b" if self.dim else "wb")
        self._n.truncate(len(_MAGIC) + 8 + self.n_rows * 4 * self.dim if self.dim else 0)
        self._n.seek(0, os.SEEK_END)
        self._c = open(self.cpart, "r+b" if keep_csv else "wb")
        self._c.truncate(keep_csv)
        self._c.seek(keep_csv)
        if not keep_csv:
            self._c.write(self._csv_text([None]))
            self._c.flush()

    def _csv_text(self, rows) -> bytes:
        buf = _io.StringIO()
        w = csv.DictWriter(buf, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n")
        for r in rows:
            if r is None:
                w.writeheader()
            else:
                w.writerow({k: r.get(k, "") for k in self.columns})
        return buf.getvalue().encode("utf-8")

    def _read_back(self) -> int:
        """Keep the complete inputs of the partial files; returns the CSV bytes kept."""
        head = self.npart.read_bytes()[: len(_MAGIC) + 8]
        if len(head) < len(_MAGIC) + 8 or not head.startswith(_MAGIC):
            return 0
        dim = struct.unpack("<Q", head[len(_MAGIC):])[0]
        n_vec = (self.npart.stat().st_size - len(head)) // (4 * dim) if dim else 0
        data = self.cpart.read_bytes()
        lines = data[: data.rfind(b"\n") + 1].split(b"\n")[:-1]
        if not lines or lines[0].decode("utf-8", "replace").split(",") != self.columns:
            raise DataError(f"{self.cpart}: its columns differ from this run's inputs; delete it to start again")
        groups, pos = [], len(lines[0]) + 1  # (path, rows, byte offset of the group)
        for line in lines[1:]:
            fields = next(csv.reader([line.decode("utf-8")]))
            path = fields[self.columns.index("path")]
            if not groups or groups[-1][0] != path:
                groups.append([path, 0, pos])
            groups[-1][1] += 1
            pos += len(line) + 1
        kept = groups[:-1]
        while kept and sum(g[1] for g in kept) > n_vec:  # never the case unless a file was edited
            kept.pop()
        if not kept:
            return 0
        self.dim = dim
        self.n_rows = sum(g[1] for g in kept)
        for path, _, _ in kept:
            self.done[path] += 1
        return groups[len(kept)][2]

    def skip(self, path) -> bool:
        if self.done[path] > 0:
            self.done[path] -= 1
            return True
        return False

    def write(self, E: np.ndarray, rows: list[dict]) -> None:
        """One input's vectors (n, D) and CSV rows."""
        if self.dim is None:
            self.dim = int(E.shape[1])
            self._n.write(_MAGIC + struct.pack("<Q", self.dim))
        if E.shape[1] != self.dim:
            raise DataError(f"embedding width changed from {self.dim} to {E.shape[1]}")
        self._n.write(np.ascontiguousarray(E, dtype="<f4").tobytes())
        self._n.flush()
        self._c.write(self._csv_text([dict({"row": self.n_rows + i}, **r) for i, r in enumerate(rows)]))
        self._c.flush()
        self.n_rows += len(rows)

    def finish(self) -> None:
        """Write ``emb.npy`` (atomically) from the partial array, then move the CSV into place."""
        self._n.close()
        self._c.close()
        header_len = len(_MAGIC) + 8
        E = np.fromfile(self.npart, dtype="<f4", offset=header_len).reshape(self.n_rows, self.dim)
        io.write_npy(E.astype(np.float32), self.output)
        outputs.check_file_replaceable("CSV", self.csv_out)
        os.replace(self.cpart, self.csv_out)
        outputs.note_written(self.csv_out)
        self.npart.unlink(missing_ok=True)

    def close(self, keep: bool = True) -> None:
        """Interrupted (keep the partial files for resume) or nothing embedded (remove them)."""
        for fh in (self._n, self._c):
            if not fh.closed:
                fh.close()
        if not keep or not self.n_rows:
            self.npart.unlink(missing_ok=True)
            self.cpart.unlink(missing_ok=True)


def embed(model_path, inputs, output=None, chunk_s=None, chunk_hop_s=None, strict: bool = False,
          device: str = "cpu", report=None, notice=None, resume: bool = False, channel: int | None = None,
          workers: int = 1, scheduler=None) -> int:
    """The whole of ``lfkit embed``: write (N, D) float32 NPY and a CSV beside it.

    Parameters
    ----------
    model_path : str
        Any lfkit model file (binary, one-class, siamese).
    inputs : sequence of str
        Audio files, folders, datasets, ``labels.csv``, ``.npy`` spectrograms or ``-``.
    output : str or None
        NPY path; its CSV is :func:`csv_path_for`. None (or ``-``) writes the
        NPY to standard output, without a CSV, and is allowed for one input only.
    resume : bool
        Finish the ``.partial`` files an interrupted run left (file output only).
    channel : int or None
        Channel of multichannel audio to read (0-based); None averages them.
    workers : int
        Processes reading and transforming files (capped at the cores available).
    scheduler : str or None
        ``local:N`` or a Dask scheduler address: files are read and transformed
        on that cluster (:mod:`lfkit.cluster`), the network runs here; the
        output is the same bytes.

    Returns
    -------
    int
        Number of inputs that could not be embedded.
    """
    from lfkit.scoring import check_score_options

    if not inputs:
        raise ParameterError("inputs: give audio files, folders, a labels.csv, .npy spectrograms or '-'")
    workers = check_score_options(None, chunk_s, chunk_hop_s, workers, device, notice)
    to_stdout = output in (None, io.STDIO)
    if to_stdout and resume:
        raise ParameterError("resume needs an output file (-o FILE): standard output cannot be resumed")
    if to_stdout and output is None and (len(inputs) > 1 or Path(str(inputs[0])).is_dir()):
        raise ParameterError("output: several inputs give an array and a CSV; name them with -o emb.npy")
    if not to_stdout and Path(csv_path_for(output)) == Path(output):
        raise ParameterError(f"output={output!r}: name it *.npy, so that its CSV does not take its place")
    if not to_stdout:
        from lfkit.streaming import partial_path

        outs = [("output", output), ("CSV", csv_path_for(output))]
        io.check_outputs(outs + [(f"{n}'s partial file", partial_path(p)) for n, p in outs],
                         [("model", model_path)] + [("input", i) for i in inputs])
    from lfkit.cluster import scheduled

    with scheduled(scheduler, inputs, workers, notice) as (executor, workers):
        return _embed(model_path, inputs, output, to_stdout, chunk_s, chunk_hop_s, strict, device, report, notice,
                      resume, channel, workers, executor)


def _embed(model_path, inputs, output, to_stdout, chunk_s, chunk_hop_s, strict, device, report, notice, resume,
           channel, workers, executor) -> int:
    """:func:`embed` once its options are checked: load the model, read the inputs (on ``executor``), write."""
    from lfkit.scoring import check_chunk_fits, load_scorers

    scorer = load_scorers([model_path], device)[0]
    check_chunk_fits(chunk_s, chunk_hop_s, [scorer], scorer.sr)
    clips = io.find_inputs(inputs)
    if executor is not None:
        io.for_other_machines(clips)
    if to_stdout:
        if output is None and len(clips) > 1:
            raise ParameterError("output: several inputs give an array and a CSV; name them with -o emb.npy")
        E, rows, n_bad = embed_clips(scorer, clips, chunk_s, chunk_hop_s, strict, report, notice, channel=channel,
                                     workers=workers, executor=executor)
        if not rows:
            raise DataError(f"none of the {len(clips)} input(s) could be embedded")
        io.write_npy(E, None)
        return n_bad
    columns = ["row", "path", "start", "end"]
    for c in clips:
        columns += [k for k in clip_metadata(c) if k not in columns]
    sink = EmbeddingSink(output, columns, resume)
    try:
        todo = [c for c in clips if not sink.skip(record_path(c))]
        n_good = len(clips) - len(todo)
        for _, E, rows in iter_embeddings(scorer, todo, chunk_s, chunk_hop_s, strict, report, notice, channel=channel,
                                          workers=workers, executor=executor):
            sink.write(E, rows)
            n_good += 1
    except BaseException:
        sink.close(keep=True)
        raise
    if not n_good:
        sink.close(keep=False)
        raise DataError(f"none of the {len(clips)} input(s) could be embedded")
    sink.finish()
    return len(clips) - n_good
