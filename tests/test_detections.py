"""Detections in long recordings: the min-score filter and windows merged into events.

A knowntone model (no training: it knows the tones) scores synthetic long
files with the target tones inserted at known times; the events found must
begin and end within half a window of the truth.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from binary_helpers import make_set
from lfkit import io
from lfkit.detections import EventMerger, keep_min_score, merge_windows
from lfkit.errors import ParameterError
from lfkit.scoring import run_score, score
from lfkit.synth import tone_amplitude

SR = 8000
TONES = (120.0, 340.0, 777.0)
WINDOW_S, HOP_S = 1.0, 0.25


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("det")
    data = make_set(tmp / "d", n=8, duration_s=1.0, snr="-10", sr=SR)
    m = tmp / "kt.pt"
    from lfkit.config import TrainConfig
    from lfkit.train import train_binary

    train_binary(str(data), str(m), "positive", TrainConfig(arch="knowntone"),
                 tones=",".join(f"{t:g}" for t in TONES))
    return m


def _long_file(path, duration_s, events, snr_db=-5.0, seed=0):
    """Noise with the target tones switched on over each ``(begin, end)`` of ``events`` (s)."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * SR)
    y = rng.standard_normal(n)
    t = np.arange(n) / SR
    a = tone_amplitude(snr_db)
    for b, e in events:
        on = (t >= b) & (t < e)
        for f in TONES:
            y[on] += a * np.sin(2 * np.pi * f * t[on])
    io.write_audio((0.2 * y / np.abs(y).max()).astype(np.float32), SR, path)
    return path


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_events_begin_and_end_within_half_a_window(model, tmp_path):
    truth = {"a.wav": [(3.0, 5.0)], "b.wav": [(1.5, 2.5), (6.0, 8.5)]}
    files = [str(_long_file(tmp_path / n, 10.0, ev, seed=i)) for i, (n, ev) in enumerate(truth.items())]
    out = tmp_path / "ev.jsonl"
    assert score([str(model)], files, str(out), chunk_s=WINDOW_S, chunk_hop_s=HOP_S, detections=True) == 0
    events = _records(out)
    for name, ev in truth.items():
        got = [r for r in events if r["path"].endswith(name)]
        assert len(got) == len(ev), got
        for r, (b, e) in zip(got, ev):
            assert abs(r["start"] - b) < WINDOW_S / 2 and abs(r["end"] - e) < WINDOW_S / 2, (r, b, e)
            assert r["decision"] is True and r["score"] >= r["threshold"] and r["n_windows"] >= 1
            assert r["windows_start"] <= r["start"] < r["end"] <= r["windows_end"]
            # the band of a knowntone model: its tones, one FFT bin either side
            assert r["low_freq_hz"] < min(TONES) and max(TONES) < r["high_freq_hz"] < max(TONES) + 50


def test_default_output_unchanged_and_min_score_filters(model, tmp_path):
    f = str(_long_file(tmp_path / "a.wav", 6.0, [(2.0, 4.0)]))
    plain, same, kept = tmp_path / "p.jsonl", tmp_path / "s.jsonl", tmp_path / "k.jsonl"
    score([str(model)], [f], str(plain), chunk_s=WINDOW_S, chunk_hop_s=HOP_S)
    run_score([str(model)], [f], str(same), chunk_s=WINDOW_S, chunk_hop_s=HOP_S, fmt="jsonl", min_score=None,
              detections=False)
    assert plain.read_bytes() == same.read_bytes()
    windows = _records(plain)
    cut = float(np.median([r["score"] for r in windows]))
    score([str(model)], [f], str(kept), chunk_s=WINDOW_S, chunk_hop_s=HOP_S, min_score=cut)
    assert _records(kept) == [r for r in windows if r["score"] >= cut]
    assert 0 < len(_records(kept)) < len(windows)


def test_merger_rules():
    w = [{"path": "x", "model": "m", "start": s, "end": s + 1.0, "score": sc, "label": "L"}
         for s, sc in zip(np.arange(0, 3.0, 0.5), [0, 2, 2, 0, 2, 0])]
    ev = merge_windows(w, threshold=1.0)
    assert [(e["windows_start"], e["windows_end"], e["n_windows"]) for e in ev] == [(0.5, 2.0, 2), (2.0, 3.0, 1)]
    assert ev[0]["label"] == "L" and ev[0]["score"] == 2
    joined = merge_windows(w, threshold=1.0, gap_s=0.5)
    assert len(joined) == 1 and joined[0]["n_windows"] == 3
    assert EventMerger(1.0).file([{"path": "x", "model": "m", "error": "bad"}]) == [
        {"path": "x", "model": "m", "error": "bad"}]
    assert keep_min_score(w, 1.5) == [r for r in w if r["score"] >= 1.5]
    with pytest.raises(ParameterError, match="threshold"):
        EventMerger(None)
    with pytest.raises(ParameterError, match="gap_s"):
        EventMerger(1.0, gap_s=-1)
