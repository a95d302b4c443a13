"""The one module that touches files: paths, ``-``, buffering and atomic writes.

numpy and libsndfile both need seekable streams, so standard input is read
whole into an in-memory buffer and standard output is written from one: a WAV
sent to a pipe therefore carries a complete header before its data. Every
file is written atomically (a temporary file in the same folder, then
``os.replace``), so an interrupted command never leaves a truncated file that
Make would take as done.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from lfkit import outputs, reading
from lfkit.errors import DataError, ParameterError

__all__ = [
    "AUDIO_EXTENSIONS",
    "STDIO",
    "atomic_write",
    "atomic_dir",
    "write_bytes",
    "read_bytes",
    "read_audio",
    "audio_info",
    "audio_chunk_blocks",
    "read_chunk_bounds",
    "encode_wav",
    "write_audio",
    "read_npy",
    "write_npy",
    "encode_npy",
    "read_labels",
    "write_csv",
    "write_jsonl",
    "read_jsonl",
    "write_json",
    "read_json",
    "dumps",
    "find_inputs",
    "Clip",
    "check_outputs",
]

#: The output guard every writing command calls (see :func:`lfkit.outputs.check_outputs`).
check_outputs = outputs.check_outputs

#: Extensions searched for audio in directories.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
#: The name that means standard input or output.
STDIO = "-"

# Audio (lfkit.io_audio) and tables (lfkit.io_tables) live beside this module and are re-exported here;
# they take bytes through read_bytes and write_bytes below.
from lfkit.io_audio import audio_chunk_blocks, audio_info, encode_wav, read_audio, write_audio  # noqa: E402
from lfkit.io_tables import (  # noqa: E402
    dumps,
    read_chunk_bounds,
    read_json,
    read_jsonl,
    read_labels,
    write_csv,
    write_json,
    write_jsonl,
)


# --------------------------------------------------------------------------- writing


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb"):
    """Open a temporary file beside ``path`` and move it into place on success.

    Parameters
    ----------
    path : str or Path
        Final destination. Parent folders are created.
    mode : str
        ``"wb"`` or ``"w"`` (text, UTF-8, ``\\n`` line endings).

    Yields
    ------
    file object
        Write to it; on an exception the temporary file is removed and
        ``path`` is left as it was.

    Notes
    -----
    The temporary name, ``.NAME.lfkit-PID-XXXX.tmp``, carries the process id:
    one left by a killed process is removed by the next write to ``path``.
    """
    path = Path(path)
    if path.is_dir():
        raise ParameterError(f"output={str(path)!r} is a directory, expected a file path")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not outputs.in_temporary(path.parent):  # a fresh temporary folder holds nothing stale: no sweep per file
        outputs.remove_stale(path.parent, path.name)
    fd, tmp = tempfile.mkstemp(prefix=outputs.temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    try:
        kwargs = {"encoding": "utf-8", "newline": ""} if "b" not in mode else {}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path, command: str = "lfkit"):
    """Build a folder under a temporary name and move it into place on success.

    The finished folder holds a manifest, :data:`lfkit.outputs.MANIFEST`
    (``.lfkit.json``: ``tool``, ``version``, ``command`` and the ``files``
    written). An existing ``path`` is replaced only when it is empty or holds
    that manifest and nothing it does not list; any other folder (a user's
    dataset with its own ``labels.csv`` included) is refused, so that a typo
    cannot delete it. Temporary folders of dead lfkit processes for the same
    output are removed first; concurrent writers both succeed, the last wins.

    Parameters
    ----------
    path : str or Path
    command : str
        Recorded in the manifest, e.g. ``"synth"``.

    Yields
    ------
    Path
        The temporary folder to fill.

    Raises
    ------
    ParameterError
        ``path`` is a file or a folder lfkit did not write.
    """
    path = Path(path)
    outputs.check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    outputs.remove_stale(path.parent, path.name)
    tmp = Path(tempfile.mkdtemp(prefix=outputs.temp_prefix(path.name), suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        outputs.write_manifest(tmp, command)
        os.chmod(tmp, 0o755)
        outputs.replace_dir(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_bytes(data: bytes, path) -> None:
    """Write ``data`` to ``path`` atomically, or to standard output when ``path`` is ``-``/None."""
    if path is None or str(path) == STDIO:
        if sys.stdout is None:  # started with standard output closed (``>&-``)
            raise DataError("standard output is closed; name an output file with -o")
        out = sys.stdout.buffer
        out.write(data)
        out.flush()
        return
    p = Path(path)
    if p.exists() and not p.is_file() and not p.is_dir():  # /dev/null, a named pipe
        with open(p, "wb") as fh:
            fh.write(data)
        return
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def read_bytes(path, max_bytes: int | None = None) -> bytes:
    """Read a whole regular file, or standard input when ``path`` is ``-``.

    Parameters
    ----------
    max_bytes : int or None
        Refuse more than this many bytes (default
        :attr:`lfkit.config.ReadConfig.max_bytes`, 2 GiB).

    Raises
    ------
    DataError
        Missing, a directory, a pipe or device named as a file, ``/dev/zero``
        on standard input, closed standard input, or more than ``max_bytes``.
    """
    return reading.read_capped(path, max_bytes)


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
    * any other key: a column of ``labels.csv`` (``label``, ``snr_db``...), passed through to records.

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

    @property
    def labels(self) -> dict:
        """The metadata columns (every key but ``path`` and the private ``_`` ones)."""
        return {k: v for k, v in self.items() if not k.startswith("_") and k != "path"}


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
