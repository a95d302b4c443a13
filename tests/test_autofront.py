"""The front end chosen from the data (lfkit.autofront): band, kind and n_fft from labelled clips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_clean_failure
from lfkit.autofront import (
    choose_n_fft,
    class_band,
    f_statistic,
    frontend_flags,
    probe_score,
    select_frontend,
    wants_auto,
)
from lfkit.config import FrontendConfig
from lfkit.errors import ParameterError
from lfkit.modelfile import read_raw

SR = 22050
N = 11025  # 0.5 s


def _clips(tone_hz, n_each=12, snr_db=-12.0, seed=0):
    """White noise; the 'target' clips also hold a tone at ``tone_hz`` (per-tone SNR over the full band)."""
    rng = np.random.default_rng(seed)
    t = np.arange(N) / SR
    A = np.sqrt(2 * 10 ** (snr_db / 10))
    Y, labels = [], []
    for i in range(2 * n_each):
        y = rng.standard_normal(N) * rng.uniform(0.5, 2.0)  # a gain spread: no class difference
        if i < n_each and tone_hz is not None:
            y = y + A * np.sin(2 * np.pi * tone_hz * t + rng.uniform(0, 2 * np.pi)) * np.std(y)
        Y.append(0.2 * y / np.abs(y).max())
        labels.append("target" if i < n_each else "other")
    return np.array(Y, dtype=np.float32), labels


def _write_set(folder: Path, tone_hz, **kw) -> Path:
    from lfkit import io

    Y, labels = _clips(tone_hz, **kw)
    folder.mkdir(parents=True)
    rows = []
    for i, (y, lab) in enumerate(zip(Y, labels)):
        io.write_audio(y, SR, folder / f"c{i:03d}.wav")
        rows.append({"path": f"c{i:03d}.wav", "label": lab})
    io.write_csv(rows, folder / "labels.csv")
    return folder


def test_n_fft_follows_sample_rate_and_clip_length():
    assert choose_n_fft(44100, 44100) == 4096  # today's default at lfkit's rate
    assert choose_n_fft(48000, 48000) == 4096
    assert choose_n_fft(22050, 33075) == 4096  # 1.5 s: 29 frames, 5.4 Hz bins
    assert choose_n_fft(96000, 96000) == 8192  # 85 ms: no coarser than 11.7 Hz per bin
    assert choose_n_fft(16000, 16000) == 2048  # 4096 gives 12 frames
    n_fft = choose_n_fft(44100, 4410)  # 0.1 s: halved until 16 frames
    assert n_fft == 512 and 1 + (4410 - n_fft) // (n_fft // 4) >= 16


def test_f_statistic_is_sklearns_f_classif():
    from sklearn.feature_selection import f_classif

    rng = np.random.default_rng(0)
    F = rng.standard_normal((30, 7))
    y = np.repeat([0, 1, 2], 10)
    F[y == 2, 3] += 2.0
    np.testing.assert_allclose(f_statistic(F, y), f_classif(F, y)[0], rtol=1e-10)


def test_auc_standard_error_is_hanley_mcneil():
    from lfkit.probe import auc_standard_error

    assert auc_standard_error(0.9, 200, 200) == pytest.approx(0.0159, abs=5e-4)
    assert auc_standard_error(0.5, 50, 50) == pytest.approx(np.sqrt(101 / 30000))  # (n1+n2+1)/(12 n1 n2)
    assert auc_standard_error(1.0, 10, 10) == 0.0


def test_probe_separates_what_differs_and_not_noise():
    rng = np.random.default_rng(1)
    F = rng.standard_normal((60, 200))
    y = np.repeat([0, 1], 30)
    assert abs(probe_score(F, y) - 0.5) < 0.2  # nothing to find
    F[y == 1, 17] += 3.0
    assert probe_score(F, y) > 0.95


@pytest.mark.parametrize("tone_hz", [3000.0, 300.0])
def test_the_band_holds_the_tone(tone_hz):
    Y, labels = _clips(tone_hz)
    notes = []
    cfg, report = select_frontend(Y, SR, labels, notice=notes.append)
    assert cfg.n_fft == 2048 and cfg.hop_length == 512
    top = SR / 2 if cfg.fmax is None else cfg.fmax
    assert cfg.fmin <= tone_hz <= top
    lo, hi = report["class_band_hz"]
    assert lo <= tone_hz <= hi
    if tone_hz == 3000.0:  # the band is where the tone is, not the whole spectrum nor today's 0-1000 Hz
        assert hi - lo < 0.2 * SR / 2 and cfg.fmin > 1000.0
    else:  # inside today's band: today's band
        assert (cfg.fmin, cfg.fmax) == (0.0, 1000.0)
    assert [c["kind"] for c in report["candidates"]] == ["log", "whiten", "logmel"] and report["chosen"] is not None
    assert notes[-1].startswith("front end chosen from the data: ")


def test_class_band_is_none_without_a_difference():
    rng = np.random.default_rng(2)
    assert class_band(rng.standard_normal((40, 300)), np.repeat([0, 1], 20), np.arange(300) * 10.0) is None


def test_no_difference_keeps_the_full_band_with_a_notice():
    Y, labels = _clips(None)
    notes = []
    cfg, report = select_frontend(Y, SR, labels, notice=notes.append)
    assert cfg.fmin == 0.0 and cfg.fmax is None and report["class_band_hz"] is None
    assert any("differ in no frequency bin" in n for n in notes)


def test_flags_given_with_auto_are_kept():
    Y, labels = _clips(3000.0)
    cfg, report = select_frontend(Y, SR, labels, {"kind": "auto", "fmax": 5000.0, "n_fft": 1024})
    assert (cfg.fmin, cfg.fmax, cfg.n_fft, cfg.hop_length) == (0.0, 5000.0, 1024, 256)
    cfg, _ = select_frontend(Y, SR, labels, {"kind": "logmel", "n_mels": 32})
    assert cfg.kind == "logmel" and cfg.n_mels == 32
    assert wants_auto({}) and wants_auto({"kind": "auto", "fmax": 1.0}) and not wants_auto({"fmax": 500.0})


def test_too_few_clips_use_the_rule_with_a_notice():
    Y, labels = _clips(3000.0, n_each=2)
    notes = []
    cfg, report = select_frontend(Y, SR, labels, notice=notes.append)
    assert report["reason"].startswith("too few labelled clips") and cfg.n_fft == 2048
    assert notes and notes[0].startswith("front end: too few labelled clips")


def test_one_class_takes_the_band_of_its_own_lines():
    Y, labels = _clips(3000.0, snr_db=-5.0)
    pos = [i for i, lab in enumerate(labels) if lab == "target"]
    cfg, report = select_frontend(Y[pos], SR, ["target"] * len(pos))
    assert cfg.fmin <= 3000.0 <= cfg.fmax and cfg.fmax - cfg.fmin < 0.2 * SR / 2
    assert report["reason"].startswith("one class")


def test_auto_is_no_spectrogram_kind():
    from lfkit.features import spectrogram

    with pytest.raises(ParameterError, match="kind='auto'"):
        spectrogram(np.zeros(4096, np.float32), SR, FrontendConfig(kind="auto"))


def test_model_stores_the_choice_and_spectro_auto_prints_it(tmp_path, lfkit_fast):
    data = _write_set(tmp_path / "set", 3000.0)
    model = tmp_path / "m.pt"
    r = lfkit_fast("train-binary", data, "-o", model, "--positive", "target", "--arch", "logreg")
    assert r.returncode == 0, r.stderr.decode()
    err = r.stderr.decode()
    assert err.count("front end candidate: ") == 3 and "front end chosen from the data: " in err
    doc = read_raw(model)
    sel = doc["training"]["frontend_selection"]
    chosen = sel["candidates"][sel["chosen"]]
    assert doc["frontend"]["kind"] == chosen["kind"] and doc["frontend"]["fmin"] == chosen["fmin"]
    assert doc["frontend"]["fmin"] <= 3000.0 <= doc["frontend"]["fmax"]
    # lfkit spectro --kind auto makes the same choice, and writes with it
    r = lfkit_fast("spectro", "--kind", "auto", data, "-q")
    assert r.returncode == 0 and r.stdout.decode().strip() == frontend_flags(FrontendConfig.from_dict(doc["frontend"]))
    out = tmp_path / "spec"
    r = lfkit_fast("spectro", "--kind", "auto", data, "-o", out, "-q")
    assert r.returncode == 0, r.stderr.decode()
    assert json.loads((out / "frontend.json").read_text())["frontend"] == doc["frontend"]
    # -q silences the candidates
    assert r.stderr == b""


def test_explicit_flags_win(tmp_path, lfkit_fast):
    data = _write_set(tmp_path / "set", 3000.0)
    model = tmp_path / "m.pt"
    r = lfkit_fast("train-binary", data, "-o", model, "--positive", "target", "--arch", "logreg", "--fmax", "2000")
    assert r.returncode == 0, r.stderr.decode()
    assert "front end" not in r.stderr.decode()
    doc = read_raw(model)
    assert doc["frontend"] == FrontendConfig(fmax=2000.0).to_dict()
    assert doc["training"]["frontend_selection"] is None


def test_spectro_auto_refusals(tmp_path, lfkit_fast):
    data = _write_set(tmp_path / "set", 3000.0)
    out = tmp_path / "out"
    for args in (["--kind", "auto", data / "c000.wav", "-o", out],
                 ["--kind", "auto", data, "--chunk", "0.2", "-o", out],
                 ["--kind", "auto", data, data, "-o", out]):
        line = assert_clean_failure(lfkit_fast("spectro", *args), "spectro", codes=(2,))
        assert "kind='auto'" in line or "chunk=" in line
        assert not out.exists()
    spec = tmp_path / "spec"
    assert lfkit_fast("spectro", data, "-o", spec, "-q").returncode == 0
    r = lfkit_fast("train-binary", spec, "-o", tmp_path / "m.pt", "--positive", "target", "--kind", "auto",
                   "--arch", "logreg")
    line = assert_clean_failure(r, "train-binary", codes=(2,))
    assert "kind='auto' chooses the front end from audio" in line
    assert not (tmp_path / "m.pt").exists()


def test_lfkit_synth_data_keep_todays_front_end(tmp_path):
    from binary_helpers import make_set

    from lfkit.data import load_dataset

    data = make_set(tmp_path / "synth", n=24, snr="-20")
    ds = load_dataset(str(data), {}, auto=True, positive="positive")
    assert ds.frontend == FrontendConfig()  # log, n_fft 4096, 0-1000 Hz: ties go to today's default
    assert ds.selection["candidates"][ds.selection["chosen"]]["kind"] == "log"
    ref = load_dataset(str(data), {"kind": "log"})  # the same arrays as with today's flags
    np.testing.assert_allclose(ds.X, ref.X, rtol=1e-6, atol=1e-6)

