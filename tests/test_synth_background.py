"""``lfkit synth --background``: the target's tones in the user's own recordings, SNR measured on the files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from binary_helpers import invoke, one_error_line
from lfkit import io

SR = 16000
N = SR // 2  # 0.5 s clips


def _background(path, n=N, sr=SR, seed=0):
    """Coloured noise with a 50 Hz hum: a stand-in for a user's recording, written as float WAV."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    y = 0.05 * np.cumsum(rng.standard_normal(n)) / np.sqrt(n) + 0.03 * rng.standard_normal(n) + 0.02 * np.sin(
        2 * np.pi * 50 * t)
    y = (y - y.mean()).astype(np.float32)
    io.write_audio(y, sr, path, "FLOAT")
    return y


def _tone_amplitude(r, freq_hz, sr=SR):
    """Least-squares amplitude of a sinusoid at ``freq_hz`` in ``r``."""
    t = np.arange(len(r)) / sr
    M = np.stack([np.sin(2 * np.pi * freq_hz * t), np.cos(2 * np.pi * freq_hz * t)], axis=1)
    (a, b), *_ = np.linalg.lstsq(M, r, rcond=None)
    return float(np.hypot(a, b))


@pytest.mark.parametrize("snr_db", [-20.0, -5.0])
def test_requested_snr_is_hit_against_the_background(snr_db, tmp_path):
    bg = _background(tmp_path / "bg" / "site.wav")  # exactly one clip long: the excerpt is all of it
    out = tmp_path / "clip.wav"
    rc, _, err = invoke("synth", "-o", out, "--tones", "300,1000", "--snr", snr_db, "--sr", SR, "--duration", 0.5,
                        "--background", tmp_path / "bg", "--float")
    assert rc == 0, err
    y, sr = io.read_audio(out)
    assert sr == SR and len(y) == N
    residual = y.astype(np.float64) - bg  # the background keeps its level: what is left is the tones
    for f in (300.0, 1000.0):
        a = _tone_amplitude(residual, f)
        measured = 10 * np.log10((a**2 / 2) / np.var(bg.astype(np.float64)))
        assert measured == pytest.approx(snr_db, abs=0.5)
    t = np.arange(N) / SR
    M = np.stack([f(2 * np.pi * hz * t) for hz in (300.0, 1000.0) for f in (np.sin, np.cos)], axis=1)
    coef, *_ = np.linalg.lstsq(M, residual, rcond=None)
    assert np.max(np.abs(residual - M @ coef)) < 1e-5  # nothing else added, the background not rescaled


def test_binary_set_in_backgrounds_is_seeded_and_recorded(tmp_path):
    _background(tmp_path / "bg" / "a.wav", n=3 * N, seed=1)
    _background(tmp_path / "bg" / "b.flac", n=2 * N, sr=8000, seed=2)  # resampled to --sr
    for name in ("s1", "s2"):
        rc, _, err = invoke("synth", "-o", tmp_path / name, "--positive", "120,340", "--n", 4, "--snr", "-10",
                            "--sr", SR, "--duration", 0.5, "--background", tmp_path / "bg", "--seed", 3)
        assert rc == 0, err
    rows, _ = io.read_labels(tmp_path / "s1")
    assert [r["noise"] for r in rows] == ["background"] * 4
    assert json.loads((tmp_path / "s1" / "synth.json").read_text())["background"] == str(tmp_path / "bg")
    for r in rows:
        assert (tmp_path / "s1" / r["path"]).read_bytes() == (tmp_path / "s2" / r["path"]).read_bytes()


@pytest.mark.parametrize("case, code, words", [
    ("empty", 1, "holds no audio"),
    ("short", 1, "shorter than a clip"),
    ("odd_rate", 1, "cannot be resampled"),
    ("missing", 1, "no such file or directory"),
    ("inside", 2, "inside the background"),
])
def test_bad_background_one_line_exit_code_nothing_written(case, code, words, tmp_path):
    bg = tmp_path / "bg"
    bg.mkdir()
    if case == "short":
        _background(bg / "a.wav", n=N // 2)
    elif case == "odd_rate":
        _background(bg / "a.wav", n=SR, sr=15999)
    elif case == "inside":
        _background(bg / "a.wav")
    before = sorted(p.name for p in bg.iterdir())
    out = bg / "new.wav" if case == "inside" else tmp_path / "clip.wav"
    target = tmp_path / "nowhere" if case == "missing" else bg
    rc, _, err = invoke("synth", "-o", out, "--tones", "300", "--sr", SR, "--duration", 0.5, "--background", target)
    assert rc == code
    assert words in one_error_line(err, "synth")
    assert not out.exists() and sorted(p.name for p in bg.iterdir()) == before
