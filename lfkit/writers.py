"""Record writers chosen by ``--format``: JSON Lines, CSV, Raven selection tables, Audacity labels.

Every writer streams: :meth:`encode` turns one input's records into bytes
(the header comes with the first rows), so nothing is held beyond one
input. Every writer reads its own output back (:meth:`parse`): complete rows
with their byte lengths, which :class:`lfkit.streaming.RecordSink` uses to
resume and ``lfkit eval`` to read scores.

* ``jsonl``: one JSON object per line (lfkit's own format, every key kept).
* ``csv``: one header; columns :data:`CSV_COLUMNS` in that order, then the
  first record's other keys (its input's metadata), then ``extra`` (JSON of
  any key a later record has that the header lacks).
* ``raven``: a Raven Pro selection table (tab-separated, :data:`RAVEN_COLUMNS`).
  One table holds every input: ``Begin Time (s)`` runs over the files in
  order (Raven's file-sequence time: each file starts where the previous one
  ended), ``File Offset (s)`` is the time within ``Begin Path``.
* ``audacity``: an Audacity label track: ``start<TAB>end<TAB>label`` lines
  (times within the file), each followed by ``\\<TAB>low<TAB>high`` (its
  frequency band) as Audacity writes spectral selections. The label is
  ``score path``. Error records (an input that could not be read) have no
  place in a selection table or a label track and are left out of both.
"""

from __future__ import annotations

import csv
import io as _io
import json
import os
import re

from lfkit import io
from lfkit.errors import DataError, ParameterError

__all__ = ["WRITERS", "make_writer", "read_records", "detect_format", "CSV_COLUMNS", "RAVEN_COLUMNS",
           "JsonlWriter", "CsvWriter", "RavenWriter", "AudacityWriter"]

#: Record keys a CSV output holds first, in this order.
CSV_COLUMNS = ["path", "model", "start", "end", "low_freq_hz", "high_freq_hz", "score", "probability", "threshold",
               "decision", "match", "target", "n_chunks", "best_start", "best_end", "peak_time", "n_windows",
               "windows_start", "windows_end", "scores", "error"]
_INT = {"n_chunks", "n_windows"}
_FLOAT = {"start", "end", "low_freq_hz", "high_freq_hz", "score", "probability", "threshold", "best_start",
          "best_end", "peak_time", "windows_start", "windows_end"}

#: Columns of a Raven selection table, in order.
RAVEN_COLUMNS = ["Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)", "High Freq (Hz)",
                 "Score", "Decision", "Model", "Begin File", "Begin Path", "File Offset (s)"]


def _fmt(v) -> str:
    """A value as CSV/table text: floats in full precision (``repr``), booleans ``true``/``false``."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (dict, list)):
        return io.dumps(v)
    return "" if v is None else str(v)


def _complete_lines(data: bytes):
    """Complete lines of ``data`` (each with its ``\\n``); a cut-off last line is left out."""
    end = data.rfind(b"\n") + 1
    return data[:end].split(b"\n")[:-1]


class JsonlWriter:
    """JSON Lines: one record per line, byte for byte as ``lfkit score`` has always written."""

    name, suffix = "jsonl", ".jsonl"

    def __init__(self, band=None, duration=None):
        pass

    def encode(self, records) -> bytes:
        return "".join(io.dumps(r) + "\n" for r in records).encode("utf-8")

    def restore(self, records) -> None:
        """Continue after ``records`` (already in the file): nothing to remember."""

    @staticmethod
    def parse(data: bytes, source="records"):
        """``[(record, n_bytes)]`` of the complete lines (a blank line counts toward the next record)."""
        out, pending = [], 0
        for i, line in enumerate(_complete_lines(data), 1):
            if not line.strip():
                pending += len(line) + 1
                continue
            try:
                rec = json.loads(line)
            except ValueError as exc:
                raise DataError(f"{source}: line {i} is not JSON ({getattr(exc, 'msg', exc)})") from None
            if not isinstance(rec, dict):
                raise DataError(f"{source}: line {i} is not a JSON object")
            out.append((rec, pending + len(line) + 1))
            pending = 0
        return out


class CsvWriter:
    """CSV with one header (see :data:`CSV_COLUMNS`); reads back numbers, booleans and ``scores`` as typed."""

    name, suffix = "csv", ".csv"

    def empty(self) -> bytes:
        """What a table with no record holds: the header alone (a table a reader can open)."""
        return self._row(CSV_COLUMNS + ["extra"]).encode("utf-8")

    def __init__(self, band=None, duration=None):
        self.columns = self._header_seen = None

    def _row(self, values) -> str:
        buf = _io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(values)
        return buf.getvalue()

    def encode(self, records) -> bytes:
        out = []
        for r in records:
            if self.columns is None:
                self.columns = CSV_COLUMNS + [k for k in r if k not in CSV_COLUMNS] + ["extra"]
                out.append(self._row(self.columns))
            extra = {k: v for k, v in r.items() if k not in self.columns}
            vals = [_fmt(r.get(k)) for k in self.columns[:-1]] + [io.dumps(extra) if extra else ""]
            out.append(self._row(vals))
        return "".join(out).encode("utf-8")

    def restore(self, records) -> None:
        """Continue under the header :meth:`parse` read (none when no record is kept: it is written again)."""
        self.columns = self._header_seen if records else None

    def parse(self, data: bytes, source="records"):
        """``[(record, n_bytes)]``; the header's bytes count toward the first record."""
        lines = _complete_lines(data)
        used = [0]

        def feed():
            for ln in lines:
                used[0] += len(ln) + 1
                yield ln.decode("utf-8", errors="replace") + "\n"

        reader = csv.reader(feed())
        try:
            header = next(reader)
        except StopIteration:
            return []
        if "path" not in header or "score" not in header:
            raise DataError(f"{source}: the CSV header has no 'path' and 'score' columns; not lfkit records")
        self._header_seen = header
        out, last = [], 0
        try:
            for row in reader:
                if not any(row):
                    continue
                out.append((_typed(dict(zip(header, row)), source), used[0] - last))
                last = used[0]
        except csv.Error:  # a quoted field cut off mid-way: the rest is incomplete
            pass
        return out


def _typed(row: dict, source) -> dict:
    """A CSV row back as a record: empty cells left out, numbers, booleans and JSON cells decoded."""
    rec = {}
    for k, v in row.items():
        if k is None or v == "":
            continue
        try:
            if k in _INT:
                rec[k] = int(v)
            elif k in _FLOAT:
                rec[k] = float(v)
            elif k == "decision":
                rec[k] = v == "true"
            elif k in ("scores", "extra"):
                rec[k] = json.loads(v)
            else:
                rec[k] = v
        except ValueError:
            raise DataError(f"{source}: column {k!r} holds {v!r}, not a {'number' if k != 'scores' else 'JSON object'}"
                            ) from None
    rec.update(rec.pop("extra", {}))
    return rec


def _band(r, band):
    lo, hi = r.get("low_freq_hz"), r.get("high_freq_hz")
    if lo is None:
        lo, hi = band if band is not None else (0.0, 0.0)
    return float(lo), float(hi)


class RavenWriter:
    """Raven Pro selection table: one selection per record (error records left out).

    Parameters
    ----------
    band : (float, float) or None
        ``(low, high)`` in Hz for records without ``low_freq_hz`` / ``high_freq_hz``.
    duration : callable(path) -> float or None
        A file's length in seconds, for the file-sequence ``Begin Time``
        (default: read from the file's header; a file that cannot be read
        counts as long as its last record's end).
    """

    name, suffix = "raven", ".txt"

    @staticmethod
    def empty() -> bytes:
        """What a table with no selection holds: the header line alone (Raven opens it as an empty table)."""
        return ("\t".join(RAVEN_COLUMNS) + "\n").encode("utf-8")

    def __init__(self, band=None, duration=None):
        self.band, self.duration = band, duration or _audio_duration
        self.n, self.offset, self.path, self.last_end = 0, 0.0, None, 0.0

    def _advance(self, path) -> None:
        if self.path is not None and path != self.path:
            self.offset += max(self.duration(self.path) or 0.0, self.last_end)
            self.last_end = 0.0
        self.path = path

    def encode(self, records) -> bytes:
        out = [] if self.n else ["\t".join(RAVEN_COLUMNS) + "\n"]
        for r in records:
            if "score" not in r:
                continue
            self._advance(r["path"])
            start = r.get("start", 0.0)
            end = r.get("end")
            if end is None:
                end = self.duration(r["path"]) or 0.0
            lo, hi = _band(r, self.band)
            self.n += 1
            self.last_end = max(self.last_end, end)
            vals = [self.n, "Spectrogram 1", 1, round(self.offset + start, 6), round(self.offset + end, 6), lo, hi,
                    float(r["score"]), r.get("decision"), r.get("model"), os.path.basename(r["path"]), r["path"],
                    start]
            out.append("\t".join(_fmt(v) for v in vals) + "\n")
        return "".join(out).encode("utf-8") if self.n else b""

    def restore(self, records) -> None:
        """Continue numbering and file-sequence time after ``records`` (parsed back from the table)."""
        self.n, self.offset, self.path, self.last_end = 0, 0.0, None, 0.0
        for r in records:
            self.n += 1
            self.path = r["path"]
            self.offset = r["_begin_time"] - r.get("start", 0.0)
            self.last_end = max(self.last_end if self.path == r["path"] else 0.0, r.get("end", 0.0))

    @staticmethod
    def parse(data: bytes, source="records"):
        """Rows back as records (``path``, ``start``, ``end`` within the file, band, ``score``...)."""
        lines = _complete_lines(data)
        if not lines:
            return []
        header = lines[0].decode("utf-8", errors="replace").split("\t")
        missing = [c for c in ("Begin Time (s)", "End Time (s)", "Score", "Begin Path") if c not in header]
        if missing:
            raise DataError(f"{source}: not an lfkit Raven table (no {', '.join(map(repr, missing))} column)")
        out, pending = [], len(lines[0]) + 1
        for ln in lines[1:]:
            if not ln.strip():
                pending += len(ln) + 1
                continue
            row = dict(zip(header, ln.decode("utf-8", errors="replace").split("\t")))
            try:
                off = float(row.get("File Offset (s)") or row["Begin Time (s)"])
                begin, end = float(row["Begin Time (s)"]), float(row["End Time (s)"])
                rec = {"path": row["Begin Path"], "model": row.get("Model", ""), "start": off,
                       "end": round(off + end - begin, 6), "low_freq_hz": float(row["Low Freq (Hz)"]),
                       "high_freq_hz": float(row["High Freq (Hz)"]), "score": float(row["Score"])}
            except (KeyError, ValueError):
                raise DataError(f"{source}: selection {row.get('Selection', '?')} has a missing or non-numeric "
                                "time, frequency or score") from None
            if row.get("Decision") in ("true", "false"):
                rec["decision"] = row["Decision"] == "true"
            rec["_begin_time"] = begin
            out.append((rec, pending + len(ln) + 1))
            pending = 0
        return out


#: An Audacity label line and its frequency line (Audacity 2.x / 3.x label export).
AUDACITY_LINE = re.compile(r"^(-?\d+(?:\.\d+)?)\t(-?\d+(?:\.\d+)?)\t(.*)$")
AUDACITY_FREQ = re.compile(r"^\\\t(-?\d+(?:\.\d+)?)\t(-?\d+(?:\.\d+)?)$")


class AudacityWriter:
    """Audacity labels: ``start<TAB>end<TAB>score path`` and a ``\\<TAB>low<TAB>high`` line (errors left out)."""

    name, suffix = "audacity", ".txt"

    def __init__(self, band=None, duration=None):
        self.band, self.duration = band, duration or _audio_duration

    def encode(self, records) -> bytes:
        out = []
        for r in records:
            if "score" not in r:
                continue
            start = r.get("start", 0.0)
            end = r.get("end")
            if end is None:
                end = self.duration(r["path"]) or 0.0
            lo, hi = _band(r, self.band)
            out.append(f"{start:.6f}\t{end:.6f}\t{float(r['score'])!r} {r['path']}\n\\\t{lo:.6f}\t{hi:.6f}\n")
        return "".join(out).encode("utf-8")

    def restore(self, records) -> None:
        pass

    @staticmethod
    def parse(data: bytes, source="records"):
        """Labels back as records (``path``, ``start``, ``end``, ``score``, band when given)."""
        out, lines = [], _complete_lines(data)
        for i, ln in enumerate(lines):
            text = ln.decode("utf-8", errors="replace")
            if AUDACITY_FREQ.match(text):
                if not out:
                    raise DataError(f"{source}: line {i + 1}: a frequency line before any label")
                m = AUDACITY_FREQ.match(text)
                rec, n = out[-1]
                rec["low_freq_hz"], rec["high_freq_hz"] = float(m.group(1)), float(m.group(2))
                out[-1] = (rec, n + len(ln) + 1)
                continue
            m = AUDACITY_LINE.match(text)
            if not m:
                raise DataError(f"{source}: line {i + 1} is not an Audacity label (start<TAB>end<TAB>label)")
            score, _, path = m.group(3).partition(" ")
            try:
                rec = {"path": path, "start": float(m.group(1)), "end": float(m.group(2)), "score": float(score)}
            except ValueError:
                raise DataError(f"{source}: line {i + 1}: label {m.group(3)!r} is not 'score path'") from None
            out.append((rec, len(ln) + 1))
        return out


def _audio_duration(path):
    """Seconds in an audio file, or None when it cannot be read (standard input, a spectrogram)."""
    try:
        n, sr, _ = io.audio_info(path)
    except Exception:  # noqa: BLE001 - any unreadable file: the caller falls back to the records' times
        return None
    return n / sr if sr else None


#: Writers by ``--format`` name.
WRITERS = {w.name: w for w in (JsonlWriter, CsvWriter, RavenWriter, AudacityWriter)}


def make_writer(fmt: str = "jsonl", band=None, duration=None):
    """A fresh writer for ``fmt`` (one of :data:`WRITERS`)."""
    if fmt not in WRITERS:
        raise ParameterError(f"format={fmt!r} is not known; choose one of: {', '.join(WRITERS)}")
    return WRITERS[fmt](band=band, duration=duration)


def detect_format(path, data: bytes) -> str:
    """``csv`` or ``jsonl`` by extension (``.csv``, ``.jsonl``/``.json``), else by content."""
    name = str(path).lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    head = data.lstrip()[:1]
    if head in (b"{", b""):
        return "jsonl"
    first = data.split(b"\n", 1)[0]
    if first.startswith(b"Selection\t"):
        return "raven"
    if AUDACITY_LINE.match(first.decode("utf-8", errors="replace")):
        return "audacity"
    return "csv"


def read_records(path) -> list[dict]:
    """Score records from a file (or ``-``) in any writer's format (see :func:`detect_format`)."""
    data = io.read_bytes(path)
    fmt = detect_format(path, data)
    rows = make_writer(fmt).parse(data, str(path))
    tail = data[data.rfind(b"\n") + 1:]
    if tail.strip():  # a last line without its newline still counts when reading a finished file
        rows += make_writer(fmt).parse(data + b"\n", str(path))[len(rows):]
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r, _ in rows]
