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
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from lfkit import io, outputs
from lfkit.errors import ParameterError

__all__ = ["PARTIAL_SUFFIX", "RECORDS", "PartialDir", "partial_dir_path", "write_record"]

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
    f = folder / outputs.MANIFEST
    try:
        if not f.is_file() or f.stat().st_size > 1024 * 1024:
            return None
        m = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(m, dict) or m.get("tool") != "lfkit" or not isinstance(m.get("partial"), dict):
        return None
    return m


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
        """Where the record of item ``name`` (a path relative to the folder) is kept."""
        return self.folder / RECORDS / f"{name}.json"

    def done(self, name: str) -> dict | None:
        """The record of item ``name`` when it was finished by an earlier run, else None."""
        p = self.record_path(name)
        if not p.is_file():
            return None
        return json.loads(p.read_text(encoding="utf-8"))

    def finish(self) -> None:
        """All items are written: drop the records, write the manifest, move the folder to ``path``."""
        shutil.rmtree(self.folder / RECORDS, ignore_errors=True)
        outputs.remove_stale(self.path.parent, self.path.name)
        outputs.write_manifest(self.folder, self.command)
        os.chmod(self.folder, 0o755)
        outputs.replace_dir(self.folder, self.path)

    def discard_if_empty(self) -> None:
        """Remove ``path.partial`` (lfkit's own) when no item in it was finished."""
        records = self.folder / RECORDS
        if not (records.is_dir() and any(records.rglob("*.json"))):
            shutil.rmtree(self.folder, ignore_errors=True)


def write_record(folder, name: str, record: dict) -> None:
    """Write item ``name``'s record atomically (after its files: the record says it is complete)."""
    io.write_json(record, Path(folder) / RECORDS / f"{name}.json")
