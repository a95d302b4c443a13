"""The one read path: ReadPlan, io's chunk-block reader and --channel on every command that reads audio."""

from __future__ import annotations

import numpy as np
import pytest

from binary_helpers import invoke, jsonl, one_error_line, shared
from lfkit import features, io
from lfkit.errors import ParameterError
from lfkit.segments import ReadPlan


@pytest.fixture(scope="module")
def sh(tmp_path_factory):
    return shared(tmp_path_factory)


@pytest.fixture(scope="module")
def stereo(sh, tmp_path_factory):
    """A stereo file: channel 0 a negative clip (noise), channel 1 a positive one (tones); and the two mono files."""
    rows, _ = io.read_labels(sh.data)
    pos = next(r["_file"] for r in rows if r["label"] == "positive")
    neg = next(r["_file"] for r in rows if r["label"] != "positive")
    (yp, sr), (yn, _) = io.read_audio(pos), io.read_audio(neg)
    n = min(len(yp), len(yn))
    tmp = tmp_path_factory.mktemp("stereo")
    io.write_audio(np.stack([yn[:n], yp[:n]], axis=1), sr, tmp / "st.wav")
    io.write_audio(yn[:n], sr, tmp / "ch0.wav")
    io.write_audio(yp[:n], sr, tmp / "ch1.wav")
    return tmp


def _scores(model, path, *flags):
    rc, out, err = invoke("score", model, path, *flags)
    assert rc == 0, err
    return [r["score"] for r in jsonl(out.decode())]


@pytest.mark.parametrize("flags", [(), ("--chunk", "0.25")])
def test_score_channel_reads_that_channel_only(sh, stereo, flags):
    s0 = _scores(sh.model, stereo / "st.wav", "--channel", "0", *flags)
    s1 = _scores(sh.model, stereo / "st.wav", "--channel", "1", *flags)
    assert s0 != s1 and max(s1) > max(s0)  # the tones live in channel 1
    assert s0 == _scores(sh.model, stereo / "ch0.wav", *flags)
    assert s1 == _scores(sh.model, stereo / "ch1.wav", *flags)


def test_score_without_channel_averages_as_before(sh, stereo):
    y0, sr = io.read_audio(stereo / "ch0.wav")
    y1, _ = io.read_audio(stereo / "ch1.wav")
    st, _ = io.read_audio(stereo / "st.wav")
    assert np.array_equal(st, np.stack([y0, y1], axis=1).mean(axis=1, dtype=np.float32))
    assert _scores(sh.model, stereo / "st.wav") not in (_scores(sh.model, stereo / "ch0.wav"),
                                                        _scores(sh.model, stereo / "ch1.wav"))


def test_embed_channel(sh, stereo, tmp_path):
    rc, _, err = invoke("embed", sh.model, stereo / "st.wav", "--channel", "1", "-o", tmp_path / "a.npy")
    assert rc == 0, err
    rc, _, err = invoke("embed", sh.model, stereo / "ch1.wav", "-o", tmp_path / "b.npy")
    assert rc == 0, err
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


def test_a_channel_the_file_lacks_is_that_files_error(sh, stereo, tmp_path):
    out = tmp_path / "s.jsonl"
    rc, _, err = invoke("score", sh.model, stereo / "st.wav", stereo / "ch1.wav", "--channel", "1", "-o", out)
    assert rc == 1 and "channel=1 is out of range" in err and "ch1.wav has 1 channel(s)" in err
    recs = jsonl(out.read_text())
    assert "score" in recs[0] and "error" not in recs[0]
    assert "channel=1 is out of range" in recs[1]["error"] and "score" not in recs[1]


def test_a_negative_channel_is_a_parameter_error(sh, stereo, tmp_path):
    rc, stdout, err = invoke("score", sh.model, stereo / "st.wav", "--channel", "-1", "-o", tmp_path / "s.jsonl")
    assert rc == 2 and stdout == b"" and "channel=-1" in one_error_line(err, "score")
    assert not (tmp_path / "s.jsonl").exists()
    with pytest.raises(ParameterError, match="channel=True"):
        ReadPlan(channel=True)


@pytest.mark.parametrize("channel", [None, 0, 1])
def test_chunk_blocks_equal_chunking_the_whole_file(stereo, channel):
    y, sr = io.read_audio(stereo / "st.wav", channel=channel)
    Y, starts, ends = features.chunk(y, sr, 0.1, 0.03)
    got = list(io.audio_chunk_blocks(stereo / "st.wav", 0.1, 0.03, 5, channel))
    assert [len(b[2]) for b in got[:-1]] == [5] * (len(got) - 1) and all(b[3] == sr for b in got)
    assert np.array_equal(np.concatenate([b[2] for b in got]), np.asarray(Y))
    assert np.allclose(np.concatenate([b[0] for b in got]), starts)
    assert np.allclose(np.concatenate([b[1] for b in got]), ends)


@pytest.fixture(scope="module")
def stereo_set(sh, tmp_path_factory):
    """``sh.small`` with every clip in channel 1 and a quiet tone-free channel 0 (same labels.csv)."""
    import shutil

    tmp = tmp_path_factory.mktemp("stereo_set")
    shutil.copy(sh.small / "labels.csv", tmp / "labels.csv")
    rows, _ = io.read_labels(sh.small)
    rng = np.random.default_rng(0)
    for r in rows:
        y, sr = io.read_audio(r["_file"])
        dest = tmp / r["path"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        io.write_audio(np.stack([0.01 * rng.standard_normal(len(y)).astype(np.float32), y], axis=1), sr, dest)
    return tmp


@pytest.mark.parametrize("kind", ["spectrogram", "waveform"])
def test_training_reads_the_channel_asked_for(sh, stereo_set, kind):
    from lfkit.data import load_dataset

    mono = load_dataset(str(sh.small), kind=kind)
    one = load_dataset(str(stereo_set), kind=kind, channel=1)
    mean = load_dataset(str(stereo_set), kind=kind)
    assert np.array_equal(one.X, mono.X) and one.labels == mono.labels
    assert not np.array_equal(mean.X, mono.X)


@pytest.mark.parametrize("command", ["train-binary", "train-oneclass", "train-siamese", "embed", "spectro"])
def test_every_reading_command_refuses_a_negative_channel(sh, stereo_set, tmp_path, command):
    args = [sh.model, stereo_set] if command == "embed" else [stereo_set]
    rc, stdout, err = invoke(command, *args, "-o", tmp_path / "out.npy", "--channel", "-1")
    assert rc == 2 and "channel=-1" in one_error_line(err, command)
    assert list(tmp_path.iterdir()) == []
