"""``lfkit clips``: recordings + Raven tables / Audacity labels -> a dataset folder that trains."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from binary_helpers import invoke, one_error_line
from lfkit import io
from lfkit.clips import make_clips
from lfkit.errors import DataError
from lfkit.synth import tone_amplitude
from lfkit.writers import make_writer

SR = 8000
TONES = (120.0, 340.0, 777.0)
EVENTS = [(1.0, 1.6), (4.0, 4.8), (7.2, 7.7), (10.0, 10.5), (13.1, 13.9), (16.0, 16.6)]
RAVEN_HEAD = ["Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)", "High Freq (Hz)",
              "Annotation"]


def _recording(path, duration_s=20.0, events=EVENTS, seed=0):
    rng = np.random.default_rng(seed)
    n = int(duration_s * SR)
    t = np.arange(n) / SR
    y = rng.standard_normal(n)
    for b, e in events:
        on = (t >= b) & (t < e)
        for f in TONES:
            y[on] += tone_amplitude(0.0) * np.sin(2 * np.pi * f * t[on])
    io.write_audio((0.2 * y / np.abs(y).max()).astype(np.float32), SR, path)
    return path


def _raven(path, events=EVENTS, head=RAVEN_HEAD, kinds=None, channel=1):
    """A Raven table as Raven writes it: each selection once per view (waveform, spectrogram)."""
    lines = ["\t".join(head)]
    for i, (b, e) in enumerate(events, 1):
        for view in ("Waveform 1", "Spectrogram 1"):
            vals = {"Selection": i, "View": view, "Channel": channel, "Begin Time (s)": b, "End Time (s)": e,
                    "Low Freq (Hz)": 100.0, "High Freq (Hz)": 800.0,
                    "Annotation": (kinds or ["boat"] * len(events))[i - 1]}
            lines.append("\t".join(str(vals[h]) for h in head))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def rec(tmp_path_factory):
    return _recording(tmp_path_factory.mktemp("clips") / "rec.wav")


def _labels(folder):
    with open(folder / "labels.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_raven_table_to_dataset(rec, tmp_path):
    table = _raven(tmp_path / "rec.Table.1.selections.txt", kinds=["boat", "boat", "whale", "boat", "whale", "boat"])
    out = tmp_path / "set"
    res = make_clips([str(table), str(rec)], str(out), clip_s=1.0, n_negative=4, seed=3, label_column="Annotation")
    assert res == {"n_positive": 6, "n_negative": 4, "clip_s": 1.0, "sr": SR}
    rows = _labels(out)
    assert [r["label"] for r in rows] == ["boat", "boat", "whale", "boat", "whale", "boat"] + ["negative"] * 4
    for r, (b, e) in zip(rows, EVENTS):  # centred on the annotation, Raven's columns carried through
        assert float(r["clip_start_s"]) == pytest.approx((b + e) / 2 - 0.5, abs=1 / SR)
        assert float(r["Begin Time (s)"]) == b and r["View"] == "Waveform 1" and r["Selection"]
        y, sr = io.read_audio(out / r["path"])
        assert sr == SR and len(y) == SR
    for r in rows[6:]:  # negatives touch no annotation
        s, e = float(r["clip_start_s"]), float(r["clip_end_s"])
        assert all(e <= b or s >= ee for b, ee in EVENTS) and r["Annotation"] == ""
    again = tmp_path / "again"
    make_clips([str(rec), str(table)], str(again), clip_s=1.0, n_negative=4, seed=3, label_column="Annotation")
    assert (again / "labels.csv").read_bytes() == (out / "labels.csv").read_bytes()
    # the positives hold the tones: the strongest bin near 340 Hz is far above the negatives'
    def line(p):
        y, _ = io.read_audio(out / p)
        P = np.abs(np.fft.rfft(y)) ** 2
        return P[335:346].max() / np.median(P)
    assert min(line(r["path"]) for r in rows[:6]) > 10 * max(line(r["path"]) for r in rows[6:])


def test_audacity_labels_and_lfkit_raven_output_are_read(rec, tmp_path):
    lab = tmp_path / "rec.txt"
    lab.write_text("".join(f"{b:.6f}\t{e:.6f}\tship {i}\n\\\t100.000000\t800.000000\n"
                           for i, (b, e) in enumerate(EVENTS)))
    out = tmp_path / "set"
    make_clips([str(rec), str(lab)], str(out), n_negative=0)
    rows = _labels(out)
    assert [r["annotation"] for r in rows] == [f"ship {i}" for i in range(6)] and {r["label"] for r in rows} == {
        "positive"}
    assert len(io.read_audio(out / rows[0]["path"])[0]) == round(0.8 * SR)  # default: the longest annotation
    # a table lfkit score --format raven wrote (several files' columns) reads back as annotations
    table = tmp_path / "scores.txt"
    w = make_writer("raven", band=(100.0, 800.0))
    table.write_bytes(w.encode([{"path": str(rec), "model": "m", "start": b, "end": e, "score": 1.0}
                                for b, e in EVENTS]))
    out2 = tmp_path / "set2"
    make_clips([str(rec), str(table)], str(out2), clip_s=1.0, n_negative=2)
    assert len(_labels(out2)) == 8


@pytest.mark.parametrize("case", ["missing_columns", "past_end", "begin_after_end", "absent_file", "names_other"])
def test_bad_tables_write_nothing(rec, tmp_path, case):
    table = tmp_path / "rec.Table.1.selections.txt"
    inputs = [str(rec), str(table)]
    if case == "missing_columns":
        _raven(table, head=["Selection", "View", "Channel", "Begin Time (s)", "Low Freq (Hz)"])
        want = "no 'End Time (s)' column"
    elif case == "past_end":
        _raven(table, events=EVENTS + [(19.5, 25.0)])
        want = "selection 7: ends at 25 s, past the end of"
    elif case == "begin_after_end":
        _raven(table, events=[(3.0, 2.0)])
        want = "selection 1: begins at 3 s, not before its end (2 s)"
    elif case == "absent_file":
        _raven(table)
        inputs = [str(tmp_path / "gone.wav"), str(table)]
        want = "gone.wav: no such file"
    else:
        table.write_text("Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tBegin File\tFile Offset (s)\n"
                         "1\tSpectrogram 1\t1\t1.0\t2.0\tother.wav\t1.0\n")
        want = "names 'other.wav', which is not among the recordings"
    out = tmp_path / "set"
    with pytest.raises(DataError, match=want.replace("(", r"\(").replace(")", r"\)")):
        make_clips(inputs, str(out), clip_s=1.0)
    assert not out.exists()
    code, _, err = invoke("clips", *inputs, "-o", out, "--clip", "1")
    assert code == 1 and want in one_error_line(err, "clips") and not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == [table.name]  # no folder, no temporary left


def test_clips_folder_trains(rec, tmp_path):
    table = _raven(tmp_path / "rec.Table.1.selections.txt")
    out, model = tmp_path / "set", tmp_path / "m.pt"
    code, _, err = invoke("clips", rec, table, "-o", out, "--clip", "1.0", "--negatives", "6")
    assert code == 0, err
    code, _, err = invoke("train-binary", out, "-o", model, "--epochs", "2", "--batch-size", "4", "-q")
    assert code == 0, err
    assert model.stat().st_size > 0


def test_a_folder_of_recordings_and_tables(rec, tmp_path):
    """A folder gives its recordings and tables (hidden files skipped), the same set as naming them."""
    import shutil

    folder = tmp_path / "season"
    folder.mkdir()
    shutil.copy(rec, folder / "rec.wav")
    _raven(folder / "rec.Table.1.selections.txt")
    (folder / ".rec.wav.swp").write_bytes(b"editor junk")
    a, b = tmp_path / "a", tmp_path / "b"
    make_clips([str(folder)], str(a), clip_s=1.0, n_negative=2, seed=0)
    make_clips([str(folder / "rec.wav"), str(folder / "rec.Table.1.selections.txt")], str(b), clip_s=1.0,
               n_negative=2, seed=0)
    assert (a / "labels.csv").read_bytes() == (b / "labels.csv").read_bytes()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="holds no recordings or selection tables"):
        make_clips([str(empty)], str(tmp_path / "c"))
    assert not (tmp_path / "c").exists()


def test_channel_picks_one_channel_of_a_stereo_recording(rec, tmp_path):
    """--channel cuts that channel (the tones are only in channel 1 here); a channel the file lacks: exit 2."""
    y, sr = io.read_audio(rec)
    stereo = tmp_path / "st.wav"
    io.write_audio(np.stack([np.zeros_like(y), y], axis=1), sr, stereo, subtype="FLOAT")
    table = _raven(tmp_path / "st.Table.1.selections.txt")
    for ch in (0, 1):
        make_clips([str(stereo), str(table)], str(tmp_path / f"c{ch}"), clip_s=1.0, n_negative=0, channel=ch)
    rows = _labels(tmp_path / "c1")
    quiet, loud = (io.read_audio(tmp_path / f"c{ch}" / rows[0]["path"])[0] for ch in (0, 1))
    assert np.abs(quiet).max() == 0 and np.abs(loud).max() > 0
    code, _, err = invoke("clips", str(stereo), str(table), "-o", str(tmp_path / "c5"), "--channel", "5")
    assert code == 2 and "channel=5 is out of range" in one_error_line(err, "clips")
    assert not (tmp_path / "c5").exists()


def test_raven_channel_column_cuts_each_annotation_from_its_channel(rec, tmp_path):
    """The events are only in channel 2 (Raven counts from 1) and the table says so: the clips are that channel,
    not the mean; negatives come from the channel the annotations name; --channel wins for every clip."""
    y, sr = io.read_audio(rec)
    other = io.read_audio(_recording(tmp_path / "other.wav", events=[], seed=1))[0]  # noise, no event
    stereo = tmp_path / "st.wav"
    io.write_audio(np.stack([other, y], axis=1), sr, stereo, subtype="FLOAT")
    table = _raven(tmp_path / "st.Table.1.selections.txt", channel=2)
    code, _, err = invoke("clips", stereo, table, "-o", tmp_path / "own", "--clip", "1", "--negatives", "3")
    assert code == 0, err
    make_clips([str(stereo), str(table)], str(tmp_path / "first"), clip_s=1.0, n_negative=3, channel=0)

    def cut(folder, r):
        return io.read_audio(folder / r["path"])[0]

    def source(channel_data, r):
        s = int(round(float(r["clip_start_s"]) * sr))
        return channel_data[s : s + sr]

    rows = _labels(tmp_path / "own")
    assert [r["label"] for r in rows] == ["positive"] * 6 + ["negative"] * 3
    assert {r["clip_channel"] for r in rows} == {"1"} and {r["Channel"] for r in rows[:6]} == {"2"}
    for r in rows:
        assert np.allclose(cut(tmp_path / "own", r), source(y, r), atol=1e-4)  # channel 2 itself (16-bit)
        assert not np.allclose(cut(tmp_path / "own", r), source((y + other) / 2, r), atol=1e-3)  # not the mean
    first = _labels(tmp_path / "first")
    assert {r["clip_channel"] for r in first} == {"0"}
    assert [r["clip_start_s"] for r in first] == [r["clip_start_s"] for r in rows]  # same times, other channel
    for r in first:
        assert np.allclose(cut(tmp_path / "first", r), source(other, r), atol=1e-4)


@pytest.mark.parametrize("channel,needle", [(3, "selection 1: Channel 3 is out of range"),
                                            ("left", "selection 1: Channel='left' is not a channel number"),
                                            (0, "Channel='0' is not a channel number")])
def test_raven_channel_the_recording_lacks_is_refused(rec, tmp_path, channel, needle):
    table = _raven(tmp_path / "rec.Table.1.selections.txt", channel=channel)
    code, _, err = invoke("clips", rec, table, "-o", tmp_path / "set", "--clip", "1")
    assert code == 1 and needle in one_error_line(err, "clips")
    assert not (tmp_path / "set").exists()
    code, _, err = invoke("clips", rec, table, "-o", tmp_path / "set", "--clip", "1", "--channel", "0")
    assert (code == 0) == (channel == 3), err  # --channel wins over a column it makes moot, not over a malformed one
