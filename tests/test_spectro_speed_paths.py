"""The fast folder path of ``lfkit spectro``: no fsync per file, one flush per batch before its records.

The rule (:mod:`lfkit.partial_dir`): inside ``OUT.partial`` the arrays are
written without a ``fsync`` each; a batch of finished clips is flushed to
disk at once (``syncfs``) before their resume records are written; a record
cut short by a power cut means its clips are redone. ``--scheduler`` runs the
same map on a Dask cluster and writes the same folder, byte for byte.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from conftest import invoke_lfkit, leftovers

import lfkit.frontend as frontend
import lfkit.partial_dir as partial_dir
from lfkit import io_files
from lfkit.partial_dir import RECORDS, read_records
from test_cluster import HAVE_DASK, two_workers  # noqa: F401  (the fixture: a real scheduler and two workers)

from test_spectro_resume import N_CLIPS, data  # noqa: F401  (the fixture: a dozen 0.2 s clips at 8 kHz)

FRONT = ["--n-fft", "256", "--hop-length", "64", "-q"]


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "ref"
    res = invoke_lfkit("spectro", data, "-o", out, *FRONT)
    assert res.returncode == 0, res.stderr
    return _tree(out)


def _tree(folder) -> dict[str, bytes]:
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _interrupt_at(monkeypatch, n: int):
    """Make clip ``n`` (1-based) raise KeyboardInterrupt, as Ctrl-C would; returns the list of clips read."""
    calls = []
    real = frontend._clip_spec

    def patched(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == n:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(frontend, "_clip_spec", patched)
    return calls


def test_fsyncs_do_not_grow_with_the_number_of_clips(data, reference, tmp_path, monkeypatch):
    fsyncs, flushes = [], []
    real_fsync, real_flush = os.fsync, partial_dir.sync_folder
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd))[1])
    monkeypatch.setattr(partial_dir, "sync_folder", lambda p: (flushes.append(p), real_flush(p))[1])
    out = tmp_path / "out"
    res = invoke_lfkit("spectro", data, "-o", out, *FRONT)
    assert res.returncode == 0, res.stderr
    assert _tree(out) == reference
    # the partial folder's marker, frontend.json, labels.csv and the final manifest; not one per clip (was 2 per clip)
    assert len(fsyncs) <= 4 < N_CLIPS
    # one per group of clips sent to a worker, and the folder before the move
    from lfkit.parallel import batch_size_for

    assert len(flushes) == -(-N_CLIPS // batch_size_for(N_CLIPS, 1)) + 1 < N_CLIPS
    assert leftovers(tmp_path) == []


def test_records_are_written_only_for_clips_flushed_before(data, reference, tmp_path, monkeypatch):
    out = tmp_path / "out"
    partial = out.with_name("out.partial")
    flushed, real_flush = set(), partial_dir.sync_folder

    def flush(path):
        assert set(read_records(partial)) <= flushed  # every record now was flushed by an earlier call
        flushed.update(p.name for p in partial.glob("*.npy"))
        real_flush(path)

    monkeypatch.setattr(partial_dir, "sync_folder", flush)
    monkeypatch.setattr(frontend, "FLUSH_EVERY_S", 0.0)  # a flush and a record file per clip
    with monkeypatch.context() as m:
        _interrupt_at(m, 6)
        res = invoke_lfkit("spectro", data, "-o", out, *FRONT)
    assert res.returncode == 130
    recorded = read_records(partial)
    assert sorted(recorded) == [f"c{i:05d}.npy" for i in range(5)]  # Ctrl-C keeps the finished clips
    assert set(recorded) <= flushed
    assert len(list((partial / RECORDS).glob("*.jsonl"))) == 5
    for name in recorded:
        assert (partial / name).read_bytes() == reference[name]


def test_a_record_file_cut_short_means_its_clips_are_redone(data, reference, tmp_path, monkeypatch):
    out = tmp_path / "out"
    partial = out.with_name("out.partial")
    with monkeypatch.context() as m:
        _interrupt_at(m, 6)
        assert invoke_lfkit("spectro", data, "-o", out, *FRONT).returncode == 130
    assert len(read_records(partial)) == 5
    cut = next(f for f in (partial / RECORDS).glob("*.jsonl") if "c00000.npy" in f.read_text())
    lost = cut.read_text().count("\n")
    cut.write_bytes(cut.read_bytes()[:7])  # what a power cut may leave of a record file not yet flushed
    (partial / "c00000.npy").write_bytes(b"")  # ... and of an array whose record is lost with it
    with monkeypatch.context() as m:
        calls = _interrupt_at(m, 0)
        res = invoke_lfkit("spectro", data, "-o", out, "--resume", *FRONT)
    assert res.returncode == 0, res.stderr
    assert 0 < lost < 5 and len(calls) == N_CLIPS - 5 + lost  # the clips of the cut record file are redone
    assert Path(calls[0]).name == "c00000.wav"
    assert _tree(out) == reference


def test_read_records_skips_what_does_not_parse_and_reads_single_records(tmp_path):
    root = tmp_path / RECORDS
    (root / "sub").mkdir(parents=True)
    (root / "1-2-ab.jsonl").write_text('{"name": "a.npy", "record": {"path": "a.npy"}}\n{"name": "b.np\n'
                                       '[1, 2]\n{"name": "c.npy", "record": {"path": "c.npy"}}\n')
    (root / "sub" / "d.npy.json").write_text('{"path": "sub/d.npy"}')
    (root / "e.npy.json").write_text('{"pa')
    (root / ".x.jsonl.lfkit-1-abc.tmp").write_text('{"name": "t.npy", "record": {}}\n')
    assert read_records(tmp_path) == {"a.npy": {"path": "a.npy"}, "c.npy": {"path": "c.npy"},
                                      "sub/d.npy": {"path": "sub/d.npy"}}
    assert read_records(tmp_path / "missing") == {}


def test_deferred_sync_skips_fsync_only_in_its_own_thread(tmp_path, monkeypatch):
    fsyncs = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(threading.get_ident()), real(fd))[1])

    def other():
        with io_files.atomic_write(tmp_path / "other.bin") as fh:
            fh.write(b"y")

    with io_files.deferred_sync():
        with io_files.atomic_write(tmp_path / "mine.bin") as fh:
            fh.write(b"x")
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert fsyncs == [t.ident]  # the other thread's write kept its fsync
    with io_files.atomic_write(tmp_path / "after.bin") as fh:
        fh.write(b"z")
    assert len(fsyncs) == 2
    assert (tmp_path / "mine.bin").read_bytes() == b"x" and leftovers(tmp_path) == []
    io_files.sync_folder(tmp_path)  # syncfs (or sync) succeeds on an ordinary folder


@pytest.mark.skipif(not HAVE_DASK, reason="dask.distributed is not installed (pip install 'lfkit[dask]')")
@pytest.mark.parametrize("where", ["local:2", "cluster"])
def test_scheduler_writes_the_folder_workers_2_writes(data, tmp_path, where, request):
    sched = where if where == "local:2" else request.getfixturevalue("two_workers").address
    local, remote = tmp_path / "local", tmp_path / "dask"
    res = invoke_lfkit("spectro", data, "-o", local, "--workers", "2", *FRONT)
    assert res.returncode == 0, res.stderr
    res = invoke_lfkit("spectro", data, "-o", remote, "--scheduler", sched, *FRONT)
    assert res.returncode == 0, res.stderr
    assert _tree(remote) == _tree(local) and len(_tree(local)) == N_CLIPS + 3
    assert leftovers(tmp_path) == []
