"""Bytes in and out: standard input and output, bounded reads, atomic writes of files and folders.

The base of :mod:`lfkit.io` (which re-exports everything here); the audio
(:mod:`lfkit.io_audio`) and table (:mod:`lfkit.io_tables`) readers and
writers take and give bytes through it.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import functools
import os
import shutil
import sys
import tempfile
from pathlib import Path

from lfkit import outputs, reading
from lfkit.errors import DataError, ParameterError

__all__ = ["AUDIO_EXTENSIONS", "STDIO", "atomic_write", "atomic_dir", "write_bytes", "read_bytes", "deferred_sync",
           "sync_folder", "can_defer_sync"]

#: Extensions searched for audio in directories.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
#: The name that means standard input or output.
STDIO = "-"

#: True inside :func:`deferred_sync` (per thread and task: a Dask worker's other tasks are not affected).
_DEFERRED = contextvars.ContextVar("lfkit_deferred_sync", default=False)


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

    Durability: the file's bytes are flushed to the disk (``fsync``) before
    it takes its name, so after a crash or power cut ``path`` holds either
    the old contents or all of the new. Inside :func:`deferred_sync` that
    ``fsync`` is skipped (the rename still makes a killed process leave no
    half file under ``path``), and so is the sweep of stale temporary names
    beside ``path``; the caller then makes the files durable with one
    :func:`sync_folder` before relying on them.
    """
    path = Path(path)
    if path.is_dir():
        raise ParameterError(f"output={str(path)!r} is a directory, expected a file path")
    path.parent.mkdir(parents=True, exist_ok=True)
    # a fresh temporary folder holds nothing stale, and a folder being built under deferred_sync is swept
    # once by its builder: no sweep per file (it lists the whole folder: quadratic in a folder of many)
    if not (_DEFERRED.get() or outputs.in_temporary(path.parent)):
        outputs.remove_stale(path.parent, path.name)
    fd, tmp = tempfile.mkstemp(prefix=outputs.temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    try:
        kwargs = {"encoding": "utf-8", "newline": ""} if "b" not in mode else {}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            if not _DEFERRED.get():
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        guarded = not (_DEFERRED.get() or outputs.in_temporary(path.parent))  # folder builds are guarded whole
        if guarded:
            outputs.check_file_replaceable("output", path)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if guarded:
        outputs.note_written(path)


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


@functools.lru_cache(maxsize=1)
def _syncfs():
    """Linux ``syncfs(2)`` from the C library, or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


def can_defer_sync() -> bool:
    """True where :func:`sync_folder` can make many files durable at once (``syncfs`` or ``os.sync``)."""
    return _syncfs() is not None or hasattr(os, "sync")


@contextlib.contextmanager
def deferred_sync(enabled: bool = True):
    """Within the block, :func:`atomic_write` skips its per-file ``fsync`` (in this thread or task only).

    For many small files in a folder that is not yet anyone's output (a
    ``OUT.partial`` being built, whose builder removes dead processes'
    temporary files once, so :func:`atomic_write` does not list the folder
    for them before every file either): write them all, then one
    :func:`sync_folder` makes them durable together, which costs about as
    much as one ``fsync`` instead of one per file. Until then a crash or
    power cut may leave any of them empty or short under its final name, so
    nothing may say they are finished (a resume record) before that call.
    Where :func:`can_defer_sync` is False, or ``enabled`` is False, the block
    changes nothing.
    """
    token = _DEFERRED.set(bool(enabled) and can_defer_sync())
    try:
        yield
    finally:
        _DEFERRED.reset(token)


def sync_folder(path) -> None:
    """Make everything written to the filesystem holding ``path`` durable, in one call.

    Linux ``syncfs(2)`` on the folder (only that filesystem is flushed);
    elsewhere ``os.sync()`` (all filesystems); where neither exists, nothing
    (:func:`deferred_sync` then never skipped an ``fsync``).

    Raises
    ------
    DataError
        The flush failed (the disk reported an error): the files may be lost.
    """
    fn = _syncfs()
    if fn is not None:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            if fn(fd) == 0:
                return
            import ctypes

            err = ctypes.get_errno()
        finally:
            os.close(fd)
        if err != errno.ENOSYS:  # an emulated kernel without it: fall back to sync
            raise DataError(f"{path}: could not flush written files to disk ({os.strerror(err)})")
    if hasattr(os, "sync"):
        os.sync()


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
