"""Outputs never destroy what lfkit did not write.

Three guards, used by :mod:`lfkit.io` and by every command that writes:

* :func:`check_outputs`: an output may not equal, contain or sit inside an
  input, and no two outputs (main file, sidecars, logs) may share a path.
* The manifest :data:`MANIFEST` (``.lfkit.json``) that lfkit writes into every
  folder it builds. An existing folder is replaced only when it is empty, or
  when it holds that manifest and nothing the manifest does not list.
* Temporary names carry the writer's process id (``.NAME.lfkit-PID-XXXX.tmp``),
  so a later run on the same output removes what a killed run left, and only
  that.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
from pathlib import Path

from lfkit.errors import ParameterError

__all__ = [
    "MANIFEST",
    "check_outputs",
    "manifest",
    "write_manifest",
    "check_replaceable",
    "temp_prefix",
    "remove_stale",
    "in_temporary",
    "replace_dir",
]

#: File naming lfkit and what it wrote, inside every folder lfkit builds.
MANIFEST = ".lfkit.json"
#: Marker inside temporary names: ``.NAME.lfkit-PID-XXXX.tmp``.
_TAG = "lfkit-"
_SAFE_REFUSAL = "choose a new path, or delete it yourself if you mean to replace it"


def _named(item, default: str):
    """``(name, path)`` from a path or a ``(name, path)`` pair."""
    if isinstance(item, tuple):
        return str(item[0]), item[1]
    return default, item


def _real(path) -> Path:
    return Path(os.path.realpath(os.path.abspath(os.fspath(path))))


def _is_stdio(path) -> bool:
    return path is None or str(path) == "-"


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(outputs, inputs) -> None:
    """Refuse outputs that would overwrite an input or each other.

    Paths are compared after resolving symbolic links (and a hard link to an
    input counts as the input). Standard input and output (``-`` or None) are
    skipped.

    Parameters
    ----------
    outputs : list of str, Path or (name, path)
        Every path the command will write: the main output and its sidecars
        (``X.chunks.csv``, an embedding CSV, a ``--log``). A ``(name, path)``
        pair names the option in the message, e.g. ``("log", "train.jsonl")``.
    inputs : list of str, Path or (name, path)
        Every path the command reads: files, folders, model files.

    Raises
    ------
    ParameterError
        An output equals an input, lies inside an input folder, or is a folder
        holding an input; or two outputs are the same path.
    """
    outs = [(n, p) for n, p in (_named(o, "output") for o in outputs) if not _is_stdio(p)]
    ins = [(n, p) for n, p in (_named(i, "input") for i in inputs) if not _is_stdio(p)]
    seen = {}
    for name, path in outs:
        real = _real(path)
        if real in seen:
            other_name, other = seen[real]
            raise ParameterError(f"{name}={str(path)!r} is the same path as {other_name}={str(other)!r}; "
                                 "give them different paths")
        seen[real] = (name, path)
        for in_name, inp in ins:
            rin = _real(inp)
            where = None
            if real == rin or _same_file(path, inp):
                where = "is"
            elif real.is_relative_to(rin):
                where = "is inside"
            elif rin.is_relative_to(real):
                where = "contains"
            if where:
                raise ParameterError(f"{name}={str(path)!r} {where} the {in_name} {str(inp)!r}; writing it "
                                     "would destroy what is read: choose an output path outside the inputs")


# --------------------------------------------------------------------------- the manifest


def manifest(folder, command: str) -> dict:
    """The manifest of a finished folder: lfkit's name and version, the command, the files (sorted)."""
    from lfkit import __version__

    root = Path(folder)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                   if p.is_file() and p.name != MANIFEST)
    return {"tool": "lfkit", "version": __version__, "command": command, "files": files}


def write_manifest(folder, command: str) -> None:
    """Write :data:`MANIFEST` into ``folder`` listing every file already in it (no timestamps)."""
    text = json.dumps(manifest(folder, command), indent=2) + "\n"
    (Path(folder) / MANIFEST).write_text(text, encoding="utf-8")


def _read_manifest(folder: Path) -> dict | None:
    f = folder / MANIFEST
    try:
        if not f.is_file() or f.stat().st_size > 64 * 1024 * 1024:
            return None
        m = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(m, dict) or m.get("tool") != "lfkit" or not isinstance(m.get("files"), list):
        return None
    return m


def check_replaceable(path) -> None:
    """Refuse to replace ``path`` unless it is absent, an empty folder, or a folder lfkit wrote.

    A folder lfkit wrote holds :data:`MANIFEST`, and every file in it is listed
    there: a file added by hand (notes, other audio) keeps the folder.

    Raises
    ------
    ParameterError
        ``path`` is a file, or a folder holding anything lfkit did not write.
    """
    p = Path(path)
    if not p.exists() and not p.is_symlink():
        return
    if p.is_symlink() or not p.is_dir():
        raise ParameterError(f"output={str(p)!r} exists and is not a directory; {_SAFE_REFUSAL}")
    entries = list(p.iterdir())
    if not entries:
        return
    m = _read_manifest(p)
    if m is None:
        why = f"it has a labels.csv but no {MANIFEST}" if (p / "labels.csv").exists() else f"no {MANIFEST}"
        raise ParameterError(f"output={str(p)!r} is a folder lfkit did not write ({why}); lfkit replaces only "
                             f"folders it wrote: {_SAFE_REFUSAL}")
    listed = set(map(str, m["files"])) | {MANIFEST}
    extra = sorted(q.relative_to(p).as_posix() for q in p.rglob("*")
                   if (q.is_file() or q.is_symlink()) and q.relative_to(p).as_posix() not in listed)
    if extra:
        more = f" and {len(extra) - 1} more" if len(extra) > 1 else ""
        raise ParameterError(f"output={str(p)!r} holds {extra[0]!r}{more}, which lfkit did not write; "
                             f"{_SAFE_REFUSAL}")


# --------------------------------------------------------------------------- temporary names


def temp_prefix(name: str) -> str:
    """Prefix of this process's temporary names for an output called ``name``."""
    return f".{name}.{_TAG}{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def in_temporary(path) -> bool:
    """True when ``path`` lies inside a temporary folder lfkit is building (nothing stale there to sweep)."""
    return any(part.startswith(".") and f".{_TAG}" in part and part.endswith(".tmp") for part in Path(path).parts)


def remove_stale(folder, name: str) -> list[str]:
    """Remove temporary files and folders left in ``folder`` for output ``name`` by dead lfkit processes.

    Only names of the form ``.NAME.lfkit-PID-XXXX.tmp`` (or ``.old``) whose
    process no longer runs are touched.

    Returns
    -------
    list of str
        The names removed.
    """
    folder = Path(folder)
    head = f".{name}.{_TAG}"
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for e in entries:
        rest = e.name[len(head):] if e.name.startswith(head) else ""
        pid_text, _, tail = rest.partition("-")
        if not (pid_text.isdigit() and tail and (tail.endswith(".tmp") or tail.endswith(".old"))):
            continue
        if _pid_alive(int(pid_text)):
            continue
        if e.is_dir() and not e.is_symlink():
            shutil.rmtree(e, ignore_errors=True)
        else:
            try:
                e.unlink()
            except OSError:
                continue
        removed.append(e.name)
    return removed


def _exchange(a, b) -> bool:
    """Swap two folders in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0


def replace_dir(tmp, path, tries: int = 50) -> None:
    """Move the finished folder ``tmp`` to ``path``, replacing an lfkit folder already there.

    Where the system can swap two folders in one step (Linux), an existing
    ``path`` is exchanged with ``tmp``, so it is never missing, even if the
    process is killed in between. Elsewhere the old folder is moved aside
    first. Concurrent writers to one ``path`` both succeed (the last one
    wins): a folder that appears between moving the old one aside and moving
    ``tmp`` in is checked and moved aside in turn.

    Raises
    ------
    ParameterError
        What appeared at ``path`` is not replaceable (see :func:`check_replaceable`).
    """
    tmp, path = Path(tmp), Path(path)
    aside = []
    try:
        for _ in range(tries):
            if path.exists() or path.is_symlink():
                check_replaceable(path)
                if path.is_dir() and not path.is_symlink() and _exchange(tmp, path):
                    aside.append(tmp)  # now holds the old folder: ``path`` was never missing
                    return
                old = path.with_name(f"{temp_prefix(path.name)}{os.urandom(4).hex()}.old")
                try:
                    os.replace(path, old)
                    aside.append(old)
                except FileNotFoundError:  # another writer moved it first
                    pass
            try:
                os.replace(tmp, path)
                return
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
        raise ParameterError(f"output={str(path)!r} is being rewritten by other processes; try again")
    finally:
        for old in aside:
            shutil.rmtree(old, ignore_errors=True)
