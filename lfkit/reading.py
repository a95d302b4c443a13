"""Bounded readers: only regular files, never more than ``max_bytes``, no endless walks.

:mod:`lfkit.io` reads through these helpers, so a FIFO or ``/dev/zero`` named
as an input (or in a ``labels.csv``), an oversized file, or ``/dev/zero`` on
standard input stops with one clear :class:`~lfkit.errors.DataError` instead
of blocking or filling memory.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from lfkit.config import ReadConfig
from lfkit.errors import DataError, check_positive_int

__all__ = [
    "MAX_BYTES",
    "check_regular",
    "read_capped",
    "decode_text",
    "walk_files",
    "inputs_or_stdin",
]

#: Default cap on a whole-file read, in bytes (declared in :class:`lfkit.config.ReadConfig`).
MAX_BYTES = ReadConfig().max_bytes
_BLOCK = 1 << 20


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def check_regular(path, name: str | None = None) -> os.stat_result:
    """Return ``os.stat(path)`` if it is a regular file (links followed), else raise.

    Raises
    ------
    DataError
        Missing, or a directory, named pipe, device or socket.
    """
    name = str(path) if name is None else name
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise DataError(f"{name}: no such file") from None
    except OSError as exc:
        raise DataError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode):
            raise DataError(f"{name}: is a directory")
        raise DataError(f"{name}: is {_kind(st.st_mode)}, not a regular file; lfkit reads only files "
                        "(or a pipe on standard input)")
    return st


def _too_big(name: str, max_bytes: int) -> DataError:
    return DataError(f"{name}: more than max_bytes={max_bytes} bytes; raise --max-bytes to read it")


def read_capped(path, max_bytes: int | None = None) -> bytes:
    """Read a whole regular file, or standard input when ``path`` is ``-``, up to ``max_bytes``.

    Standard input may be a file or a pipe; a terminal or a device
    (``< /dev/zero``) is refused at once, and a pipe is read only up to the cap.

    Parameters
    ----------
    path : str or Path
    max_bytes : int or None
        Cap in bytes; None takes :data:`MAX_BYTES`.

    Raises
    ------
    DataError
        Not a regular file, or larger than ``max_bytes``.
    """
    max_bytes = MAX_BYTES if max_bytes is None else check_positive_int("max_bytes", max_bytes)
    if str(path) == "-":
        if sys.stdin is None:  # started with standard input closed (``<&-``)
            raise DataError("standard input is closed; name an input file")
        stream = sys.stdin.buffer
        try:
            mode = os.fstat(stream.fileno()).st_mode
        except (OSError, ValueError, AttributeError):  # closed, or not a real descriptor (tests)
            mode = None
        if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)) and not stream.isatty():
            raise DataError(f"<stdin>: standard input is {_kind(mode)}, not a file or a pipe")
        return _read_stream(stream, "<stdin>", max_bytes)
    st = check_regular(path)
    if st.st_size > max_bytes:
        raise _too_big(str(path), max_bytes)
    with open(path, "rb") as fh:
        return _read_stream(fh, str(path), max_bytes)


def _read_stream(fh, name: str, max_bytes: int) -> bytes:
    parts, total = [], 0
    while True:
        block = fh.read(min(_BLOCK, max_bytes + 1 - total))
        if not block:
            return b"".join(parts)
        parts.append(block)
        total += len(block)
        if total > max_bytes:
            raise _too_big(name, max_bytes)


def decode_text(data: bytes, name: str) -> str:
    """Text of a CSV or JSON file: UTF-8 (a byte-order mark is dropped) or UTF-16 with its mark.

    Raises
    ------
    DataError
        Neither: the message says to save the file as UTF-8.
    """
    try:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return data.decode("utf-16")
        if b"\0" in data:
            raise DataError(f"{name}: holds NUL bytes (UTF-16 without a byte-order mark?); save it as UTF-8")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None


def _key(path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def walk_files(root, exts) -> list[Path]:
    """Files under ``root`` whose suffix is in ``exts``, symbolic links to folders followed.

    Hidden files and folders (a name starting with ``.``) are skipped, and
    only regular files are returned, sorted. Each real folder is visited once,
    under its own path when it lies under ``root`` (a link to it, or back to a
    parent, is not followed), else under the first link that reaches it.
    """
    root = Path(root)
    real = set()
    for here, dirs, _ in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        try:
            real.add(_key(here))
        except OSError:
            continue
    seen = set()
    found = []
    for here, dirs, files in os.walk(root, followlinks=True):
        try:
            key = _key(here)
        except OSError:
            dirs[:] = []
            continue
        if key in seen:
            dirs[:] = []
            continue
        seen.add(key)
        keep = []
        for d in sorted(dirs):
            full = os.path.join(here, d)
            if d.startswith("."):
                continue
            if os.path.islink(full):
                try:
                    target = _key(full)
                except OSError:  # a dangling link
                    continue
                if target in real or target in seen:
                    continue
            keep.append(d)
        dirs[:] = keep
        for f in files:
            p = Path(here) / f
            if f.startswith(".") or p.suffix.lower() not in exts:
                continue
            try:
                if stat.S_ISREG(os.stat(p).st_mode):
                    found.append(p)
            except OSError:
                continue
    return sorted(found)


def inputs_or_stdin(inputs, stdin=None) -> list[str]:
    """The inputs given, or ``["-"]`` when none were given and standard input is not a terminal.

    This lets ``lfkit synth | lfkit spectro > x.npy`` work without ``-``.
    """
    inputs = [str(i) for i in (inputs or [])]
    if inputs:
        return inputs
    stdin = sys.stdin if stdin is None else stdin
    try:
        if stdin is not None and not stdin.closed and not stdin.isatty():
            return ["-"]
    except (AttributeError, ValueError):
        pass
    return []
