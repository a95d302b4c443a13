"""The benchmark yardsticks themselves: the GUS patch reader, the real-set builder, the independent
tone generator of the robustness suite and the shared baselines, on tiny synthetic data."""

from __future__ import annotations

import csv
import importlib.util
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):
    """A benchmark script as a module under a name no installed package uses."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


B = _load("lfkit_bench_baselines", ROOT / "benchmarks" / "baselines.py")
R = _load("lfkit_bench_robust", ROOT / "benchmarks" / "bench_robust.py")
gus = _load("lfkit_bench_gus", ROOT / "benchmarks" / "real" / "gus.py")
build = _load("lfkit_bench_build", ROOT / "benchmarks" / "real" / "build.py")


def write_patch(path: Path, samples: list) -> None:
    """A GF1 patch of (pcm int16 array, sr, root_hz, loop or None) samples, 16-bit signed."""
    head = b"GF1PATCH110\0" + b"ID#000002\0" + b"\0" * 60 + bytes([1, 14, 0]) + struct.pack("<HHI", 1, 127, 0)
    head += b"\0" * 36
    inst = struct.pack("<H16sIB", 0, b"test", 0, 1) + b"\0" * 40
    layer = struct.pack("<BBIB", 0, 0, 0, len(samples)) + b"\0" * 40
    body = b""
    for pcm, sr, root_hz, loop in samples:
        data = pcm.astype("<i2").tobytes()
        ls, le = (2 * loop[0], 2 * loop[1]) if loop else (0, 0)
        modes = 1 | (4 if loop else 0)
        hdr = b"smp\0\0\0\0" + b"\0" + struct.pack("<IIIHIII", len(data), ls, le, sr, 20000, 20000000,
                                                   int(root_hz * 1000))
        hdr += b"\0" * 2 + b"\0" + b"\0" * 12 + b"\0" * 6 + bytes([modes]) + b"\0" * 4 + b"\0" * 36
        assert len(hdr) == 96
        body += hdr + data
    data = head + inst + layer + body
    assert len(head) == 129 and len(inst) == 63 and len(layer) == 47
    path.write_bytes(data)


def sine_pcm(freq_hz: float, sr: int, n: int) -> np.ndarray:
    return np.round(20000 * np.sin(2 * np.pi * freq_hz * np.arange(n) / sr)).astype(np.int16)


def peak_hz(y: np.ndarray, sr: int) -> float:
    P = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
    return float(np.fft.rfftfreq(len(y), 1 / sr)[np.argmax(P)])


def test_gus_reader_and_render_hit_the_requested_pitch(tmp_path):
    # a 440 Hz recording with a loop of exactly 100 periods at 44.1 kHz
    write_patch(tmp_path / "a.pat", [(sine_pcm(441.0, 44100, 20000), 44100, 441.0, (1000, 11000))])
    (s,) = gus.read_patch(tmp_path / "a.pat")
    assert s.sr == 44100 and s.root_hz == pytest.approx(441.0) and s.loop == (1000, 11000)
    assert np.max(np.abs(s.y)) == pytest.approx(20000 / 32768, abs=1e-4)
    y = gus.render_note(s, 220.5, 22050, 22050 * 3)       # longer than the recording: the loop repeats
    assert np.abs(y[-4000:]).max() > 0.5                  # still sounding at the end
    assert peak_hz(y, 22050) == pytest.approx(220.5, abs=0.5)


def test_gus_reader_refuses_other_files(tmp_path):
    (tmp_path / "x.pat").write_bytes(b"RIFF" + b"\0" * 300)
    with pytest.raises(ValueError, match="not a GF1 patch"):
        gus.read_patch(tmp_path / "x.pat")


@pytest.fixture
def instruments(tmp_path, monkeypatch):
    """A fake freepats folder: harmonic 'instruments' with 1 or 2 recordings each."""
    folder = tmp_path / "pats"
    folder.mkdir()
    for i, name in enumerate(["tgt", "s1", "s2", "u1"]):
        recs = []
        for root in ([200.0, 240.0] if name != "u1" else [220.0]):
            n = 30000
            t = np.arange(n) / 44100
            y = sum(np.sin(2 * np.pi * k * root * t) / k ** (1 + 0.3 * i) for k in range(1, 6))
            recs.append(((18000 * y / np.abs(y).max()).astype(np.int16), 44100, root, (2000, 2000 + int(
                round(44100 / root * 40)))))
        write_patch(folder / f"{name}.pat", recs)
    monkeypatch.setattr(build, "FREEPATS", folder)
    monkeypatch.setattr(build, "DESIGNS", {"toy": ("tgt", 220.0, ("s1", "s2"), ("u1",), None)})
    return folder


def test_binary_set_builder_labels_splits_and_snr(instruments):
    train, test = build.binary_sets("toy", quick=True, rng=np.random.default_rng(0))
    assert len(train) == 144 and len(test) == 160
    for clips in (train, test):
        assert sum(c["label"] == "positive" for c in clips) * 2 == len(clips)
        assert all(len(c["y"]) == int(build.SR * build.DURATION_S) for c in clips)
        assert np.max(np.abs(clips[0]["y"])) == pytest.approx(build.PEAK)
    # sources never seen in training appear only in the test set
    assert {c["source"] for c in train} == {"tgt", "s1", "s2"}
    assert {c["source"] for c in test if c["group"] == "other_unseen"} == {"u1"}
    # split by recording: a 2-recording source uses different recordings in train and test
    rec = {split: {c["recording"] for c in clips if c["source"] == "tgt"} for split, clips in
           (("train", train), ("test", test))}
    assert rec["train"].isdisjoint(rec["test"])
    # hard negatives sit 1-4 semitones from the target note, and every SNR is in the test set
    shifted = [c for c in test if c["group"] == "shifted"]
    assert {abs(c["semitones"]) for c in shifted} <= {1, 2, 3, 4}
    assert all(c["note_hz"] == pytest.approx(220 * 2 ** (c["semitones"] / 12), abs=0.01) for c in shifted)
    assert sorted({c["snr_db"] for c in test}) == sorted(build.SNRS)


def test_render_pitch_and_full_band_snr(instruments):
    src = build.Source("tgt")
    y, _ = src.render(261.63, "test", np.random.default_rng(1))
    assert peak_hz(y, build.SR) == pytest.approx(261.63, rel=0.01)      # detune is at most 10 cents
    x = build.add_noise(y, -10.0, np.random.default_rng(2))
    alpha = x @ y / (y @ y)                                              # undo the peak scaling
    snr = 10 * np.log10(alpha**2 * np.mean(y**2) / np.var(x - alpha * y))
    assert snr == pytest.approx(-10.0, abs=0.3)


def test_write_set_is_an_lfkit_dataset_and_keeps_foreign_folders(instruments, tmp_path):
    import soundfile as sf

    clips = build.binary_sets("toy", quick=True, rng=np.random.default_rng(0))[0][:3]
    build.write_set(tmp_path / "set", clips)
    rows = list(csv.DictReader(open(tmp_path / "set" / "labels.csv")))
    assert [r["label"] for r in rows] == [c["label"] for c in clips]
    info = sf.info(str(tmp_path / "set" / rows[0]["path"]))
    assert (info.samplerate, info.channels, info.subtype) == (build.SR, 1, "PCM_16")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("user data")
    with pytest.raises(SystemExit, match="not a dataset"):
        build.write_set(mine, clips)
    assert (mine / "keep.txt").read_text() == "user data"


@pytest.mark.parametrize("snr_db", [-20.0, -10.0])
def test_independent_generator_per_tone_snr(snr_db):
    x = R.tone_clip([500.0], snr_db, 48000, "white", np.random.default_rng(3), duration_s=4.0,
                    jitter_hz=0.0, gain_db=0.0)
    assert x.shape == (192000, 2)
    m = x.mean(1)
    F = np.fft.rfft(m) / len(m)
    k = int(round(500 * 4.0))                           # exact bin of 500 Hz
    A = 2 * abs(F[k])
    noise_var = np.var(m - A * np.cos(2 * np.pi * 500 * np.arange(len(m)) / 48000 + np.angle(F[k])))
    assert 10 * np.log10((A**2 / 2) / noise_var) == pytest.approx(snr_db, abs=0.5)


def test_independent_generator_jitter_and_noise_colours():
    rng = np.random.default_rng(4)
    x = R.tone_clip([300.0], 20.0, 44100, "white", rng, duration_s=2.0, gain_db=0.0)
    assert abs(peak_hz(x.mean(1), 44100) - 300.0) <= R.JITTER_HZ + 0.5
    from scipy.signal import welch

    slopes = {}
    for kind in R.NOISES:
        f, P = welch(R.colored_noise(kind, 2**18, rng), fs=44100, nperseg=8192)
        sel = (f >= 100) & (f <= 3200)
        slopes[kind] = np.polyfit(np.log2(f[sel]), 10 * np.log10(P[sel]), 1)[0]      # dB per octave
    assert slopes["white"] == pytest.approx(0.0, abs=0.5)
    assert slopes["pink"] == pytest.approx(-3.0, abs=0.5)
    assert slopes["brown"] == pytest.approx(-6.0, abs=0.7)
    with pytest.raises(ValueError, match="noise='blue'"):
        R.colored_noise("blue", 100, rng)


def test_negative_tones_keep_clear_of_the_target():
    rng = np.random.default_rng(5)
    for _ in range(50):
        tones, shared = R.negative_tones(rng)
        own = [t for t in tones if t not in R.TARGET_HZ]
        assert all(min(abs(t - p) for p in R.TARGET_HZ) >= 15 for t in own)
        assert sum(t in R.TARGET_HZ for t in tones) == shared


def test_power_spectrogram_matches_librosa():
    librosa = pytest.importorskip("librosa")
    y = np.random.default_rng(6).standard_normal(5000)
    S = B.power_spectrogram(y, 512, 128)
    ref = np.abs(librosa.stft(y, n_fft=512, hop_length=128, center=False)) ** 2
    assert S.shape == (257, 1 + (5000 - 512) // 128) and np.allclose(S, ref, rtol=1e-6, atol=1e-9)


def toy_tones(freqs, n, rng, sr=8000, snr_db=-5.0):
    t = np.arange(sr) / sr
    return [np.sqrt(2 * 10 ** (snr_db / 10)) * np.sin(2 * np.pi * (f + rng.uniform(-2, 2)) * t)
            + rng.standard_normal(sr) for f in freqs for _ in range(n)]


def test_linear_baselines_and_pca_novelty_separate_a_toy_set():
    rng = np.random.default_rng(7)
    Y_tr, Y_te = toy_tones([300, 500], 20, rng), toy_tones([300, 500], 10, rng)
    y_tr, y_te = np.repeat([1, 0], 20), np.repeat([1, 0], 10)
    X_tr, X_te = B.mean_log_spectrum(Y_tr, 8000, fmax=1000), B.mean_log_spectrum(Y_te, 8000, fmax=1000)
    s, alpha = B.ridge_scores(X_tr, y_tr, X_te)
    assert B.auc(y_te, s) == 1.0 and alpha in B.ALPHAS
    s, C = B.logistic_scores(B.mean_logmel(Y_tr, 8000), y_tr, B.mean_logmel(Y_te, 8000))
    assert B.auc(y_te, s) > 0.95 and C in B.CS
    s, k = B.pca_novelty_scores(X_tr[y_tr == 1], X_te)
    assert B.auc(y_te, s) > 0.95 and 1 <= k < X_tr.shape[1]


def test_whitened_spectrum_and_nearest_centroid():
    rng = np.random.default_rng(8)
    W = B.whitened_mean_spectrum(toy_tones([250], 1, rng, snr_db=0.0), 8000, n_fft=1024, hop_length=256)
    assert np.argmax(W[0]) == round(250 * 1024 / 8000)
    assert abs(np.median(W[0])) < 0.5                    # the floor is flat at 0 dB
    ids = {"a": 200, "b": 400, "c": 600}
    enroll = [(n, y) for n, f in ids.items() for y in toy_tones([f], 3, rng)]
    test = [(n, y) for n, f in ids.items() for y in toy_tones([f], 2, rng)]
    F = lambda Y: B.whitened_mean_spectrum(Y, 8000, n_fft=1024, hop_length=256)  # noqa: E731
    pred = B.nearest_centroid(F([y for _, y in enroll]), [n for n, _ in enroll], F([y for _, y in test]))
    assert pred == [n for n, _ in test]


def test_band_referenced_snr_equalises_the_colours_at_the_tones():
    from scipy.signal import welch

    rng = np.random.default_rng(9)
    dens = {}
    for kind in R.NOISES:
        x = R.tone_clip([], -30.0, 44100, kind, rng, duration_s=4.0, snr_ref="band").mean(1)
        f, P = welch(x, fs=44100, nperseg=8192)
        dens[kind] = 10 * np.log10(P[(f >= 20) & (f <= 1000)].mean() / (2 / 44100))
    assert dens["white"] == pytest.approx(0.0, abs=0.5)
    assert dens["pink"] == pytest.approx(0.0, abs=0.7) and dens["brown"] == pytest.approx(0.0, abs=0.7)
    assert R.band_gain("pink", 44100) > 3.0                # full-band variance hides most of pink's low end
    with pytest.raises(ValueError, match="snr_ref='local'"):
        R.tone_clip([], 0.0, 8000, "white", rng, snr_ref="local")
