"""Records written as they are made, and a killed batch resumed where it stopped.

:class:`RecordSink` writes records (JSON Lines, or another of
:data:`lfkit.writers.WRITERS`) one input at a time: to standard
output, flushed after every input, or to ``NAME.partial`` (appended and
flushed), renamed to ``NAME`` when the batch ends. With ``resume``, an
existing ``NAME.partial`` is read back: its complete lines are kept except
those of its last input (it may have been cut off mid-way), which is redone,
so the finished file holds every input exactly once, in input order, byte for
byte what an uninterrupted run writes.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

from lfkit import io, outputs
from lfkit.errors import DataError, ParameterError

__all__ = ["PARTIAL_SUFFIX", "RecordSink", "partial_path"]

#: Suffix of the file a batch appends to while it runs.
PARTIAL_SUFFIX = ".partial"


def partial_path(output) -> Path:
    """``scores.jsonl`` -> ``scores.jsonl.partial``."""
    p = Path(output)
    return p.with_name(p.name + PARTIAL_SUFFIX)


def _read_partial(path: Path, writer):
    """Complete rows of a partial file grouped by input: ``[(path, records, byte offset)]``.

    ``writer`` (the format's, from :mod:`lfkit.writers`) parses the rows back.
    A last line without its newline (the process died while writing it) is
    dropped, and so is the last input's group: it may be incomplete. The list
    ends with ``(None, [], offset)``: where the kept part ends.
    """
    rows = writer.parse(path.read_bytes(), str(path))
    groups, offsets, pos = [], [], 0
    for i, (rec, n_bytes) in enumerate(rows, 1):
        if not isinstance(rec, dict) or "path" not in rec:
            raise DataError(f"{path}: record {i} is not an lfkit record; not a partial file lfkit wrote")
        if not groups or groups[-1][0] != rec["path"]:
            groups.append((rec["path"], []))
            offsets.append(0 if not offsets else pos)
        groups[-1][1].append(rec)
        pos += n_bytes
    if not groups:
        return []
    return [(g, r, o) for (g, r), o in zip(groups[:-1], offsets)] + [(None, [], offsets[-1])]


class RecordSink:
    """Where a batch's records go, one input's records at a time.

    Parameters
    ----------
    output : str or None
        The records file, or None / ``-`` for standard output.
    resume : bool
        Finish ``output``'s partial file instead of refusing it.
    fmt : str
        A writer of :data:`lfkit.writers.WRITERS`: ``jsonl`` (default), ``csv``,
        ``raven``, ``audacity``. Each resumes (raven and audacity leave error
        records out, so an input that failed is tried again).
    band : (float, float) or None
        Frequency band in Hz for table rows whose records carry none.

    Attributes
    ----------
    done : collections.Counter
        Input paths already in the partial file (how many times), to skip.
    done_errors : int
        How many of those are error records.
    """

    def __init__(self, output, resume: bool = False, fmt: str = "jsonl", band=None):
        from lfkit.writers import make_writer

        self.writer = make_writer(fmt, band=band)
        self.to_stdout = output in (None, io.STDIO)
        self.output = None if self.to_stdout else Path(output)
        self.done, self.done_errors, self.n_written = Counter(), 0, 0
        self.groups, self._end, self._fh, self._stdout_bytes = [], 0, None, 0
        if self.to_stdout:
            if resume:
                raise ParameterError("resume needs an output file (-o FILE): standard output cannot be resumed")
            return
        if self.output.is_dir():
            raise ParameterError(f"output={str(output)!r} is a directory, expected a file path")
        self.partial = partial_path(self.output)
        if self.partial.exists() and not resume:
            raise ParameterError(f"output={str(output)!r}: {self.partial} is left by an interrupted run; "
                                 "add --resume to finish it, or delete it to start again")
        groups = _read_partial(self.partial, self.writer) if resume and self.partial.exists() else []
        self.groups, self._end = groups[:-1], groups[-1][2] if groups else 0
        self.partial.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.partial, "r+b" if groups else "wb")
        self.keep_groups(len(self.groups))

    def keep_groups(self, k: int) -> None:
        """Keep the first ``k`` inputs of the resumed file and redo the rest (call before :meth:`write`)."""
        end = self.groups[k][2] if k < len(self.groups) else self._end
        self.groups, self._end = self.groups[:k], end
        self.done, self.done_errors, self.n_written = Counter(), 0, 0
        for p, recs, _ in self.groups:
            self.done[p] += 1
            self.done_errors += any("error" in r for r in recs)
            self.n_written += len(recs)
        self.writer.restore([r for _, recs, _ in self.groups for r in recs])
        if self._fh is not None:
            self._fh.truncate(end)
            self._fh.seek(end)

    def skip(self, path) -> bool:
        """True (once per time it is there) when input ``path`` is already in the resumed file."""
        if self.done[path] > 0:
            self.done[path] -= 1
            return True
        return False

    def write(self, records) -> None:
        """Write one input's records and flush them."""
        data = self.writer.encode(records)
        if not data:
            return
        self._emit(data)
        self.n_written += len(records)

    def _emit(self, data: bytes) -> None:
        if self.to_stdout:
            if sys.stdout is None:
                raise DataError("standard output is closed; name an output file with -o")
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            self._stdout_bytes += len(data)
        else:
            self._fh.write(data)
            self._fh.flush()

    def finish(self) -> None:
        """The batch is complete: the partial file becomes ``output``.

        A table format that got no record (every window below ``--min-score``,
        say) still gets its header (:meth:`empty` of the writer), so the table
        opens as an empty one; JSON Lines and Audacity labels stay empty.
        """
        wrote = self._fh.tell() if self._fh is not None else self._stdout_bytes
        empty = getattr(self.writer, "empty", None)
        if not wrote and empty is not None:
            self._emit(empty())
        if self._fh is None:
            return
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._fh = None
        os.chmod(self.partial, 0o644)
        outputs.check_file_replaceable("output", self.output)
        os.replace(self.partial, self.output)
        outputs.note_written(self.output)

    def discard(self) -> None:
        """Nothing worth keeping was written: remove the partial file (lfkit's own)."""
        if self._fh is None:
            return
        self._fh.close()
        self._fh = None
        self.partial.unlink(missing_ok=True)

    def close(self) -> None:
        """Interrupted or failed: keep the partial file for ``--resume`` (an empty one is removed)."""
        if self._fh is None:
            return
        empty = self._fh.tell() == 0
        self._fh.close()
        self._fh = None
        if empty:
            self.partial.unlink(missing_ok=True)
