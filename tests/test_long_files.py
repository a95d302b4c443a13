"""Long recordings stream block by block: the same records as a materialised run, memory flat in length.

A file longer than ten minutes is read and scored here one block of
``STREAM_BLOCK`` chunks at a time (:func:`lfkit.scoring_stream.stream_long`). The
reference is the materialised path (every block of the file read first,
as short files are), forced by declaring no file long: the bytes must be equal,
for windows, events, a best chunk and a small network scored after short
files (its forward batches then mix the short files' rows with the long
file's). ``tracemalloc`` (numpy's buffers are tracked) checks that the peak
does not grow with the file's length.
"""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from binary_helpers import make_set, train
from lfkit import segments
from lfkit.scoring import score
from lfkit.synth import tone_amplitude

SR = 8000
TONES = (120.0, 340.0, 777.0)
BLOCK_S = segments.STREAM_BLOCK * 0.25  # one block of 0.25 s hops: 64 s
EVENTS = [(10.0, 13.0), (BLOCK_S - 1.5, BLOCK_S + 2.5), (300.0, 304.0), (640.0, 659.5)]


def _write_long(path, duration_s, events, seed=0, nan_at=None, block_s=60.0):
    """Noise plus the target tones over each ``(begin, end)``, written a minute at a time (never whole)."""
    rng = np.random.default_rng(seed)
    a = tone_amplitude(-5.0)
    with sf.SoundFile(str(path), "w", SR, 1, subtype="FLOAT") as f:
        for b0 in np.arange(0.0, duration_s, block_s):
            t = np.arange(int(b0 * SR), int(min(duration_s, b0 + block_s) * SR)) / SR
            y = 0.05 * rng.standard_normal(len(t))
            for b, e in events:
                on = (t >= b) & (t < e)
                for fr in TONES:
                    y[on] += 0.05 * a * np.sin(2 * np.pi * fr * t[on])
            if nan_at is not None and t[0] <= nan_at < t[-1]:
                y[int((nan_at - t[0]) * SR)] = np.nan
            f.write(y.astype(np.float32))
    return str(path)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("long")
    data = make_set(root / "d", n=8, duration_s=1.0, snr="-10", sr=SR)
    from lfkit.config import TrainConfig
    from lfkit.train import train_binary

    train_binary(str(data), str(root / "kt.pt"), "positive", TrainConfig(arch="knowntone"),
                 tones=",".join(f"{t:g}" for t in TONES))
    train(data, root / "cnn.pt", epochs=1)
    ins = root / "in"
    ins.mkdir()
    files = [_write_long(ins / "a.wav", 3.3, [(1.0, 2.0)], seed=1), _write_long(ins / "b.wav", 1.0, [], seed=2),
             _write_long(ins / "c_long.wav", 660.0, EVENTS, seed=3), _write_long(ins / "d.wav", 2.0, [(0.5, 1.5)], seed=4)]
    return root, files


def _both(monkeypatch, tmp_path, models, inputs, **kw):
    """(streamed bytes, materialised bytes) of one scoring run."""
    out = []
    for name, long in (("streamed", None), ("whole", False)):
        with monkeypatch.context() as mp:
            if long is not None:
                mp.setattr(segments, "_is_long", lambda clip, plan: False)
            o = tmp_path / f"{name}.out"
            assert score(models, inputs, str(o), workers=1, **kw) == 0
            out.append(o.read_bytes())
    return out


@pytest.mark.parametrize("model, kw", [
    ("kt.pt", dict(chunk_s=1.0, chunk_hop_s=0.25)),
    ("kt.pt", dict(chunk_s=1.0, chunk_hop_s=0.25, detections=True, fmt="raven")),
    ("kt.pt", dict(chunk_s=1.0, chunk_hop_s=0.25, min_score=0.0, fmt="csv")),
    ("kt.pt", dict()),  # a best chunk per file (chunks of the training length)
    ("cnn.pt", dict(chunk_s=1.0, chunk_hop_s=1.0)),  # forward batches shared with the short files' rows
])
def test_streamed_records_equal_the_materialised_ones(env, tmp_path, monkeypatch, model, kw):
    root, files = env
    streamed, whole = _both(monkeypatch, tmp_path, [str(root / model)], files, **kw)
    assert streamed == whole and len(streamed) > 100


def test_an_event_across_a_block_boundary_is_one_event(env, tmp_path):
    root, files = env
    out = tmp_path / "ev.jsonl"
    score([str(root / "kt.pt")], [files[2]], str(out), chunk_s=1.0, chunk_hop_s=0.25, detections=True)
    events = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(events) == len(EVENTS)
    for ev, (b, e) in zip(events, EVENTS):
        assert abs(ev["start"] - b) <= 0.5 and abs(ev["end"] - e) <= 0.5, (ev, b, e)
    across = [ev for ev in events if ev["windows_start"] < BLOCK_S < ev["windows_end"]]
    assert len(across) == 1 and across[0]["n_windows"] > 10


def test_a_long_file_failing_half_way_writes_only_its_error(env, tmp_path, monkeypatch):
    root, files = env
    bad = _write_long(tmp_path / "bad_long.wav", 620.0, [], seed=5, nan_at=400.0)
    inputs = [files[0], bad, files[3]]
    streamed, whole = _both(monkeypatch, tmp_path, [str(root / "kt.pt")], inputs[:1] + inputs[2:],
                            chunk_s=1.0, chunk_hop_s=0.25)
    out = tmp_path / "s.jsonl"
    assert score([str(root / "kt.pt")], inputs, str(out), chunk_s=1.0, chunk_hop_s=0.25, workers=1) == 1
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    mine = [r for r in recs if r["path"].endswith("bad_long.wav")]
    assert len(mine) == 1 and "NaN or Inf" in mine[0]["error"]
    assert b"".join(x for x in out.read_bytes().splitlines(keepends=True) if b"bad_long" not in x) == streamed


@pytest.mark.parametrize("kw", [dict(), dict(detections=True)])
def test_resume_mid_long_file_gives_the_same_bytes(env, tmp_path, kw):
    """A run killed while writing the long file's records (or just after its events) is finished by --resume."""
    root, files = env
    full = tmp_path / "full.jsonl"
    score([str(root / "kt.pt")], files, str(full), chunk_s=1.0, chunk_hop_s=0.25, **kw)
    lines = full.read_bytes().splitlines(keepends=True)
    long_rows = [i for i, x in enumerate(lines) if b"c_long" in x]
    cut = long_rows[len(long_rows) // 2] if not kw else long_rows[-1] + 1
    out = tmp_path / "s.jsonl"
    (tmp_path / "s.jsonl.partial").write_bytes(b"".join(lines[:cut]) + lines[cut][:10])
    score([str(root / "kt.pt")], files, str(out), chunk_s=1.0, chunk_hop_s=0.25, resume=True, **kw)
    assert out.read_bytes() == full.read_bytes()


def _peak(model, path, out):
    tracemalloc.start()
    try:
        score([model], [path], str(out), chunk_s=1.0, chunk_hop_s=0.5, workers=1)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_file_length(env, tmp_path):
    """Peak traced memory scoring a 48-minute file is within 1.3 times a 12-minute file's (4 times the audio)."""
    root, _ = env
    short = _write_long(tmp_path / "m12.wav", 12 * 60.0, [(100.0, 103.0)], seed=6)
    long = _write_long(tmp_path / "m48.wav", 48 * 60.0, [(100.0, 103.0)], seed=7)
    model = str(root / "kt.pt")
    _peak(model, short, tmp_path / "warm.jsonl")  # imports and caches outside the measurement
    p12 = _peak(model, short, tmp_path / "a.jsonl")
    p48 = _peak(model, long, tmp_path / "b.jsonl")
    n12 = len((tmp_path / "a.jsonl").read_bytes().splitlines())
    n48 = len((tmp_path / "b.jsonl").read_bytes().splitlines())
    assert n48 > 3.9 * n12  # every window written
    assert p48 < 1.3 * p12, f"peak {p48 / 1e6:.1f} MB for 48 min vs {p12 / 1e6:.1f} MB for 12 min"


def test_embed_reads_a_long_file_block_by_block(env, tmp_path):
    """``embed`` reads a long file block by block: its peak grows only by the vectors it returns."""
    from lfkit.embedding import embed

    root, _ = env
    short = _write_long(tmp_path / "e12.wav", 12 * 60.0, [], seed=8)
    long = _write_long(tmp_path / "e48.wav", 48 * 60.0, [], seed=9)
    model = str(root / "kt.pt")

    def peak(path, out):
        tracemalloc.start()
        try:
            embed(model, [path], str(out), chunk_s=1.0, chunk_hop_s=0.5)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(short, tmp_path / "w.npy")
    p12, p48 = peak(short, tmp_path / "a.npy"), peak(long, tmp_path / "b.npy")
    E = np.load(tmp_path / "b.npy")
    assert E.shape[0] == 48 * 60 * 2 - 1
    # the file's vectors are gathered before they are written (E.nbytes, twice while concatenated); the
    # chunks and spectrograms are not (materialised, 48 minutes of 1 s chunks at 0.5 s hops: 184 MB of waveform)
    assert p48 < 1.3 * p12 + 2 * E.nbytes, f"peak {p48 / 1e6:.1f} MB (48 min) vs {p12 / 1e6:.1f} MB (12 min)"
