"""A folder built in ``OUT.partial/`` that an interrupted run leaves for ``--resume`` to finish.

:class:`PartialDir` is :func:`lfkit.io.atomic_dir` for long batches: the
folder is built under the fixed sibling name ``OUT.partial`` instead of a
temporary one, and what was finished stays there when the run is
interrupted (Ctrl-C, an error, a kill). ``OUT.partial`` holds lfkit's
manifest :data:`lfkit.outputs.MANIFEST` with a ``partial`` entry (the
settings the run was started with), so it is known as lfkit's own; a folder
of that name without it is never touched. Per-item records (what the finished
folder's ``labels.csv`` row will say) are kept in :data:`RECORDS`, written
after the item's files, so a record means the item is complete. On success
the records folder is removed, the manifest written and the folder moved to
``OUT`` as :func:`lfkit.io.atomic_dir` does.

Durability rule (what makes a folder of many small files cheap to write):
nothing inside ``OUT.partial`` is a user's file until the final move, so the
items' files may be written without a ``fsync`` each
(:func:`lfkit.io_files.deferred_sync`; each still appears under its name only
when whole, by a rename). A batch of finished items is then made durable at
once (:func:`write_records`: one :func:`lfkit.io_files.sync_folder`, Linux
``syncfs``) *before* their records are written; the records themselves are
written without ``fsync``. So after a kill or a power cut every record names
an item whose files are complete on disk; an item without a record (its
files possibly short or empty) is simply redone by ``--resume``; a record
cut short by the power cut reads as missing (redone as well). Before the
final move the whole folder is flushed once more, so ``OUT`` never holds a
truncated file.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from lfkit import io, outputs
from lfkit.errors import ParameterError
from lfkit.io_files import deferred_sync, sync_folder

__all__ = ["PARTIAL_SUFFIX", "RECORDS", "PartialDir", "partial_dir_path", "write_record", "write_records",
           "read_records", "RecordBuffer"]

#: Suffix of the folder a batch builds while it runs.
PARTIAL_SUFFIX = ".partial"
#: Folder inside ``OUT.partial`` holding one JSON record per finished item.
RECORDS = ".lfkit-records"
_TAG = ".lfkit-"


def partial_dir_path(path) -> Path:
    """``out`` -> ``out.partial`` (a sibling)."""
    p = Path(path)
    return p.with_name(p.name + PARTIAL_SUFFIX)


def _marker(folder: Path) -> dict | None:
    """The manifest of a partial folder lfkit wrote, else None."""
    return outputs.read_manifest(folder, "partial", dict, max_bytes=1024 * 1024)


def _sweep(folder: Path) -> None:
    """Remove the temporary files dead lfkit processes left anywhere in ``folder``."""
    for d in [folder, *(p for p in folder.rglob("*") if p.is_dir() and not p.is_symlink())]:
        for name in {e.name[1:e.name.index(_TAG)] for e in d.iterdir()
                     if e.name.startswith(".") and _TAG in e.name[1:] and e.name.endswith((".tmp", ".old"))}:
            outputs.remove_stale(d, name)


class PartialDir:
    """Build folder ``path`` in ``path.partial``, keeping finished items when interrupted.

    Parameters
    ----------
    path : str or Path
        The finished folder. An existing one is replaced only if lfkit wrote
        it (:func:`lfkit.outputs.check_replaceable`).
    command : str
        Recorded in the manifest, e.g. ``"spectro"``.
    settings : dict
        Everything that decides the folder's contents (JSON-serialisable). A
        resumed folder must have been started with equal settings.
    resume : bool
        Finish an existing ``path.partial`` instead of refusing it.

    Attributes
    ----------
    folder : Path
        ``path.partial``: write the items' files here.

    Raises
    ------
    ParameterError
        ``path.partial`` exists and ``resume`` is False, or lfkit did not write
        it, or it was started with other settings.
    """

    def __init__(self, path, command: str, settings: dict, resume: bool = False):
        from lfkit import __version__

        self.path = Path(path)
        self.folder = partial_dir_path(self.path)
        self.command = command
        self.settings = json.loads(io.dumps({"version": __version__, **settings}))
        self._records = None
        outputs.check_replaceable(self.path)
        f = self.folder
        if f.exists() or f.is_symlink():
            if f.is_symlink() or not f.is_dir() or _marker(f) is None:
                raise ParameterError(f"output={str(self.path)!r}: {f} exists and lfkit did not write it; "
                                     "move it away or choose another output")
            if not resume:
                raise ParameterError(f"output={str(self.path)!r}: {f} is left by an interrupted run; "
                                     "add --resume to finish it, or delete it to start again")
            if _marker(f)["partial"] != self.settings:
                raise ParameterError(f"output={str(self.path)!r}: {f} was started with other settings or inputs; "
                                     "resume with the same ones, or delete it to start again")
            _sweep(f)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            f.mkdir()
            self._write_marker()

    def _write_marker(self) -> None:
        data = {"tool": "lfkit", "command": self.command, "files": [], "partial": self.settings}
        io.write_json(data, self.folder / outputs.MANIFEST)

    def record_path(self, name: str) -> Path:
        """Where a single record of item ``name`` (a path relative to the folder) is kept (:func:`write_record`)."""
        return self.folder / RECORDS / f"{name}.json"

    def done(self, name: str) -> dict | None:
        """The record of item ``name`` when it was finished by an earlier run, else None."""
        if self._records is None:
            self._records = read_records(self.folder)
        return self._records.get(name)

    def finish(self) -> None:
        """All items are written: drop the records, write the manifest, move the folder to ``path``."""
        sync_folder(self.folder)  # the items' files were written without fsync: durable before the move
        shutil.rmtree(self.folder / RECORDS, ignore_errors=True)
        outputs.remove_stale(self.path.parent, self.path.name)
        outputs.write_manifest(self.folder, self.command)
        os.chmod(self.folder, 0o755)
        outputs.replace_dir(self.folder, self.path)

    def discard_if_empty(self) -> None:
        """Remove ``path.partial`` (lfkit's own) when no item in it was finished."""
        records = self.folder / RECORDS
        if not (records.is_dir() and any(p.suffix in (".json", ".jsonl") for p in records.rglob("*"))):
            shutil.rmtree(self.folder, ignore_errors=True)


def write_record(folder, name: str, record: dict) -> None:
    """Write item ``name``'s record atomically with its own ``fsync`` (after its files: it says they are complete).

    For one item whose files were written with ``fsync``; for many, see :func:`write_records`.
    """
    io.write_json(record, Path(folder) / RECORDS / f"{name}.json")


def write_records(folder, records) -> None:
    """Make a batch of finished items durable at once, then write their records in one file.

    Parameters
    ----------
    folder : str or Path
        The ``OUT.partial`` folder holding the items' files.
    records : sequence of (str, dict)
        ``(name, record)`` per finished item, ``name`` its path inside ``folder``.

    Notes
    -----
    One :func:`lfkit.io_files.sync_folder` flushes the items' files (written
    without ``fsync`` under :func:`lfkit.io_files.deferred_sync`) before any
    record exists; the batch's records then go to one new JSON Lines file in
    :data:`RECORDS` (``{"name": ..., "record": ...}`` a line), written
    atomically without ``fsync`` (a record file lost or cut short by a power
    cut only means its items are redone; the next flush makes it durable).
    """
    records = list(records)
    if not records:
        return
    sync_folder(folder)
    lines = "".join(io.dumps({"name": name, "record": record}) + "\n" for name, record in records)
    name = f"{os.getpid()}-{time.time_ns()}-{os.urandom(3).hex()}.jsonl"
    with deferred_sync():
        io.write_bytes(lines.encode("utf-8"), Path(folder) / RECORDS / name)


def read_records(folder) -> dict:
    """Every item recorded as finished in ``folder`` (an ``OUT.partial``): name -> record.

    Reads the JSON Lines files of :func:`write_records` and the single files
    of :func:`write_record`; a file or line that does not parse (cut short by
    a power cut) is skipped, so its items are redone.
    """
    root = Path(folder) / RECORDS
    found = {}
    if not root.is_dir():
        return found
    for p in sorted(root.rglob("*")):
        if p.name.startswith(".") or not p.is_file() or p.suffix not in (".json", ".jsonl"):
            continue
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, ValueError):
            continue
        if p.suffix == ".json":
            try:
                record = json.loads(text)
            except ValueError:
                continue
            if isinstance(record, dict):
                found[p.relative_to(root).as_posix()[: -len(".json")]] = record
            continue
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("name"), str) \
                    and isinstance(entry.get("record"), dict):
                found[entry["name"]] = entry["record"]
    return found


class RecordBuffer:
    """Records of finished items, flushed by :func:`write_records` about every ``every_s`` seconds.

    Use as a context manager around the loop that finishes items: what is
    still held is flushed on leaving, an exception or interruption included,
    so finished work is kept.

    Parameters
    ----------
    folder : str or Path
        The ``OUT.partial`` folder.
    every_s : float
        Flush when the oldest held record is this old (0: at every :meth:`add`).
    """

    def __init__(self, folder, every_s: float = 1.0):
        self.folder = folder
        self.every_s = every_s
        self.held: list = []
        self.since = None

    def add(self, name: str, record: dict) -> None:
        """Hold item ``name``'s record; flush when due."""
        if not self.held:
            self.since = time.monotonic()
        self.held.append((name, record))
        if time.monotonic() - self.since >= self.every_s:
            self.flush()

    def flush(self) -> None:
        """Make the held items durable and record them (see :func:`write_records`)."""
        held, self.held = self.held, []
        write_records(self.folder, held)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.flush()
