"""The one module that touches files: paths, ``-``, buffering and atomic writes.

numpy and libsndfile both need seekable streams, so standard input is read
whole into an in-memory buffer and standard output is written from one: a WAV
sent to a pipe therefore carries a complete header before its data. Every
file is written atomically (a temporary file in the same folder, then
``os.replace``), so an interrupted command never leaves a truncated file that
Make would take as done.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from lfkit import outputs, reading
from lfkit.errors import DataError

__all__ = [
    "AUDIO_EXTENSIONS",
    "STDIO",
    "atomic_write",
    "atomic_dir",
    "write_bytes",
    "read_bytes",
    "read_audio",
    "read_audio_span",
    "audio_info",
    "audio_chunk_blocks",
    "read_chunk_bounds",
    "encode_wav",
    "write_audio",
    "read_npy",
    "write_npy",
    "encode_npy",
    "read_labels",
    "read_csv_rows",
    "write_csv",
    "write_jsonl",
    "read_jsonl",
    "write_json",
    "read_json",
    "dumps",
    "find_inputs",
    "for_other_machines",
    "Clip",
    "check_outputs",
]

#: The output guard every writing command calls (see :func:`lfkit.outputs.check_outputs`).
check_outputs = outputs.check_outputs

from lfkit.io_files import AUDIO_EXTENSIONS, STDIO, atomic_dir, atomic_write, read_bytes, write_bytes  # noqa: E402,F401

# Audio (lfkit.io_audio) and tables (lfkit.io_tables) live beside this module and are re-exported here;
# they take bytes through read_bytes and write_bytes below.
from lfkit.io_audio import audio_chunk_blocks, audio_info, encode_wav, read_audio, read_audio_span, write_audio  # noqa: E402
from lfkit.io_tables import (  # noqa: E402
    dumps,
    read_chunk_bounds,
    read_csv_rows,
    read_json,
    read_jsonl,
    read_labels,
    write_csv,
    write_json,
    write_jsonl,
)


# --------------------------------------------------------------------------- writing


# --------------------------------------------------------------------------- arrays


def encode_npy(arr: np.ndarray) -> bytes:
    """Encode an array in NPY format (no pickled objects)."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(arr), allow_pickle=False)
    return buf.getvalue()


def write_npy(arr: np.ndarray, path) -> None:
    """Write an array as NPY atomically to ``path`` or standard output (``-``/None)."""
    write_bytes(encode_npy(arr), path)


def read_npy(path, data: bytes | None = None, max_bytes: int | None = None) -> np.ndarray:
    """Read an NPY file (or standard input); pickled object arrays are refused."""
    name = "<stdin>" if str(path) == STDIO else str(path)
    if data is None:
        data = read_bytes(path, max_bytes)
    if len(data) == 0:
        raise DataError(f"{name}: empty file")
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:
        raise DataError(f"{name}: not a readable .npy array ({exc})") from None
    if not isinstance(arr, np.ndarray):
        raise DataError(f"{name}: expected one .npy array")
    return arr


# --------------------------------------------------------------------------- inputs


class Clip(dict):
    """One input, the *source* every reader starts from (a manifest entry, as lhotse's ``Recording``).

    A dict, so it travels to worker processes and into records as it is:

    * ``path``: the name the user sees (records, CSV rows);
    * ``_file``: what to open, a file or :data:`STDIO` (``-``, standard input);
    * ``_rel`` (``spectro`` only): its ``.npy`` path inside the output folder;
    * any other key: a column of ``labels.csv`` (``label``, ``snr_db``...), passed through to records
      (:func:`lfkit.records.clip_metadata`).

    How a run reads its clips (the channel, the sample rate to resample to,
    fixed chunks and their start and end) is the same for all of them and
    lives in :class:`lfkit.segments.ReadPlan`; the sample rate and length of
    a file are read from the file itself (:func:`audio_info`).
    """

    @property
    def file(self) -> str:
        """What to open: a path, or ``-`` for standard input."""
        return self["_file"]

    @property
    def is_stdin(self) -> bool:
        return self["_file"] == STDIO


def for_other_machines(clips) -> list:
    """``clips`` with absolute ``_file`` paths, what workers on other machines (same mounts) can open.

    Records carry absolute paths anyway (:func:`lfkit.records.record_path`), so
    nothing a command writes changes; standard input stays ``-``.
    """
    for c in clips:
        if c["_file"] != STDIO:
            c["_file"] = os.path.abspath(c["_file"])
    return clips


def find_inputs(inputs, allow_npy: bool = True) -> list[Clip]:
    """Expand command-line inputs into a list of clips.

    Parameters
    ----------
    inputs : sequence of str
        Audio files, ``.npy`` files, directories (searched recursively,
        following symbolic links to folders but visiting each folder once, and
        skipping hidden names; a directory holding ``labels.csv`` is read as a
        dataset), ``labels.csv`` files, or ``-`` (standard input).
    allow_npy : bool
        Whether ``.npy`` spectrograms are accepted.

    Returns
    -------
    list of Clip
        In a stable order: datasets in CSV order, directories sorted.

    Raises
    ------
    DataError
        An input that does not exist or is not a regular file (a FIFO, a
        device), or a directory without audio.
    """
    clips: list[Clip] = []
    exts = AUDIO_EXTENSIONS + ((".npy",) if allow_npy else ())
    for item in inputs:
        s = str(item)
        if s == STDIO:
            clips.append(Clip(path=STDIO, _file=STDIO))
            continue
        p = Path(s)
        if p.is_dir() and (p / "labels.csv").exists():
            rows, _ = read_labels(p)
            clips.extend(Clip(r) for r in rows)
        elif p.is_dir():
            found = reading.walk_files(p, exts)
            if not found:
                raise DataError(f"{s}: directory holds no audio ({', '.join(exts)})")
            clips.extend(Clip(path=str(f), _file=str(f)) for f in found)
        elif p.name.endswith(".csv") and p.exists():
            rows, _ = read_labels(p)
            clips.extend(Clip(r) for r in rows)
        elif p.exists():
            reading.check_regular(p)
            clips.append(Clip(path=s, _file=s))
        else:
            raise DataError(f"{s}: no such file or directory")
    return clips


def write_dataset(path, items, sr: int, subtype: str = "PCM_16", extra_json: dict | None = None,
                  command: str = "synth") -> int:
    """Write a dataset folder atomically: one WAV per item, ``labels.csv`` and JSON sidecars.

    Parameters
    ----------
    path : str or Path
        The folder; built under a temporary name and moved into place.
    items : iterable of (dict, np.ndarray)
        Each row (``path`` relative to the folder, ``label``, metadata) and its waveform.
    sr : int
        Sample rate in Hz.
    extra_json : dict of str -> object
        Sidecar files, e.g. ``{"signatures.json": {...}}``.
    command : str
        Recorded in the folder's manifest (see :func:`atomic_dir`).

    Returns
    -------
    int
        Number of clips written.
    """
    rows = []
    with atomic_dir(path, command) as tmp:
        for row, y in items:
            f = tmp / row["path"]
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_bytes(encode_wav(y, sr, subtype))
            rows.append(row)
        for name, obj in (extra_json or {}).items():
            write_json(obj, tmp / name)
        write_csv(rows, tmp / "labels.csv")
    return len(rows)
