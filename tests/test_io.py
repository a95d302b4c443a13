"""lfkit.io: atomic writes, audio reading with clear refusals, labels and input discovery."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import leftovers

from lfkit import io as lio
from lfkit.errors import DataError, ParameterError

SR = 44100


def wav(path, y, sr=SR, subtype="PCM_16"):
    sf.write(str(path), np.asarray(y, dtype=np.float32), sr, subtype=subtype)
    return path


# ----------------------------------------------------------------------------- atomic writes


def test_atomic_write_moves_into_place(tmp_path):
    target = tmp_path / "sub" / "out.bin"
    with lio.atomic_write(target) as fh:
        fh.write(b"abc")
        assert not target.exists()  # not visible before the writer is done
    assert target.read_bytes() == b"abc"
    assert leftovers(target.parent) == []


def test_atomic_write_leaves_nothing_when_the_writer_raises(tmp_path):
    target = tmp_path / "out.npy"
    with pytest.raises(RuntimeError):
        with lio.atomic_write(target) as fh:
            fh.write(b"half")
            raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_keeps_the_old_file_when_the_writer_raises(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(KeyboardInterrupt):
        with lio.atomic_write(target, "w") as fh:
            fh.write("new\n")
            raise KeyboardInterrupt
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_atomic_write_refuses_a_directory(tmp_path):
    with pytest.raises(ParameterError, match="is a directory"):
        with lio.atomic_write(tmp_path):
            pass


def test_atomic_dir_builds_and_replaces_a_dataset(tmp_path):
    target = tmp_path / "ds"
    with lio.atomic_dir(target) as tmp:
        (tmp / "labels.csv").write_text("path,label\n")
        assert not target.exists()
    assert (target / "labels.csv").exists()
    with lio.atomic_dir(target) as tmp:  # a dataset lfkit wrote may be replaced
        (tmp / "labels.csv").write_text("path,label\nx.wav,a\n")
    assert (target / "labels.csv").read_text().endswith("x.wav,a\n")
    assert leftovers(tmp_path) == []


def test_atomic_dir_failure_keeps_the_old_dataset_and_no_temp(tmp_path):
    target = tmp_path / "ds"
    target.mkdir()
    (target / "labels.csv").write_text("old")
    with pytest.raises(ValueError):
        with lio.atomic_dir(target) as tmp:
            (tmp / "labels.csv").write_text("new")
            raise ValueError("half way")
    assert (target / "labels.csv").read_text() == "old"
    assert leftovers(tmp_path) == []


def test_atomic_dir_refuses_a_non_empty_non_dataset_folder(tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "thesis.tex").write_text("precious")
    with pytest.raises(ParameterError, match="lfkit replaces only folders it wrote"):
        with lio.atomic_dir(target):
            pass
    assert (target / "thesis.tex").read_text() == "precious"
    assert leftovers(tmp_path) == []


def test_atomic_dir_accepts_an_empty_folder_and_refuses_a_file(tmp_path):
    (tmp_path / "empty").mkdir()
    with lio.atomic_dir(tmp_path / "empty") as tmp:
        (tmp / "a").write_text("1")
    assert (tmp_path / "empty" / "a").exists()
    (tmp_path / "f").write_text("x")
    with pytest.raises(ParameterError, match="not a directory"):
        with lio.atomic_dir(tmp_path / "f"):
            pass


def test_write_dataset_failure_mid_way_leaves_nothing(tmp_path):
    def items():
        yield {"path": "a.wav", "label": "x"}, np.zeros(100, np.float32)
        raise ParameterError("tones=30000 Hz is outside (0, sr/2)")

    with pytest.raises(ParameterError):
        lio.write_dataset(tmp_path / "ds", items(), SR)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- audio


@pytest.mark.parametrize(
    "kind,message",
    [
        ("empty", "empty file"),
        ("not_audio", "not a readable audio file"),
        ("truncated", "truncated WAV"),
        ("truncated_header", "truncated WAV"),
        ("zero_length", "zero-length audio"),
        ("nan", "NaN or Inf"),
        ("inf", "NaN or Inf"),
    ],
)
def test_read_audio_refuses_bad_files(bad_audio, kind, message):
    path = bad_audio[kind]
    with pytest.raises(DataError, match=message) as info:
        lio.read_audio(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text and "0x" not in text  # names the file, no repr
    with pytest.raises(DataError, match=message):  # the same bytes from standard input
        lio.read_audio("-", data=path.read_bytes())


def test_read_audio_pcm_and_float_roundtrip(tmp_path):
    y = (0.5 * np.sin(2 * np.pi * 440 * np.arange(4410) / SR)).astype(np.float32)
    got, sr = lio.read_audio(wav(tmp_path / "f.wav", y, subtype="FLOAT"))
    assert sr == SR and got.dtype == np.float32 and np.array_equal(got, y)
    got, _ = lio.read_audio(wav(tmp_path / "p.wav", y))
    assert np.max(np.abs(got - y)) <= 1 / 32768


def test_stereo_is_averaged_or_one_channel_kept(tmp_path):
    left = np.full(1000, 0.5, np.float32)
    right = np.full(1000, -0.25, np.float32)
    path = tmp_path / "st.wav"
    sf.write(str(path), np.stack([left, right], axis=1), SR, subtype="FLOAT")
    assert np.allclose(lio.read_audio(path)[0], 0.125)
    assert np.allclose(lio.read_audio(path, channel=0)[0], 0.5)
    assert np.allclose(lio.read_audio(path, channel=1)[0], -0.25)
    with pytest.raises(ParameterError, match="channel=2"):
        lio.read_audio(path, channel=2)


def test_encode_wav_header_is_complete_for_pipes():
    data = lio.encode_wav(np.zeros(1234, np.float32), SR)
    assert data[:4] == b"RIFF" and struct.unpack("<I", data[4:8])[0] == len(data) - 8
    assert sf.info(io.BytesIO(data)).frames == 1234


def test_missing_file_and_directory_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        lio.read_audio(tmp_path / "nope.wav")
    with pytest.raises(DataError, match="is a directory"):
        lio.read_audio(tmp_path)


def test_npy_roundtrip_and_pickles_refused(tmp_path):
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    lio.write_npy(a, tmp_path / "a.npy")
    assert np.array_equal(lio.read_npy(tmp_path / "a.npy"), a)
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="not a readable .npy"):
        lio.read_npy("evil.npy", data=buf.getvalue())
    with pytest.raises(DataError, match="empty file"):
        lio.read_npy("e.npy", data=b"")


# ----------------------------------------------------------------------------- labels


def test_read_labels_resolves_paths(tmp_path):
    wav(tmp_path / "a.wav", np.zeros(10))
    (tmp_path / "sub").mkdir()
    wav(tmp_path / "sub" / "b.wav", np.zeros(10))
    (tmp_path / "labels.csv").write_text("path,label,snr_db\na.wav,pos,-30\nsub/b.wav,neg,-20\n")
    rows, root = lio.read_labels(tmp_path)
    assert root == tmp_path
    assert [(r["path"], r["label"], r["snr_db"]) for r in rows] == [("a.wav", "pos", "-30"), ("sub/b.wav", "neg", "-20")]
    assert rows[1]["_file"] == str(tmp_path / "sub" / "b.wav")
    assert lio.read_labels(tmp_path / "labels.csv")[0] == rows


@pytest.mark.parametrize("header,missing", [("file,label", "path"), ("path,class", "label"), ("x,y", "path, label")])
def test_read_labels_refuses_missing_columns(tmp_path, header, missing):
    (tmp_path / "labels.csv").write_text(f"{header}\na.wav,pos\n")
    with pytest.raises(DataError, match=f"missing column\\(s\\) {missing}"):
        lio.read_labels(tmp_path)


def test_read_labels_refuses_missing_files_naming_them(tmp_path):
    wav(tmp_path / "a.wav", np.zeros(10))
    (tmp_path / "labels.csv").write_text("path,label\na.wav,pos\ngone.wav,neg\n")
    with pytest.raises(DataError, match="names missing file\\(s\\) gone.wav"):
        lio.read_labels(tmp_path)


def test_read_labels_refuses_no_csv_and_no_rows(tmp_path):
    with pytest.raises(DataError, match="no labels.csv"):
        lio.read_labels(tmp_path)
    (tmp_path / "labels.csv").write_text("path,label\n")
    with pytest.raises(DataError, match="no rows"):
        lio.read_labels(tmp_path)


def test_write_csv_drops_private_keys(tmp_path):
    lio.write_csv([{"path": "a", "label": "x", "_file": "/abs/a"}, {"path": "b", "label": "y", "extra": "1"}],
                  tmp_path / "o.csv")
    assert (tmp_path / "o.csv").read_text() == "path,label,extra\na,x,\nb,y,1\n"


# ----------------------------------------------------------------------------- inputs


def test_find_inputs_recurses_sorted_and_skips_hidden(tmp_path):
    for rel in ("b.wav", "a/z.WAV", "a/c/d.flac", ".hidden/x.wav", "notes.txt", "s.npy"):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")
    found = [c["path"] for c in lio.find_inputs([tmp_path])]
    rel = [str(Path(f).relative_to(tmp_path)) for f in found]
    assert rel == ["a/c/d.flac", "a/z.WAV", "b.wav", "s.npy"]
    rel = [c["path"] for c in lio.find_inputs([tmp_path], allow_npy=False)]
    assert not any(r.endswith(".npy") for r in rel) and len(rel) == 3


def test_find_inputs_refuses_a_directory_without_audio(tmp_path):
    (tmp_path / "readme.txt").write_text("no audio here")
    (tmp_path / "sub").mkdir()
    with pytest.raises(DataError, match="holds no audio"):
        lio.find_inputs([tmp_path])
    with pytest.raises(DataError, match="no such file"):
        lio.find_inputs([tmp_path / "missing"])


def test_find_inputs_reads_a_dataset_in_csv_order(small_set):
    clips = lio.find_inputs([small_set])
    rows, _ = lio.read_labels(small_set)
    assert [c["path"] for c in clips] == [r["path"] for r in rows]
    assert clips[0]["label"] == "positive" and "snr_db" in clips[0]
    assert [c["path"] for c in lio.find_inputs([small_set / "labels.csv"])] == [r["path"] for r in rows]
    assert lio.find_inputs(["-"]) == [{"path": "-", "_file": "-"}]
