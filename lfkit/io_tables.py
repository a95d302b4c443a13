"""Tables: ``labels.csv``, chunk bounds, CSV, JSON and JSON Lines.

Part of :mod:`lfkit.io`, which re-exports every name here (``io.read_labels``...);
bytes come from and go to :func:`lfkit.io.read_bytes` and
:func:`lfkit.io.write_bytes` (standard input and output, atomic writes).
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np

from lfkit import reading
from lfkit.config import FrontendConfig
from lfkit.io_files import read_bytes, write_bytes
from lfkit.errors import DataError

__all__ = ["read_labels", "read_csv_rows", "read_chunk_bounds", "write_csv", "dumps", "write_jsonl", "write_json", "read_json",
           "read_jsonl"]


def read_labels(path) -> tuple[list[dict], Path]:
    """Read a dataset's ``labels.csv``.

    Parameters
    ----------
    path : str or Path
        A dataset folder (holding ``labels.csv``) or the CSV itself.

    Returns
    -------
    rows : list of dict
        One dict per clip, every column as a string; ``path`` is resolved
        against the CSV's folder and stored in the extra key ``_file``.
    root : Path
        The folder the paths are relative to.

    Raises
    ------
    DataError
        Missing file or columns, no rows, a row with more fields than the
        header (named by its line), text neither UTF-8 nor UTF-16 with a
        byte-order mark, or rows naming missing files or things that are not
        regular files (a FIFO, ``/dev/zero``).

    Notes
    -----
    UTF-8 with or without a byte-order mark is read, and so is UTF-16 with one.
    """

    p = Path(path)
    csv_path = p / "labels.csv" if p.is_dir() else p
    if not csv_path.exists():
        raise DataError(f"{path}: no labels.csv found")
    root = csv_path.parent
    text = reading.decode_text(read_bytes(csv_path), str(csv_path))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    cols = reader.fieldnames or []
    missing = [c for c in ("path", "label") if c not in cols]
    if missing:
        raise DataError(f"{csv_path}: missing column(s) {', '.join(missing)} (need path,label,...)")
    rows = []
    for r in reader:
        if None in r:
            raise DataError(f"{csv_path}: line {reader.line_num} has {len(cols) + len(r[None])} fields, "
                            f"the header has {len(cols)}")
        if r["path"] is None or r["label"] is None:
            raise DataError(f"{csv_path}: line {reader.line_num} has no path or label field")
        rows.append(dict(r))
    if not rows:
        raise DataError(f"{csv_path}: no rows (empty dataset)")
    absent = []
    for r in rows:
        f = root / r["path"]
        r["_file"] = str(f)
        if not f.exists():
            absent.append(r["path"])
        elif not f.is_file():
            reading.check_regular(f, f"{csv_path}: {r['path']}")
    if absent:
        more = f" and {len(absent) - 3} more" if len(absent) > 3 else ""
        raise DataError(f"{csv_path}: names missing file(s) {', '.join(absent[:3])}{more}")
    return rows, root


def read_csv_rows(path) -> tuple[list[dict], list[str]]:
    """The rows (dicts) and header of a CSV file, read as ``labels.csv`` is (bounded, BOM and UTF-16 aware)."""
    text = reading.decode_text(read_bytes(path), str(path))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = [dict(r) for r in reader]
    return rows, list(reader.fieldnames or [])


def read_chunk_bounds(npy_path):
    """Chunk bounds written beside a chunked spectrogram (``<npy_path>.chunks.csv``), or None without one.

    Returns
    -------
    (starts, ends) : tuple of np.ndarray, seconds, or None
    """
    side = f"{npy_path}.chunks.csv"
    if not os.path.exists(side):
        return None
    with open(side, newline="") as fh:
        r = list(csv.DictReader(fh))
    return np.array([float(x["start"]) for x in r]), np.array([float(x["end"]) for x in r])


def write_csv(rows: list[dict], path, columns: list[str] | None = None) -> None:
    """Write dict rows as CSV atomically (keys starting with ``_`` are dropped)."""

    if columns is None:
        columns = []
        for r in rows:
            for k in r:
                if not k.startswith("_") and k not in columns:
                    columns.append(k)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in columns})
    write_bytes(buf.getvalue().encode("utf-8"), path)


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def dumps(obj) -> str:
    """JSON text of ``obj`` (numpy scalars and arrays converted), keys kept in order."""
    return json.dumps(obj, default=_json_default, allow_nan=False)


def write_jsonl(records, path) -> None:
    """Write records as JSON Lines, atomically to ``path`` or to standard output."""

    text = "".join(dumps(r) + "\n" for r in records)
    write_bytes(text.encode("utf-8"), path)


def write_json(obj, path) -> None:
    """Write one JSON document (indented) atomically or to standard output."""

    write_bytes((json.dumps(obj, default=_json_default, indent=2, allow_nan=False) + "\n").encode(), path)


def read_json(path):
    """One JSON document from a file (a sidecar such as ``frontend.json``).

    Raises
    ------
    DataError
        The file cannot be read.
    ValueError
        It is not UTF-8 JSON (the caller names what it expected).
    """

    return json.loads(read_bytes(path).decode("utf-8"))


def read_jsonl(path) -> list[dict]:
    """Read JSON Lines from a file or standard input; a bad line raises DataError with its number."""

    text = read_bytes(path).decode("utf-8", errors="replace")
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {i} is not JSON ({exc.msg})") from None
        if not isinstance(rec, dict):
            raise DataError(f"{path}: line {i} is not a JSON object")
        out.append(rec)
    return out


# --------------------------------------------------------------------------- frontend.json

#: Sidecar naming the front end a folder of spectrograms was made with.
FRONTEND_FILE = "frontend.json"
#: Folders searched for it: a spectrogram's (or a dataset's) own, then up to this many less one above it.
FRONTEND_LEVELS = 3


def read_frontend(folder) -> FrontendConfig | None:
    """The FrontendConfig stored beside a folder of spectrograms, or None."""
    f = Path(folder) / FRONTEND_FILE
    if not f.exists():
        return None
    try:
        return FrontendConfig.from_dict(read_json(f)["frontend"])
    except (KeyError, ValueError, TypeError) as exc:
        raise DataError(f"{f}: not a readable front-end description ({exc})") from None


def find_frontend(path):
    """The front end a spectrogram file or a dataset folder was made with: the one rule for ``frontend.json``.

    The nearest ``frontend.json`` in ``path``'s folder (``path`` itself for a
    folder) or the folders above it, :data:`FRONTEND_LEVELS` folders in all:
    ``spectro`` writes it at the top of its output, whose arrays may sit in
    subfolders.

    Returns
    -------
    folder : Path or None
        Where it was found.
    config : FrontendConfig or None
    """
    p = Path(path)
    start = p if p.is_dir() else p.resolve().parent  # a folder keeps the name it was given (messages)
    for d in [start, *start.resolve().parents][:FRONTEND_LEVELS]:
        if (d / FRONTEND_FILE).exists():
            return d, read_frontend(d)
    return None, None
