"""``lfkit synth``: the generator's promises, checked on the files it writes.

SNR, peak and frequencies are measured back from the WAV bytes with analytic
estimators (a least-squares sine/cosine fit at each known frequency), not
taken from the generator's own variables.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lfkit.config import SynthConfig
from lfkit.synth import MIN_TONE_SEPARATION_HZ, synthesize

SR = 44100
TONES = (120.0, 340.0, 777.0)
LABEL_COLUMNS = ["path", "label", "snr_db", "tones", "noise", "shared"]


# ----------------------------------------------------------------------------- helpers


def fit_tones(y: np.ndarray, sr: int, freqs) -> tuple[np.ndarray, float]:
    """Least-squares amplitudes of sinusoids at ``freqs`` (Hz) and the residual's variance."""
    t = np.arange(len(y)) / sr
    X = np.column_stack([f(2 * np.pi * fr * t) for fr in freqs for f in (np.sin, np.cos)])
    coef = np.linalg.solve(X.T @ X, X.T @ y)
    amps = np.hypot(coef[0::2], coef[1::2])
    return amps, float(np.var(y - X @ coef))


def measured_snr_db(y: np.ndarray, sr: int, freqs) -> np.ndarray:
    """Per-tone SNR ``10*log10((A**2/2)/sigma**2)`` measured on ``y``."""
    amps, noise_var = fit_tones(y, sr, freqs)
    return 10 * np.log10(amps**2 / 2 / noise_var)


def read_wav(path_or_bytes):
    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
    y, sr = sf.read(src, dtype="float64")
    return y, sr


def read_rows(folder) -> list[dict]:
    with open(Path(folder) / "labels.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def parse_tones(text: str) -> list[float]:
    return [float(x) for x in text.split(";")]


def peak_freq(y: np.ndarray, sr: int, fmax: float = 2000.0, pad: int = 1) -> float:
    """Frequency (Hz) of the largest FFT bin below ``fmax`` (Hann window, zero-padded ``pad`` times)."""
    n = len(y) * pad
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y)), n))
    freqs = np.fft.rfftfreq(n, 1 / sr)
    band = (freqs > 5) & (freqs < fmax)
    return float(freqs[band][np.argmax(spec[band])])


def clip(tmp_path, **kw) -> np.ndarray:
    """One clip written by :func:`synthesize` to a WAV, read back."""
    snr = kw.pop("snr", "-10")
    seed = kw.pop("seed", 0)
    tones = kw.pop("tones", "120,340,777")
    subtype = kw.pop("subtype", "PCM_16")
    f = tmp_path / "clip.wav"
    synthesize(str(f), SynthConfig(**kw), snr=str(snr), seed=seed, tones=tones, subtype=subtype)
    return read_wav(f)[0]


# ----------------------------------------------------------------------------- SNR, frequency, scale


@pytest.mark.parametrize(
    "noise,snr_db",
    [("white", -10), ("white", -30), ("pink", -10), ("pink", -20), ("brown", -10), ("brown", -20)],
)
def test_measured_snr_equals_request(tmp_path, noise, snr_db):
    """Over 30 seeds the per-tone SNR measured on the 16-bit WAV is the requested one (mean within 0.3 dB)."""
    errors = []
    for seed in range(30):
        f = tmp_path / "c.wav"
        synthesize(str(f), SynthConfig(noise=noise), snr=str(snr_db), seed=seed, tones="120,340,777")
        assert sf.info(str(f)).subtype == "PCM_16"
        y, sr = read_wav(f)
        assert sr == SR and len(y) == SR
        errors.append(measured_snr_db(y, sr, TONES) - snr_db)
    mean_error = np.mean(errors, axis=0)
    assert np.all(np.abs(mean_error) < 0.3), f"mean error per tone {mean_error} dB"


def test_snr_column_of_a_set_is_what_the_clips_hold(tmp_path):
    """``--snr LO:HI``: each positive clip's measured SNR follows its own ``snr_db`` row."""
    out = tmp_path / "set"
    synthesize(str(out), SynthConfig(), snr="-14:-6", seed=3, positive="120,340,777", n=16, positive_only=True)
    rows = read_rows(out)
    drawn = [float(r["snr_db"]) for r in rows]
    assert len(set(drawn)) > 10 and all(-14 <= s <= -6 for s in drawn)
    errors = [measured_snr_db(read_wav(out / r["path"])[0], SR, TONES).mean() - float(r["snr_db"]) for r in rows]
    assert abs(np.mean(errors)) < 0.3 and np.max(np.abs(errors)) < 1.0, errors


@pytest.mark.parametrize("freq", [55.0, 120.0, 777.0, 3000.0, 15000.0])
def test_tone_peak_bin_sits_at_its_frequency(tmp_path, freq):
    y = clip(tmp_path, tones=f"{freq:g}", snr=0)
    spec = np.abs(np.fft.rfft(y))  # 1 s clip: bins are 1 Hz apart
    assert np.argmax(spec[1:]) + 1 == int(freq)


def test_three_strongest_bins_are_the_three_tones(tmp_path):
    y = clip(tmp_path, snr=-10)
    spec = np.abs(np.fft.rfft(y))
    assert sorted(np.argsort(spec)[-3:].tolist()) == [120, 340, 777]


@pytest.mark.parametrize("noise", ["white", "pink", "brown"])
def test_clip_is_scaled_to_peak_0_9(tmp_path, noise):
    y = clip(tmp_path, noise=noise, snr=-30, duration_s=0.2)
    assert len(y) == round(0.2 * SR)
    assert np.max(np.abs(y)) == pytest.approx(0.9, abs=1.5 / 32768)


def test_noise_colours_differ_in_spectral_tilt(tmp_path):
    """White is flat, pink falls ~3 dB/octave, brown ~6 dB/octave (power below 1 kHz vs 4-8 kHz)."""
    ratios = {}
    for noise in ("white", "pink", "brown"):
        y = clip(tmp_path, noise=noise, snr=-60, tones="5000")
        p = np.abs(np.fft.rfft(y)) ** 2
        ratios[noise] = 10 * np.log10(p[100:1000].mean() / p[4000:8000].mean())
    assert abs(ratios["white"]) < 1.0
    assert 10 < ratios["pink"] < 25  # ~ 10*log10(6000/550) = 10.4 dB for 1/f, more near 100 Hz
    assert ratios["brown"] > ratios["pink"] + 10


# ----------------------------------------------------------------------------- seeds


def test_same_seed_same_bytes_single_clip(lfkit, tmp_path):
    args = ["synth", "--tones", "120,340,777", "--snr", "-30", "--duration", "0.2", "--seed", "7"]
    a = lfkit(*args)
    b = lfkit(*args, "-o", tmp_path / "b.wav")
    c = lfkit(*args[:-1], "8")
    assert a.returncode == b.returncode == c.returncode == 0
    assert a.stdout[:4] == b"RIFF" and a.stdout == (tmp_path / "b.wav").read_bytes()  # pipe == file
    assert a.stdout != c.stdout
    assert a.stderr == b"" and c.stderr == b""


def test_same_seed_same_bytes_whole_set(lfkit_fast, tmp_path):
    args = ["synth", "--positive", "120,340,777", "--n", "6", "--duration", "0.1", "--snr", "-35:-20"]
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        assert lfkit_fast(*args, "-o", tmp_path / name, "--seed", seed).returncode == 0
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert {"labels.csv", "signatures.json", "synth.json", ".lfkit.json"} <= set(files) and len(files) == 10
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    differ = [n for n in files if n.endswith(".wav") and (tmp_path / "a" / n).read_bytes() != (tmp_path / "c" / n).read_bytes()]
    assert len(differ) == 6


# ----------------------------------------------------------------------------- sets


def test_binary_set_layout(lfkit_fast, tmp_path):
    out = tmp_path / "train"
    proc = lfkit_fast("synth", "-o", out, "--positive", "120,340,777", "--n", "20", "--snr", "-35:-20",
                 "--duration", "0.1", "--seed", "0")
    assert proc.returncode == 0 and proc.stdout == b"" and proc.stderr == b""
    with open(out / "labels.csv", newline="") as fh:
        assert next(csv.reader(fh)) == LABEL_COLUMNS
    rows = read_rows(out)
    pos = [r for r in rows if r["label"] == "positive"]
    neg = [r for r in rows if r["label"] == "negative"]
    assert len(pos) == len(neg) == 10 and len(rows) == 20
    for r in rows:
        assert -35 <= float(r["snr_db"]) <= -20 and r["noise"] == "white"
        info = sf.info(str(out / r["path"]))
        assert (info.samplerate, info.frames, info.channels, info.subtype) == (SR, 4410, 1, "PCM_16")
    assert len({r["snr_db"] for r in rows}) > 10  # drawn per clip
    for r in pos:
        assert parse_tones(r["tones"]) == list(TONES) and r["shared"] == "0"
    shares = []
    for r in neg:
        tones = parse_tones(r["tones"])
        shared = [f for f in tones if f in TONES]
        own = [f for f in tones if f not in TONES]
        assert int(r["shared"]) == len(shared)
        assert 1 <= len(tones) <= 10 and tones == sorted(tones)
        assert all(20 <= f <= 1000 for f in own)
        assert all(abs(f - p) >= MIN_TONE_SEPARATION_HZ for f in own for p in TONES)
        assert set(tones) != set(TONES)
        shares.append(len(shared))
    assert sum(s in (1, 2) for s in shares) == 5 and shares.count(0) == 5  # half share one or two
    assert json.loads((out / "signatures.json").read_text()) == {"positive": list(TONES)}
    meta = json.loads((out / "synth.json").read_text())
    assert meta["seed"] == 0 and meta["snr"] == [-35.0, -20.0] and meta["synth"]["duration_s"] == 0.1


def test_label_name_and_positive_only(lfkit_fast, tmp_path):
    common = ["--positive", "120,340,777", "--n", "4", "--duration", "0.1"]
    assert lfkit_fast("synth", "-o", tmp_path / "a", *common, "--label", "hum").returncode == 0
    assert sorted(r["label"] for r in read_rows(tmp_path / "a")) == ["hum", "hum", "negative", "negative"]
    assert json.loads((tmp_path / "a" / "signatures.json").read_text()) == {"hum": list(TONES)}
    assert lfkit_fast("synth", "-o", tmp_path / "b", *common, "--positive-only").returncode == 0
    rows = read_rows(tmp_path / "b")
    assert [r["label"] for r in rows] == ["positive"] * 4
    assert all(parse_tones(r["tones"]) == list(TONES) for r in rows)


def test_multiclass_set(lfkit_fast, tmp_path):
    out = tmp_path / "multi"
    proc = lfkit_fast("synth", "-o", out, "--classes", "3", "--n", "4", "--duration", "0.1", "--seed", "0")
    assert proc.returncode == 0, proc.stderr
    rows = read_rows(out)
    sigs = json.loads((out / "signatures.json").read_text())
    assert list(sigs) == ["sig00", "sig01", "sig02"]
    assert [r["label"] for r in rows] == [s for s in sigs for _ in range(4)]
    for r in rows:
        assert parse_tones(r["tones"]) == sigs[r["label"]]
        assert (out / r["path"]).is_file()
    for tones in sigs.values():
        assert 1 <= len(tones) <= 10 and all(20 <= f <= 1000 for f in tones)
    assert len({tuple(t) for t in sigs.values()}) == 3


def test_signatures_file(lfkit_fast, tmp_path):
    spec = {"hum": [50.0, 100.0, 150.0], "whistle": [900.0]}
    (tmp_path / "sigs.json").write_text(json.dumps(spec))
    out = tmp_path / "named"
    proc = lfkit_fast("synth", "-o", out, "--signatures", tmp_path / "sigs.json", "--n", "3", "--duration", "0.1")
    assert proc.returncode == 0, proc.stderr
    rows = read_rows(out)
    assert [r["label"] for r in rows] == ["hum"] * 3 + ["whistle"] * 3
    assert all(parse_tones(r["tones"]) == spec[r["label"]] for r in rows)
    assert json.loads((out / "signatures.json").read_text()) == spec


def test_float_wav(lfkit_fast, tmp_path):
    proc = lfkit_fast("synth", "--tones", "440", "--duration", "0.1", "--float")
    assert proc.returncode == 0
    info = sf.info(io.BytesIO(proc.stdout))
    assert info.subtype == "FLOAT"
    y, _ = sf.read(io.BytesIO(proc.stdout), dtype="float32")
    assert np.max(np.abs(y)) == pytest.approx(0.9, rel=1e-6)
    out = tmp_path / "fset"
    assert lfkit_fast("synth", "-o", out, "--positive", "440", "--n", "2", "--duration", "0.1", "--float").returncode == 0
    assert {sf.info(str(p)).subtype for p in out.glob("*.wav")} == {"FLOAT"}


def test_random_tones_lie_in_20_to_1000_hz(tmp_path):
    """Without --tones a clip holds 1 to 10 tones in 20-1000 Hz: at high SNR nothing peaks elsewhere."""
    for seed in range(5):
        y = clip(tmp_path, tones=None, snr=10, seed=seed)
        spec = np.abs(np.fft.rfft(y))
        strong = np.flatnonzero(spec > 0.2 * spec.max())
        assert 1 <= len(strong) <= 10 * 3 and strong.min() >= 19 and strong.max() <= 1001, strong


# ----------------------------------------------------------------------------- realism knobs


KNOBS = {"--harmonics": "1", "--drift-hz": "20", "--jitter-hz": "5", "--gain-spread-db": "3"}


@pytest.fixture(scope="module")
def plain_clip(lfkit_fast):
    return lfkit_fast("synth", "--tones", "300", "--snr", "0", "--duration", "0.2", "--seed", "1").stdout


@pytest.mark.parametrize("flag", sorted(KNOBS))
def test_each_knob_is_off_by_default_and_changes_the_clip(lfkit_fast, plain_clip, flag):
    base = ["synth", "--tones", "300", "--snr", "0", "--duration", "0.2", "--seed", "1"]
    assert lfkit_fast(*base, flag, "0").stdout == plain_clip  # 0 = the default = off
    knob = lfkit_fast(*base, flag, KNOBS[flag])
    assert knob.returncode == 0 and knob.stdout != plain_clip


def test_harmonics_put_a_tone_at_2f(tmp_path):
    off = measured_snr_db(clip(tmp_path, tones="300", snr=0), SR, [600.0])[0]
    on = measured_snr_db(clip(tmp_path, tones="300", snr=0, harmonics=1), SR, [300.0, 600.0])
    assert off < -30  # nothing there but noise
    assert on[0] == pytest.approx(0.0, abs=0.5)
    assert on[1] == pytest.approx(-20 * np.log10(2), abs=0.5)  # amplitude A / 2


def test_drift_moves_the_peak_within_its_bound(tmp_path):
    def start_end_shift(**kw):
        y = clip(tmp_path, tones="300", snr=20, **kw)
        q = len(y) // 4
        return peak_freq(y[-q:], SR, pad=16) - peak_freq(y[:q], SR, pad=16)  # 0.75 s apart

    plain = [start_end_shift(seed=s) for s in range(4)]
    drift = [start_end_shift(seed=s, drift_hz=40) for s in range(4)]
    assert max(map(abs, plain)) < 1.0
    assert max(map(abs, drift)) > 8.0 and max(map(abs, drift)) <= 0.75 * 40 + 2.0, drift


def test_jitter_offsets_the_tone(tmp_path):
    plain = [peak_freq(clip(tmp_path, tones="300", snr=10, seed=s), SR, pad=4) for s in range(6)]
    jit = [peak_freq(clip(tmp_path, tones="300", snr=10, seed=s, jitter_hz=10), SR, pad=4) for s in range(6)]
    assert all(abs(f - 300) <= 0.25 for f in plain)
    assert np.std(jit) > 2.0 and max(abs(f - 300) for f in jit) < 50


def test_gain_spread_spreads_the_per_tone_snr(tmp_path):
    plain = np.concatenate([measured_snr_db(clip(tmp_path, seed=s), SR, TONES) for s in range(4)])
    spread = np.concatenate([measured_snr_db(clip(tmp_path, seed=s, gain_spread_db=6), SR, TONES)
                             for s in range(4)])
    assert np.std(plain) < 0.5
    assert np.std(spread) > 2.5
