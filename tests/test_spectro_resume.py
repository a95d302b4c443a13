"""``lfkit spectro DIR -o OUT`` builds OUT.partial/, keeps finished arrays when interrupted, and --resume ends it.

An interruption is simulated in-process: the per-clip transform raises
KeyboardInterrupt (what Ctrl-C raises) after a few clips.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import assert_clean_failure, invoke_lfkit, leftovers

import lfkit.frontend as frontend

N_CLIPS = 12
FRONT = ["--n-fft", "256", "--hop-length", "64"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A dozen 0.2 s clips at 8 kHz made with lfkit synth."""
    root = tmp_path_factory.mktemp("resume")
    res = invoke_lfkit("synth", "-o", root / "data", "--positive", "1000", "--n", N_CLIPS,
                       "--duration", "0.2", "--sr", "8000")
    assert res.returncode == 0, res.stderr
    return root / "data"


def _tree(folder) -> dict[str, bytes]:
    """Every file below ``folder`` (hidden ones included): relative path -> bytes."""
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _counting(monkeypatch, fail_at=None):
    """Patch the per-clip transform: count calls, and raise KeyboardInterrupt on call ``fail_at`` (1-based)."""
    calls = []
    real = frontend._clip_spec

    def patched(*args, **kwargs):
        calls.append(args[0])
        if fail_at is not None and len(calls) == fail_at:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(frontend, "_clip_spec", patched)
    return calls


def _interrupt(data, out, monkeypatch, extra=(), fail_at=6):
    """Run spectro until clip ``fail_at`` raises; check the exit and what OUT.partial keeps."""
    with monkeypatch.context() as m:
        _counting(m, fail_at=fail_at)
        res = invoke_lfkit("spectro", data, "-o", out, "-q", *FRONT, *extra)
    assert res.returncode == 130, res.stderr
    assert "interrupted" in res.stderr.decode()
    assert not out.exists()
    partial = out.with_name(out.name + ".partial")
    assert partial.is_dir()
    return partial


@pytest.mark.parametrize("extra", [(), ("--chunk", "0.1", "--chunk-hop", "0.05")], ids=["whole", "chunked"])
def test_interrupted_run_keeps_arrays_and_resume_gives_the_same_bytes(data, tmp_path, monkeypatch, extra):
    ref = tmp_path / "ref"
    res = invoke_lfkit("spectro", data, "-o", ref, "-q", *FRONT, *extra)
    assert res.returncode == 0, res.stderr
    expected = _tree(ref)
    assert len([k for k in expected if k.endswith(".npy")]) == N_CLIPS
    assert not (tmp_path / "ref.partial").exists()

    out = tmp_path / "out"
    partial = _interrupt(data, out, monkeypatch, extra)
    kept = sorted(p.name for p in partial.glob("*.npy"))
    assert kept == [f"c{i:05d}.npy" for i in range(5)]  # the five clips before the interruption
    for name in kept:  # finished arrays are complete, byte for byte
        assert (partial / name).read_bytes() == expected[name]
    assert not (partial / "labels.csv").exists() and not (partial / "frontend.json").exists()

    with monkeypatch.context() as m:
        calls = _counting(m)
        res = invoke_lfkit("spectro", data, "-o", out, "-q", "--resume", *FRONT, *extra)
    assert res.returncode == 0, res.stderr
    assert len(calls) == N_CLIPS - 5  # finished clips are not redone
    assert _tree(out) == expected  # every file, the manifest included
    assert not partial.exists()
    assert leftovers(tmp_path) == [] and leftovers(out) == []


def test_resume_without_a_partial_folder_is_an_ordinary_run(data, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert invoke_lfkit("spectro", data, "-o", a, "-q", *FRONT).returncode == 0
    assert invoke_lfkit("spectro", data, "-o", b, "-q", "--resume", *FRONT).returncode == 0
    assert _tree(a) == _tree(b)


def test_partial_folder_is_refused_without_resume(data, tmp_path, monkeypatch):
    out = tmp_path / "out"
    partial = _interrupt(data, out, monkeypatch)
    before = _tree(partial)
    line = assert_clean_failure(invoke_lfkit("spectro", data, "-o", out, "-q", *FRONT), "spectro", codes=(2,))
    assert "--resume" in line and "out.partial" in line
    assert _tree(partial) == before and not out.exists()


def test_resume_with_other_settings_is_refused(data, tmp_path, monkeypatch):
    out = tmp_path / "out"
    partial = _interrupt(data, out, monkeypatch)
    before = _tree(partial)
    for other in (["--n-fft", "512", "--hop-length", "64"], [*FRONT, "--chunk", "0.1"]):
        res = invoke_lfkit("spectro", data, "-o", out, "-q", "--resume", *other)
        line = assert_clean_failure(res, "spectro", codes=(2,))
        assert "other settings" in line
        assert _tree(partial) == before and not out.exists()


def test_resume_with_other_inputs_is_refused(data, tmp_path, monkeypatch):
    out = tmp_path / "out"
    partial = _interrupt(data, out, monkeypatch)
    before = _tree(partial)
    fewer = sorted(data.glob("*.wav"))[:8]
    res = invoke_lfkit("spectro", *fewer, "-o", out, "-q", "--resume", *FRONT)
    assert "other settings or inputs" in assert_clean_failure(res, "spectro", codes=(2,))
    assert _tree(partial) == before


@pytest.mark.parametrize("resume", [False, True], ids=["plain", "resume"])
def test_a_users_folder_named_partial_is_never_touched(data, tmp_path, resume):
    out = tmp_path / "out"
    mine = tmp_path / "out.partial"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine\n")
    (mine / "c00000.npy").write_bytes(b"not an array")
    (mine / ".lfkit.json").write_text(json.dumps({"tool": "lfkit", "files": []}))  # a finished folder's, no 'partial'
    before = _tree(mine)
    res = invoke_lfkit("spectro", data, "-o", out, "-q", *FRONT, *(["--resume"] if resume else []))
    line = assert_clean_failure(res, "spectro", codes=(2,))
    assert "lfkit did not write it" in line
    assert _tree(mine) == before and not out.exists()


def test_an_empty_partial_is_not_left_when_nothing_was_written(data, tmp_path, monkeypatch):
    out = tmp_path / "out"
    with monkeypatch.context() as m:
        _counting(m, fail_at=1)
        assert invoke_lfkit("spectro", data, "-o", out, "-q", *FRONT).returncode == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_resume_of_a_single_file_is_refused(data, tmp_path):
    res = invoke_lfkit("spectro", data / "c00000.wav", "-o", tmp_path / "x.npy", "--resume", *FRONT)
    assert "--resume finishes an output folder" in assert_clean_failure(res, "spectro", codes=(2,))
    assert not (tmp_path / "x.npy").exists()
