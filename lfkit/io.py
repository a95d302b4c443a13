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
import csv
import io
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from lfkit import outputs, reading, riff
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


# --------------------------------------------------------------------------- audio


def read_audio(path, channel: int | None = None, data: bytes | None = None, max_bytes: int | None = None):
    """Read an audio file (wav, flac, ogg, mp3) or standard input.

    Parameters
    ----------
    path : str or Path
        File path, or ``-`` for standard input.
    channel : int or None
        Channel to keep (0-based); ``None`` averages all channels to mono.
    data : bytes or None
        The file's bytes when already read (``path`` is then only a name).
    max_bytes : int or None
        Largest file read (default 2 GiB, see :func:`read_bytes`).

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32
        Samples in [-1, 1] for PCM files.
    sr : int
        Sample rate in Hz.

    Raises
    ------
    DataError
        Empty, not audio, truncated, zero-length, or holding NaN/Inf samples.
    """
    import soundfile as sf

    name = "<stdin>" if str(path) == STDIO else str(path)
    if data is None:
        data = read_bytes(path, max_bytes)
    if len(data) == 0:
        raise DataError(f"{name}: empty file")
    riff.check_wav_complete(data, name)
    try:
        y, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile's message is specific enough, less the buffer's repr
        why = re.sub(r"^Error opening <[^>]*>: ", "", str(exc)).strip()
        raise DataError(f"{name}: not a readable audio file ({why})") from None
    if y.shape[0] == 0:
        raise DataError(f"{name}: zero-length audio")
    y = _pick_channel(y, channel, name)
    y = np.ascontiguousarray(y, dtype=np.float32)
    if not np.isfinite(y).all():
        raise DataError(f"{name}: audio holds NaN or Inf samples")
    return y, int(sr)


def audio_info(path):
    """Return ``(n_samples, sr, channels)`` of an audio file without decoding it."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception as exc:
        raise DataError(f"{path}: not a readable audio file ({exc})") from None
    return int(info.frames), int(info.samplerate), int(info.channels)


def _pick_channel(y: np.ndarray, channel: int | None, name: str) -> np.ndarray:
    """Frames ``y`` (n, channels) -> (n,): one channel (0-based), or the mean of all when ``channel`` is None."""
    if channel is None:
        return y.mean(axis=1, dtype=np.float32) if y.shape[1] > 1 else y[:, 0]
    if not 0 <= channel < y.shape[1]:
        raise ParameterError(f"channel={channel} is out of range: {name} has {y.shape[1]} channel(s)")
    return y[:, channel]


def audio_chunk_blocks(path, chunk_s: float, hop_s: float, block: int, channel: int | None = None):
    """Read a long audio file block by block, as fixed chunks; never holds more than ``block`` chunks.

    Parameters
    ----------
    path : str or Path
        Audio file on disk (not standard input: it is read whole).
    chunk_s, hop_s : float
        Chunk length and hop, seconds.
    block : int
        Chunks per yielded block.
    channel : int or None
        Channel to keep (0-based); None averages all channels.

    Yields
    ------
    starts, ends : np.ndarray, shape (k,)
        Chunk bounds, seconds.
    Y : np.ndarray, shape (k, n_chunk), float32
        The chunks' samples.
    sr : int
        The file's sample rate, Hz.
    """
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
        for b in range(0, n_chunks, block):
            idx = np.arange(b, min(n_chunks, b + block))
            first = idx[0] * n_hop
            span = idx[-1] * n_hop + n_chunk - first
            f.seek(first)
            frames = f.read(span, dtype="float32", always_2d=True)
            if frames.shape[0] < span:
                raise DataError(f"{path}: truncated audio (ended at {(first + frames.shape[0]) / sr:.3f} s)")
            y = _pick_channel(frames, channel, str(path))
            if not np.isfinite(y).all():
                raise DataError(f"{path}: audio holds NaN or Inf samples")
            Y = np.stack([y[(i - idx[0]) * n_hop : (i - idx[0]) * n_hop + n_chunk] for i in idx])
            yield idx * n_hop / sr, (idx * n_hop + n_chunk) / sr, Y, sr


def encode_wav(y: np.ndarray, sr: int, subtype: str = "PCM_16") -> bytes:
    """Encode a waveform as WAV bytes (complete header first, pipe-safe).

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,)
        Samples in [-1, 1].
    sr : int
        Sample rate in Hz.
    subtype : str
        ``PCM_16`` (default) or ``FLOAT``.
    """
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.asarray(y), int(sr), format="WAV", subtype=subtype)
    return riff.strip_peak(buf.getvalue())


def write_audio(y: np.ndarray, sr: int, path, subtype: str = "PCM_16") -> None:
    """Write a WAV atomically to ``path`` or to standard output (``-``/None)."""
    write_bytes(encode_wav(y, sr, subtype), path)


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


# --------------------------------------------------------------------------- tables


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
