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
* A file output (a model, a records file, an array...) is noted in lfkit's
  cache folder, not beside it (:func:`note_written`: its path, size and
  modification time). An existing file is replaced only when that note
  matches it, i.e. lfkit wrote it and nobody changed it since, or when it is
  listed in its folder's manifest (:func:`check_file_replaceable`); a user's
  file, even one named like an lfkit output, is refused.
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
    "note_written",
    "lfkit_wrote",
    "check_file_replaceable",
    "read_manifest",
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


#: Names of lfkit's own working files and folders, governed by --resume rather than by notes.
_WORKING_SUFFIXES = (".partial", ".ckpt")


def notes_folder() -> Path:
    """Where the notes of written files live: ``$LFKIT_NOTES``, else ``$XDG_CACHE_HOME/lfkit/written``
    (``~/.cache/lfkit/written``): out of the user's folders, so no listing of theirs changes."""
    if os.environ.get("LFKIT_NOTES"):
        return Path(os.environ["LFKIT_NOTES"])
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "lfkit" / "written"


def note_path(path) -> Path:
    """The note of file ``path``: named by a hash of its real path."""
    import hashlib

    key = hashlib.sha256(os.fsencode(os.path.realpath(path))).hexdigest()
    return notes_folder() / key[:2] / f"{key}.json"


def _working(path: Path) -> bool:
    """lfkit's working files, and anything inside a temporary or partial folder lfkit is building."""
    return (path.name.endswith(_WORKING_SUFFIXES) or in_temporary(path.parent)
            or any(part.endswith(".partial") for part in path.parent.parts))


def _in_manifest(path: Path) -> bool:
    """True when ``path``'s folder is one lfkit built and its manifest lists ``path``."""
    m = read_manifest(path.parent)
    return m is not None and path.name in m["files"]


def note_written(path) -> None:
    """Note that lfkit has just written file ``path`` (its size and modification time), so a later run may
    replace it. Working files (``.partial``, ``.ckpt``), files inside lfkit's temporary folders and
    anything that is not a regular file are not noted. A folder that cannot take the note is left as it is.
    """
    p = Path(path)
    if _working(p) or not p.is_file() or _in_manifest(p):
        return
    st = p.stat()
    text = json.dumps({"tool": "lfkit", "path": os.path.realpath(p), "size": st.st_size,
                       "mtime_ns": st.st_mtime_ns})
    note = note_path(p)
    tmp = note.with_name(f"{temp_prefix(note.name)}note.tmp")
    try:
        note.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, note)
    except OSError:  # a cache that cannot be written: the file is then protected as a user's would be
        tmp.unlink(missing_ok=True)


def lfkit_wrote(path) -> bool:
    """True when file ``path`` is as lfkit left it: its note matches its size and modification time.

    Files written before lfkit kept notes are recognised by content
    (:func:`_lfkit_by_content`). Working files (``.partial``, ``.ckpt``) count as lfkit's.
    """
    p = Path(path)
    if _working(p) or _in_manifest(p):
        return True
    try:
        note = json.loads(note_path(p).read_text(encoding="utf-8"))
    except FileNotFoundError:  # no note: written before lfkit kept them, or never by lfkit
        return _lfkit_by_content(p)
    except (OSError, ValueError):
        return False
    try:
        st = p.stat()
    except OSError:
        return False
    return (isinstance(note, dict) and note.get("tool") == "lfkit" and note.get("path") == os.path.realpath(p)
            and note.get("size") == st.st_size and note.get("mtime_ns") == st.st_mtime_ns)


def _lfkit_by_content(p: Path) -> bool:
    """Outputs of lfkit from before the notes: a model file, score records or a training log (JSON Lines),
    eval's metrics (JSON), an embedding's CSV. Arrays and audio cannot be told from a user's: not these."""
    try:
        with open(p, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    if head.startswith(b"PK"):  # a zip: an lfkit model file (format 2 or 1) carries its format tag
        import zipfile

        try:
            with zipfile.ZipFile(p) as z:
                names = z.namelist()
                header = [n for n in names if n == "header.npy" or n.endswith("/data.pkl")]
                return bool(header) and b"lfkit-model" in z.read(header[0])[:1 << 20]
        except (OSError, zipfile.BadZipFile, KeyError):
            return False
    if head.startswith(b"row,path,start,end"):  # an embedding's CSV
        return True
    line = head.split(b"\n", 1)[0]
    try:
        rec = json.loads(line)
    except ValueError:
        rec = None
    if isinstance(rec, dict):  # JSON Lines: score records, or a training log's epochs
        return ("path" in rec and "model" in rec) or ("epoch" in rec and "loss" in rec)
    if head.lstrip().startswith(b"{") and p.stat().st_size < (16 << 20):  # eval's metrics JSON
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(doc, dict) and "n" in doc and any(k in doc for k in ("auc", "top1", "eer"))
    return False


def check_file_replaceable(name: str, path) -> None:
    """Refuse to replace an existing regular file that lfkit did not write (or that changed since it did)."""
    p = Path(path)
    try:
        is_file = p.is_file()
    except OSError:
        return
    if is_file and not lfkit_wrote(p):
        raise ParameterError(f"{name}={str(path)!r} exists and lfkit did not write it (or it was changed since); "
                             f"{_SAFE_REFUSAL}")


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
        holding an input; or two outputs are the same path; or an output is
        an existing file lfkit did not write (:func:`check_file_replaceable`).
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
    for name, path in outs:  # after the input checks: an input is named as such
        check_file_replaceable(name, path)


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


def read_manifest(folder, key: str = "files", kind: type = list, max_bytes: int = 64 * 1024 * 1024) -> dict | None:
    """``folder``'s lfkit manifest when it is one (``tool`` lfkit, ``key`` of type ``kind``), else None.

    A finished folder's manifest lists ``files``; a partial folder's
    (:mod:`lfkit.partial_dir`) holds ``partial``. Larger than ``max_bytes``,
    unreadable or not JSON: None.
    """
    f = Path(folder) / MANIFEST
    try:
        if not f.is_file() or f.stat().st_size > max_bytes:
            return None
        m = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(m, dict) or m.get("tool") != "lfkit" or not isinstance(m.get(key), kind):
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
    m = read_manifest(p)
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
