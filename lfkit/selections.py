"""Annotations read from Raven Pro selection tables and Audacity label files.

Each annotation is a dict: ``_begin`` / ``_end`` (seconds within its
recording), ``_file`` (the recording a multi-file Raven table names, else
None), ``_low`` / ``_high`` (Hz, or None), ``_channel`` (the channel it was
drawn on, 0-based: Raven's ``Channel`` column, which counts from 1; None
without one), ``_where`` (``table: selection N`` for messages), and the
table's own columns under their own names (carried through into a dataset's
``labels.csv``).

Raven: a tab-separated table with ``Begin Time (s)`` and ``End Time (s)``;
a table over several files also has ``Begin File`` or ``Begin Path`` and
``File Offset (s)`` (the time within that file; ``Begin Time`` then runs
over the file sequence). Raven lists a selection once per view (waveform and
spectrogram): the first row of each ``Selection`` number is kept.
Audacity: ``start<TAB>end<TAB>label`` lines, each optionally followed by
``\\<TAB>low<TAB>high`` (a spectral selection).
"""

from __future__ import annotations

import csv
import io as _io

from lfkit import io
from lfkit.errors import DataError
from lfkit.reading import decode_text
from lfkit.writers import AUDACITY_FREQ, AUDACITY_LINE

__all__ = ["read_selections", "RAVEN_REQUIRED"]

#: Columns a Raven selection table must have.
RAVEN_REQUIRED = ("Begin Time (s)", "End Time (s)")


def read_selections(path) -> list[dict]:
    """Annotations of a Raven selection table or an Audacity label file (told apart by content).

    Raises
    ------
    DataError
        An unreadable file, missing columns, a time that is not a number, or
        a selection that begins after it ends.
    """
    text = decode_text(io.read_bytes(path), str(path))
    first = text.split("\n", 1)[0].rstrip("\r")
    if "\t" in first and not AUDACITY_LINE.match(first):
        rows = _raven(path, text)
    else:
        rows = _audacity(path, text)
    for r in rows:
        if r["_begin"] < 0:
            raise DataError(f"{r['_where']}: begins at {r['_begin']:g} s, before the recording starts")
        if r["_begin"] >= r["_end"]:
            raise DataError(f"{r['_where']}: begins at {r['_begin']:g} s, not before its end ({r['_end']:g} s)")
    return rows


def _num(where, col, v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise DataError(f"{where}: {col}={v!r} is not a number") from None


def _channel(where, v) -> int | None:
    """Raven's ``Channel`` (1-based) as a 0-based channel; None when the column is absent or empty."""
    if v is None or not str(v).strip():
        return None
    try:
        number = float(v)
    except ValueError:
        number = 0.0
    if not (number.is_integer() and number >= 1):
        raise DataError(f"{where}: Channel={v!r} is not a channel number (Raven counts them from 1)")
    return int(number) - 1


def _raven(path, text) -> list[dict]:
    reader = csv.DictReader(_io.StringIO(text), delimiter="\t")
    header = reader.fieldnames or []
    missing = [c for c in RAVEN_REQUIRED if c not in header]
    if missing:
        raise DataError(f"{path}: not a Raven selection table: no {', '.join(map(repr, missing))} column "
                        f"(it has {', '.join(map(repr, header)) or 'no header'})")
    multi = "Begin Path" in header or "Begin File" in header
    if multi and "File Offset (s)" not in header:
        raise DataError(f"{path}: a table naming files ('Begin File'/'Begin Path') needs 'File Offset (s)' too")
    out, seen = [], set()
    for line, row in enumerate(reader, 2):
        sel = row.get("Selection") or str(line)
        if sel in seen:
            continue
        seen.add(sel)
        where = f"{path}: selection {sel}"
        row = {k: (v or "") for k, v in row.items() if k is not None}
        begin = _num(where, "Begin Time (s)", row["Begin Time (s)"])
        end = _num(where, "End Time (s)", row["End Time (s)"])
        rec = dict(row)
        if multi:
            off = _num(where, "File Offset (s)", row["File Offset (s)"])
            begin, end = off, off + end - begin
            rec["_file"] = row.get("Begin Path") or row.get("Begin File")
        else:
            rec["_file"] = None
        low = _num(where, "Low Freq (Hz)", row["Low Freq (Hz)"]) if row.get("Low Freq (Hz)") else None
        high = _num(where, "High Freq (Hz)", row["High Freq (Hz)"]) if row.get("High Freq (Hz)") else None
        rec.update(_begin=begin, _end=end, _low=low, _high=high, _channel=_channel(where, row.get("Channel")),
                   _where=where)
        out.append(rec)
    return out


def _audacity(path, text) -> list[dict]:
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}: line {i}"
        f = AUDACITY_FREQ.match(line)
        if f:
            if not out:
                raise DataError(f"{where}: a frequency line before any label")
            out[-1].update(_low=float(f.group(1)), _high=float(f.group(2)))
            continue
        parts = line.split("\t")
        if len(parts) < 2:
            raise DataError(f"{where}: not an Audacity label (start<TAB>end<TAB>label) nor a Raven table")
        begin, end = _num(where, "start", parts[0]), _num(where, "end", parts[1])
        label = parts[2] if len(parts) > 2 else ""
        out.append({"annotation": label, "_begin": begin, "_end": end, "_file": None, "_low": None, "_high": None,
                    "_channel": None, "_where": f"{where} ({label or 'no label'})"})
    return out
