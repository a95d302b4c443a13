"""Outputs never destroy what lfkit did not write; readers are bounded (issue 11, files and folders).

Every refusal shows its one line (``lfkit CMD: error: ...``), its exit code,
and that the user's files are byte for byte as they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import LFKIT, assert_clean_failure, leftovers

from lfkit import io as lio
from lfkit import outputs, reading
from lfkit.config import FrontendConfig
from lfkit.errors import DataError, ParameterError
from lfkit.frontend import clip_spectrogram

SMALL = ["--n-fft", "256", "--hop-length", "128", "--fmax", "nyquist"]


def tone(path, sr=8000, seconds=0.2, freq_hz=440.0, subtype="PCM_16"):
    """A sine of ``freq_hz`` at amplitude 0.5, written with soundfile."""
    t = np.arange(int(sr * seconds)) / sr
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), (0.5 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32), sr, subtype=subtype)
    return path


def snapshot(folder) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder``, hidden ones included."""
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def user_dataset(folder) -> Path:
    """A hand-made dataset as the README tells users to write one: clips, labels.csv, and notes."""
    tone(folder / "a.wav")
    tone(folder / "b.wav", freq_hz=880)
    (folder / "labels.csv").write_text("path,label\na.wav,x\nb.wav,y\n")
    (folder / "notes.txt").write_text("recorded at the pier, 3 May\n")
    return folder


def dead_pid() -> int:
    """The process id of a process that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# ----------------------------------------------------------------------------- the manifest


def test_lfkit_folders_carry_a_manifest_listing_what_lfkit_wrote(lfkit_fast, small_set, tmp_path):
    m = json.loads((small_set / outputs.MANIFEST).read_text())
    assert m["tool"] == "lfkit" and m["command"] == "synth"
    assert m["files"] == sorted(p for p in snapshot(small_set) if p != outputs.MANIFEST)
    res = lfkit_fast("spectro", small_set, "-o", tmp_path / "spec", "-q")
    assert res.returncode == 0, res.stderr
    m = json.loads((tmp_path / "spec" / outputs.MANIFEST).read_text())
    assert m["command"] == "spectro" and "labels.csv" in m["files"] and "frontend.json" in m["files"]
    assert len([f for f in m["files"] if f.endswith(".npy")]) == 6
    res = lfkit_fast("spectro", small_set, "-o", tmp_path / "spec", "-q")  # lfkit's own folder: replaced
    assert res.returncode == 0, res.stderr
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("command", ["synth", "spectro"])
def test_a_users_dataset_is_never_replaced(lfkit_fast, small_set, tmp_path, command):
    mine = user_dataset(tmp_path / "mine")
    before = snapshot(mine)
    if command == "synth":
        res = lfkit_fast("synth", "-o", mine, "--positive", "120", "--n", "2", "--duration", "0.1")
    else:
        res = lfkit_fast("spectro", small_set, "-o", mine, "-q")
    line = assert_clean_failure(res, command, codes=(2,))
    assert "lfkit replaces only folders it wrote" in line and "choose a new path, or delete it yourself" in line
    assert snapshot(mine) == before
    assert leftovers(tmp_path) == []


def test_a_file_added_to_an_lfkit_folder_keeps_it(lfkit_fast, tmp_path):
    args = ["synth", "--positive", "120", "--n", "2", "--duration", "0.1", "-o", tmp_path / "set"]
    assert lfkit_fast(*args).returncode == 0
    (tmp_path / "set" / "my_notes.txt").write_text("keep me")
    before = snapshot(tmp_path / "set")
    line = assert_clean_failure(lfkit_fast(*args), "synth", codes=(2,))
    assert "'my_notes.txt', which lfkit did not write" in line
    assert snapshot(tmp_path / "set") == before


def test_an_old_dataset_without_manifest_reads_but_is_not_replaced(lfkit_fast, small_set, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(small_set, old)
    (old / outputs.MANIFEST).unlink()  # as lfkit wrote datasets before the manifest
    res = lfkit_fast("spectro", old, "-o", tmp_path / "spec", "-q")
    assert res.returncode == 0, res.stderr
    assert len(list((tmp_path / "spec").glob("*.npy"))) == 6
    before = snapshot(old)
    line = assert_clean_failure(lfkit_fast("synth", "-o", old, "--positive", "120", "--n", "2"), "synth", (2,))
    assert "is a folder lfkit did not write (it has a labels.csv but no .lfkit.json)" in line
    assert snapshot(old) == before


def test_atomic_dir_refuses_a_symlink_and_a_file(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    (tmp_path / "f").write_text("x")
    for target in ("link", "f"):
        with pytest.raises(ParameterError, match="exists and is not a directory"):
            with lio.atomic_dir(tmp_path / target):
                pass
    assert (tmp_path / "f").read_text() == "x" and (tmp_path / "link").is_symlink()


# ----------------------------------------------------------------------------- outputs against inputs


def test_spectro_refuses_to_write_over_its_input_file(lfkit_fast, tmp_path):
    clip = tone(tmp_path / "P" / "clip.wav")
    before = clip.read_bytes()
    line = assert_clean_failure(lfkit_fast("spectro", clip, "-o", clip, *SMALL), "spectro", (2,))
    assert f"output='{clip}' is the input '{clip}'" in line
    assert clip.read_bytes() == before
    assert leftovers(clip.parent) == []


@pytest.mark.parametrize("out, where", [(".", "is the input"), ("sub", "is inside the input"),
                                        ("..", "contains the input")])
def test_spectro_refuses_an_output_folder_that_is_holds_or_sits_in_its_input(lfkit_fast, tmp_path, out, where):
    d = tmp_path / "d"
    tone(d / "a.wav")
    tone(d / "sub" / "b.wav")
    before = snapshot(tmp_path)
    line = assert_clean_failure(lfkit_fast("spectro", d, "-o", d / out, *SMALL), "spectro", (2,))
    assert where in line and "choose an output path outside the inputs" in line
    assert snapshot(tmp_path) == before


def test_spectro_on_an_lfkit_set_into_that_set_is_refused(lfkit_fast, tmp_path):
    """The set holds lfkit's manifest, so only the input check stands between it and deletion."""
    args = ["synth", "--positive", "120", "--n", "2", "--duration", "0.2", "-o", tmp_path / "set"]
    assert lfkit_fast(*args).returncode == 0
    before = snapshot(tmp_path / "set")
    assert_clean_failure(lfkit_fast("spectro", tmp_path / "set", "-o", tmp_path / "set"), "spectro", (2,))
    assert_clean_failure(lfkit_fast("spectro", tmp_path / "set" / "labels.csv", "-o", tmp_path), "spectro", (2,))
    assert snapshot(tmp_path / "set") == before


def test_synth_refuses_a_set_over_its_signatures_file(lfkit_fast, tmp_path):
    (tmp_path / "set").mkdir()
    sigs = tmp_path / "set" / "sigs.json"
    sigs.write_text('{"a": [100, 200]}')
    line = assert_clean_failure(lfkit_fast("synth", "-o", tmp_path / "set", "--signatures", sigs, "--n", "1"),
                                "synth", (2,))
    assert "contains the signatures file" in line
    assert sigs.read_text() == '{"a": [100, 200]}'


def test_check_outputs_sidecars_links_and_names(tmp_path):
    clip = tone(tmp_path / "a.wav")
    (tmp_path / "alias.wav").symlink_to(clip)
    os.link(clip, tmp_path / "hard.wav")
    for out in ("alias.wav", "hard.wav"):
        with pytest.raises(ParameterError, match="is the input"):
            lio.check_outputs([tmp_path / out], [clip])
    with pytest.raises(ParameterError, match=r"log='m.pt' is the same path as output='m.pt'"):
        lio.check_outputs(["m.pt", ("log", "m.pt")], [])
    with pytest.raises(ParameterError, match=r"embedding CSV='.*t3/labels.csv' is the input"):
        lio.check_outputs([tmp_path / "e.npy", ("embedding CSV", tmp_path / "t3" / "labels.csv")],
                          [tmp_path / "t3" / "labels.csv"])
    with pytest.raises(ParameterError, match="is inside the input"):
        lio.check_outputs([tmp_path / "t3" / "labels.npy"], [tmp_path / "t3"])
    lio.check_outputs(["-", None, tmp_path / "b.npy", tmp_path / "b.npy.chunks.csv"], ["-", clip])  # all fine


# ----------------------------------------------------------------------------- same-stem inputs


def test_same_stem_inputs_keep_distinct_outputs(lfkit_fast, tmp_path):
    d = tmp_path / "d"
    tone(d / "a.wav", freq_hz=440)
    sf.write(str(d / "a.flac"), np.zeros(1600, np.float32) + 0.25 * np.cos(np.arange(1600)), 8000)
    tone(d / "b.wav", freq_hz=880)
    res = lfkit_fast("spectro", d, "-o", tmp_path / "spec", *SMALL, "-q")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "spec"
    assert sorted(p.name for p in out.glob("*.npy")) == ["a.flac.npy", "a.wav.npy", "b.npy"]
    rows = lio.read_labels(out)[0]
    assert sorted(r["path"] for r in rows) == ["a.flac.npy", "a.wav.npy", "b.npy"]
    cfg = FrontendConfig(n_fft=256, hop_length=128, fmax=None)
    for name in ("a.wav", "a.flac", "b.wav"):
        want = clip_spectrogram(str(d / name), cfg)[0]
        got = np.load(out / (name + ".npy" if name.startswith("a.") else "b.npy"))
        np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------------------------- bounded readers


def test_a_fifo_or_device_named_as_input_is_refused_without_reading(lfkit_fast, tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    line = assert_clean_failure(lfkit_fast("spectro", fifo, "-o", tmp_path / "o.npy"), "spectro", (1,))
    assert "is a named pipe, not a regular file" in line
    line = assert_clean_failure(lfkit_fast("spectro", "/dev/zero", "-o", tmp_path / "o.npy"), "spectro", (1,))
    assert "/dev/zero: is a character device, not a regular file" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.wav"]  # nothing written
    with pytest.raises(DataError, match="is a named pipe"):
        lio.read_bytes(fifo)


@pytest.mark.parametrize("target", ["fifo", "/dev/zero"])
def test_labels_naming_a_fifo_or_device_are_refused(lfkit_fast, tmp_path, target):
    d = tmp_path / "d"
    tone(d / "a.wav")
    if target == "fifo":
        os.mkfifo(d / "p.wav")
        target = "p.wav"
    (d / "labels.csv").write_text(f"path,label\na.wav,x\n{target},y\n")
    line = assert_clean_failure(lfkit_fast("spectro", d, "-o", tmp_path / "spec"), "spectro", (1,))
    assert f"labels.csv: {target}: is a " in line and "not a regular file" in line
    assert not (tmp_path / "spec").exists() and leftovers(tmp_path) == []


def test_max_bytes_caps_files_and_standard_input(lfkit_fast, lfkit, tmp_path):
    clip = tone(tmp_path / "a.wav")  # 3244 bytes
    line = assert_clean_failure(lfkit_fast("spectro", clip, "-o", tmp_path / "a.npy", "--max-bytes", "1000"),
                                "spectro", (1,))
    assert "more than max_bytes=1000 bytes; raise --max-bytes" in line and not (tmp_path / "a.npy").exists()
    assert lfkit_fast("spectro", clip, "-o", tmp_path / "a.npy", "--max-bytes", "4000", *SMALL).returncode == 0
    line = assert_clean_failure(lfkit_fast("spectro", clip, "--max-bytes", "0"), "spectro", (2,))
    assert "max_bytes=0 must be a positive integer" in line
    proc = lfkit("spectro", "-", "--max-bytes", "1000", input=clip.read_bytes())  # a pipe
    assert "<stdin>: more than max_bytes=1000" in assert_clean_failure(proc, "spectro", (1,))


def test_dev_zero_on_standard_input_stops_at_once(tmp_path):
    with open("/dev/zero", "rb") as zero:
        t0 = time.monotonic()
        proc = subprocess.run([*LFKIT, "spectro", "-"], stdin=zero, capture_output=True, timeout=60)
    line = assert_clean_failure(proc, "spectro", (1,))
    assert "standard input is a character device, not a file or a pipe" in line
    assert time.monotonic() - t0 < 30


def test_a_capped_pipe_stops_reading_at_the_cap():
    import io

    class Endless(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, b):
            b[:] = b"\0" * len(b)
            return len(b)

    with pytest.raises(DataError, match="more than max_bytes=5000000"):
        reading._read_stream(Endless(), "<stdin>", 5_000_000)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_labels_with_a_bom_or_in_utf16_are_read(tmp_path, encoding):
    tone(tmp_path / "é.wav")
    (tmp_path / "labels.csv").write_bytes("path,label,site\né.wav,x,quai\n".encode(encoding))
    rows, _ = lio.read_labels(tmp_path)
    assert [(r["path"], r["label"], r["site"]) for r in rows] == [("é.wav", "x", "quai")]


def test_labels_in_latin1_or_with_too_many_fields_are_refused_by_line(lfkit_fast, tmp_path):
    tone(tmp_path / "a.wav")
    (tmp_path / "labels.csv").write_bytes("path,label\na.wav,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8 text .*save it as UTF-8"):
        lio.read_labels(tmp_path)
    (tmp_path / "labels.csv").write_bytes("path,label\na.wav,x\n".encode("utf-16-le"))  # no byte-order mark
    with pytest.raises(DataError, match="UTF-16 without a byte-order mark"):
        lio.read_labels(tmp_path)
    (tmp_path / "labels.csv").write_text("path,label\na.wav,x\na.wav,y,extra,more\n")
    line = assert_clean_failure(lfkit_fast("spectro", tmp_path, "-o", tmp_path.parent / "o"), "spectro", (1,))
    assert "labels.csv: line 3 has 4 fields, the header has 2" in line
    (tmp_path / "labels.csv").write_text("path,label\na.wav\n")
    with pytest.raises(DataError, match="line 2 has no path or label field"):
        lio.read_labels(tmp_path)


# ----------------------------------------------------------------------------- pipes and paths


def test_spectro_reads_a_pipe_when_no_input_is_given(lfkit, clip_1s):
    want = lfkit("spectro", "-", input=clip_1s.read_bytes())
    got = lfkit("spectro", input=clip_1s.read_bytes())
    assert want.returncode == 0 and got.returncode == 0, got.stderr
    assert got.stdout == want.stdout and got.stdout[:6] == b"\x93NUMPY"


def test_symlinked_folders_are_followed_once_without_loops(tmp_path):
    d = tmp_path / "d"
    tone(d / "real" / "a.wav")
    tone(tmp_path / "elsewhere" / "b.wav")
    (d / "link").symlink_to(tmp_path / "elsewhere")
    (d / "loop").symlink_to(d)  # back to the top: no endless walk
    (d / "dup").symlink_to(d / "real")  # the same folder twice: its clips once
    tone(d / ".hidden" / "c.wav")
    (d / "real" / "up").symlink_to(tmp_path / "elsewhere")  # a second link to the linked folder
    (d / "dangling").symlink_to(tmp_path / "gone")
    names = [Path(c["path"]).relative_to(d).as_posix() for c in lio.find_inputs([d])]
    assert names == ["link/b.wav", "real/a.wav"]


def test_mixed_sample_rates_are_resampled_to_the_most_common(lfkit_fast, tmp_path):
    d = tmp_path / "d"
    tone(d / "a.wav", sr=16000)
    tone(d / "b.wav", sr=16000)
    tone(d / "c.wav", sr=8000)
    res = lfkit_fast("spectro", d, "-o", tmp_path / "spec", *SMALL)
    assert res.returncode == 0, res.stderr
    assert "8000 Hz (1 clip)" in res.stderr.decode() and "resampled to 16000 Hz" in res.stderr.decode()
    shapes = {np.load(f).shape for f in (tmp_path / "spec").glob("*.npy")}
    assert len(shapes) == 1
    meta = json.loads((tmp_path / "spec" / "frontend.json").read_text())
    assert meta["sr"] == 16000 and meta["frontend"]["sr"] == 16000
    line = assert_clean_failure(lfkit_fast("spectro", d, "-o", tmp_path / "s2", "--strict", *SMALL), "spectro", (1,))
    assert "several sample rates" in line and "--strict refuses to resample" in line
    assert not (tmp_path / "s2").exists()


# ----------------------------------------------------------------------------- clean-up and determinism


def test_stale_temporaries_of_a_dead_process_are_removed_and_live_ones_kept(lfkit_fast, tmp_path):
    tone(tmp_path / "in" / "a.wav")
    pid = dead_pid()
    stale_dir = tmp_path / f".spec.lfkit-{pid}-abcd.tmp"
    stale_dir.mkdir()
    (stale_dir / "big.npy").write_bytes(b"x" * 1000)
    stale_old = tmp_path / f".spec.lfkit-{pid}-0.old"
    stale_old.mkdir()
    live = tmp_path / f".spec.lfkit-{os.getpid()}-efgh.tmp"
    live.mkdir()
    user = tmp_path / ".spec.notes.tmp"  # not lfkit's name: never touched
    user.write_text("mine")
    res = lfkit_fast("spectro", tmp_path / "in", "-o", tmp_path / "spec", *SMALL)
    assert res.returncode == 0, res.stderr
    assert not stale_dir.exists() and not stale_old.exists()
    assert live.exists() and user.read_text() == "mine"
    stale_file = tmp_path / f".x.npy.lfkit-{pid}-zz.tmp"
    stale_file.write_bytes(b"half")
    lio.write_npy(np.zeros(3), tmp_path / "x.npy")
    assert not stale_file.exists()


def test_concurrent_writers_to_one_folder_both_succeed(tmp_path):
    target = tmp_path / "out"
    errors = []

    def writer(tag):
        try:
            for i in range(15):
                with lio.atomic_dir(target, "test") as tmp:
                    (tmp / "who.txt").write_text(f"{tag}{i}")
        except Exception as exc:  # the test fails on any, "Directory not empty" included
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert (target / "who.txt").read_text() in ("a14", "b14")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_synth_float_has_no_peak_timestamp_and_repeats_byte_for_byte(lfkit_fast, tmp_path):
    args = ["synth", "--float", "--duration", "0.1", "--tones", "100", "--seed", "3"]
    lfkit_fast(*args, "-o", tmp_path / "a.wav")
    time.sleep(1.1)  # libsndfile's PEAK timestamp has one-second resolution
    lfkit_fast(*args, "-o", tmp_path / "b.wav")
    a, b = (tmp_path / "a.wav").read_bytes(), (tmp_path / "b.wav").read_bytes()
    assert a == b and b"PEAK" not in a
    info = sf.info(str(tmp_path / "a.wav"))
    assert info.subtype == "FLOAT" and info.frames == 4410
    set_args = ["synth", "--float", "--positive", "100", "--n", "2", "--duration", "0.1"]
    lfkit_fast(*set_args, "-o", tmp_path / "s")
    assert all(b"PEAK" not in f.read_bytes() for f in (tmp_path / "s").glob("*.wav"))


def test_sigkill_during_spectro_leaves_inputs_and_no_half_output(lfkit, tmp_path):
    d = tmp_path / "in"
    for i in range(40):
        tone(d / f"c{i:02d}.wav", seconds=1.0, freq_hz=200 + 10 * i)
    before = snapshot(d)
    out = tmp_path / "out"
    proc = subprocess.Popen([*LFKIT, "spectro", str(d), "-o", str(out), "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()):
        time.sleep(0.01)  # kill once the temporary folder exists: mid-write (about 4 of 40 arrays)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert snapshot(d) == before
    if out.exists():  # finished before the kill: then complete
        m = json.loads((out / outputs.MANIFEST).read_text())
        assert sorted(m["files"]) == sorted(p for p in snapshot(out) if p != outputs.MANIFEST)
    res = lfkit("spectro", d, "-o", out, "-q", *SMALL)  # the next run cleans up
    assert res.returncode == 0, res.stderr
    assert leftovers(tmp_path) == [] and len(list(out.glob("*.npy"))) == 40
    assert stat.S_ISDIR(os.stat(out).st_mode)


def test_files_inside_a_temporary_folder_skip_the_sweep(tmp_path, monkeypatch):
    """A folder of N arrays must not list its temporary folder N times."""
    calls = []
    monkeypatch.setattr(outputs, "remove_stale", lambda folder, name: calls.append(name) or [])
    with lio.atomic_dir(tmp_path / "out", "test") as tmp:
        for i in range(5):
            lio.write_npy(np.zeros(2), tmp / "sub" / f"{i}.npy")
    assert calls == ["out"]  # once, for the folder itself
    lio.write_npy(np.zeros(2), tmp_path / "x.npy")
    assert calls == ["out", "x.npy"]
    assert sorted(p.name for p in (tmp_path / "out" / "sub").iterdir()) == [f"{i}.npy" for i in range(5)]


# ----------------------------------------------------------------------------- properties

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200) | st.text(max_size=80).map(lambda t: ("path,label\n" + t).encode("utf-8")))
def test_any_labels_bytes_read_or_refuse_cleanly(tmp_path, data):
    (tmp_path / "labels.csv").write_bytes(data)
    try:
        rows, _ = lio.read_labels(tmp_path)
    except DataError as exc:
        assert str(exc).startswith(str(tmp_path)) and "\n" not in str(exc)
    else:
        assert rows and all(Path(r["_file"]).is_file() for r in rows)


_PART = st.sampled_from(["a", "b", "a.wav", "sub"])


@settings(max_examples=80, deadline=None)
@given(out=st.lists(_PART, min_size=1, max_size=3), inp=st.lists(_PART, min_size=1, max_size=3))
def test_check_outputs_refuses_exactly_equal_nested_or_containing_paths(out, inp):
    base = Path("/nonexistent-lfkit-test")
    o, i = base.joinpath(*out), base.joinpath(*inp)
    related = out[: len(inp)] == inp[: len(out)]  # one path is a prefix of the other
    if related:
        with pytest.raises(ParameterError, match="choose an output path outside the inputs"):
            lio.check_outputs([o], [i])
    else:
        lio.check_outputs([o], [i])


@pytest.mark.parametrize("exchange", [True, False])
def test_replacing_an_lfkit_folder_with_and_without_an_atomic_swap(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    target = tmp_path / "out"
    for text in ("old", "new"):
        with lio.atomic_dir(target, "test") as tmp:
            (tmp / "v.txt").write_text(text)
    assert (target / "v.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    if exchange and sys.platform.startswith("linux"):
        assert outputs._exchange(tmp_path / "out", tmp_path / "out")  # renameat2 is there: the swap path ran
