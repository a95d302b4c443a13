"""Multi-condition training (lfkit.augment, train-binary --augment/--background): analytic checks on tiny data."""

from __future__ import annotations

import numpy as np
import pytest

from lfkit.augment import (
    augment_waveforms,
    frequency_scale,
    freq_mask,
    load_backgrounds,
    mask_spectrograms,
    mix_at_snr,
    multi_condition_set,
    parse_augment,
    parse_augment_snr,
    time_mask,
)
from lfkit.config import AugmentConfig, FrontendConfig
from lfkit.errors import DataError, ParameterError

SR = 8000


def _tone(freq_hz, n=SR, sr=SR, phase=0.3):
    return np.sin(2 * np.pi * freq_hz * np.arange(n) / sr + phase).astype(np.float32)


def _clips(k=4, n=4000, seed=0):
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal((k, n)) + _tone(440, n)).astype(np.float32)


def test_same_seed_same_bytes_other_seed_other_bytes():
    cfg = AugmentConfig(kinds=("gain", "shift", "noise", "pitch"))
    Y = _clips()
    a = augment_waveforms(Y, cfg, seed=3, copy=0)
    b = augment_waveforms(Y, cfg, seed=3, copy=0)
    assert a.dtype == np.float32 and a.shape == Y.shape
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != augment_waveforms(Y, cfg, seed=4, copy=0).tobytes()
    assert a.tobytes() != augment_waveforms(Y, cfg, seed=3, copy=1).tobytes()
    S = np.random.default_rng(1).standard_normal((3, 20, 30)).astype(np.float32)
    cm = AugmentConfig(kinds=("tmask", "fmask"), tmask_frac=0.5, fmask_bins=5)
    assert mask_spectrograms(S, cm, 7, 0).tobytes() == mask_spectrograms(S, cm, 7, 0).tobytes()
    assert mask_spectrograms(S, cm, 7, 0).tobytes() != mask_spectrograms(S, cm, 8, 0).tobytes()


@pytest.mark.parametrize("snr_db", [-20.0, 0.0, 13.5])
def test_mixed_noise_hits_the_requested_snr(snr_db):
    rng = np.random.default_rng(0)
    y = _tone(300) + 0.2 * rng.standard_normal(SR).astype(np.float32)
    v = rng.standard_normal(SR) * 5 + 3  # other level and an offset: only the variance counts
    out = mix_at_snr(y, v, snr_db)
    added = out.astype(np.float64) - y
    measured = 10 * np.log10(np.var(y.astype(np.float64)) / np.var(added))
    assert measured == pytest.approx(snr_db, abs=0.01)


@pytest.mark.parametrize("factor", [1.05, 0.97])
def test_frequency_shift_moves_the_peak_bin_by_the_factor(factor):
    y = _tone(1000.0)
    spec = np.abs(np.fft.rfft(frequency_scale(y, factor)))
    assert np.argmax(spec) == pytest.approx(1000.0 * factor, abs=1)  # 1 Hz bins over 1 s at 8 kHz
    assert frequency_scale(y, 1.0).tobytes() == y.tobytes()


def test_masks_fill_a_run_with_the_mean_and_keep_the_rest():
    S = np.arange(200, dtype=np.float32).reshape(10, 20)
    rng = np.random.default_rng(5)
    T = time_mask(S, rng, 0.5)
    changed_t = np.flatnonzero((T != S).any(axis=0))
    assert 0 < changed_t.size <= 10 and np.all(np.diff(changed_t) == 1)
    assert np.allclose(T[:, changed_t], S.mean())
    F = freq_mask(S, np.random.default_rng(2), 3)
    changed_f = np.flatnonzero((F != S).any(axis=1))
    assert changed_f.size <= 3 and np.allclose(F[changed_f], S.mean())


def test_multi_condition_set_copies_only_the_training_split():
    Y = _clips(k=6, n=4096)
    y = np.array([1, 1, 1, 0, 0, 0])
    fe = FrontendConfig(n_fft=512, hop_length=256, fmax=None)
    cfg = AugmentConfig(kinds=("noise", "tmask"), copies=2)
    X, y_all, (tr, va) = multi_condition_set(Y, SR, y, (np.array([0, 1, 3, 4]), np.array([2, 5])), cfg, 0, fe)
    assert X.shape == (6 + 2 * 4, 257, 15) and y_all.tolist() == y.tolist() + [1, 1, 0, 0] * 2
    assert va.tolist() == [2, 5] and sorted(tr.tolist()) == [0, 1, 3, 4] + list(range(6, 14))
    assert not np.allclose(X[6], X[0])  # a copy differs from its original
    S = np.random.default_rng(0).standard_normal((6, 20, 40)).astype(np.float32)  # spectrograms: masks only
    Xs, _, (trs, _) = multi_condition_set(S, SR, y, (np.array([0, 1, 3, 4]), np.array([2, 5])),
                                          AugmentConfig(kinds=("tmask",), copies=1, tmask_frac=0.5), 0)
    assert Xs.shape == (10, 20, 40) and np.array_equal(Xs[:6], S) and trs.tolist() == [0, 1, 3, 4, 6, 7, 8, 9]
    with pytest.raises(ParameterError, match="need audio"):
        multi_condition_set(S, SR, y, (np.array([0]), np.array([2])), AugmentConfig(kinds=("noise",)), 0)


@pytest.mark.parametrize("text, words", [
    ("10:0", "reversed"), ("-70:0", "outside -60..60"), ("0:61", "outside -60..60"), ("a:b", "number of dB"),
    ("nan", "number of dB"),
])
def test_bad_augment_snr_is_refused(text, words):
    with pytest.raises(ParameterError, match=words):
        parse_augment_snr(text)


def test_parse_augment():
    assert parse_augment("none") == () and parse_augment("gain, noise,gain") == ("gain", "noise")
    with pytest.raises(ParameterError, match="augment='warp' is not known"):
        parse_augment("gain,warp")


def test_bad_background_folders_are_refused(tmp_path):
    from lfkit import io

    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no audio"):
        load_backgrounds(tmp_path / "empty", SR, 4000)
    io.write_audio(_tone(50, n=2000), SR, tmp_path / "short" / "a.wav")
    with pytest.raises(DataError, match="shorter than a clip"):
        load_backgrounds(tmp_path / "short", SR, 4000)
    io.write_audio(_tone(50, n=7999, sr=7999), 7999, tmp_path / "odd" / "a.wav")
    with pytest.raises(DataError, match="cannot be resampled"):
        load_backgrounds(tmp_path / "odd", SR, 4000)
    io.write_audio(_tone(50, n=16000, sr=16000), 16000, tmp_path / "ok" / "a.wav")
    (b,) = load_backgrounds(tmp_path / "ok", SR, 4000)
    assert len(b) == SR and b.dtype == np.float32


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    from binary_helpers import make_set

    return make_set(tmp_path_factory.mktemp("aug") / "train", n=12, snr="-5")


@pytest.mark.parametrize("flags, code, words", [
    (["--augment-snr", "10:0"], 2, "augment_snr='10:0' is reversed"),
    (["--augment-snr", "-80:0"], 2, "outside -60..60 dB"),
    (["--augment", "gain,warp"], 2, "augment='warp' is not known"),
    (["--background", "EMPTY"], 1, "holds no audio"),
])
def test_cli_bad_augment_input_one_line_exit_code_no_model(flags, code, words, tiny_set, tmp_path):
    from binary_helpers import invoke, one_error_line

    (tmp_path / "EMPTY").mkdir()
    flags = [str(tmp_path / f) if f == "EMPTY" else f for f in flags]
    out = tmp_path / "m.pt"
    rc, stdout, err = invoke("train-binary", tiny_set, "-o", out, "--epochs", "1", "-q", *flags)
    assert rc == code and stdout == b""
    assert words in one_error_line(err, "train-binary")
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["EMPTY"]


def test_train_with_background_records_it_and_copies_the_training_split(tiny_set, tmp_path):
    from lfkit import io
    from lfkit.config import TrainConfig
    from lfkit.modelfile import load_model
    from lfkit.train import train_binary

    io.write_audio(np.random.default_rng(0).standard_normal(2 * 44100).astype(np.float32) * 0.1, 44100,
                   tmp_path / "bg" / "hum.wav")
    aug = AugmentConfig(kinds=("shift",), copies=1)
    summary = train_binary(str(tiny_set), str(tmp_path / "m.pt"), "positive", TrainConfig(epochs=1, batch_size=8),
                           augment=aug, background=str(tmp_path / "bg"))
    assert summary["background"] == str(tmp_path / "bg") and list(summary["augment"]["kinds"]) == ["shift"]
    assert summary["n_fit"] == 2 * (12 - 2)  # 2 of 12 held out for validation, 1 copy of the other 10
    assert load_model(tmp_path / "m.pt")["training"]["n_fit"] == 20
