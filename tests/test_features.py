"""Tests of the spectrogram front end (lfkit.features, lfkit.mel).

Analytic checks first (tone peaks, frame counts, Parseval, band cropping),
then agreement with librosa as a test-only reference, then errors and shapes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lfkit import features
from lfkit.config import SPECTRO_KINDS, FrontendConfig, SynthConfig
from lfkit.errors import DataError, ParameterError
from lfkit.features import (
    chunk,
    fft_frequencies,
    iter_chunks,
    mel_filterbank,
    mfcc,
    normalize,
    output_shape,
    pcen,
    power_to_db,
    resample,
    spectrogram,
    spectrogram_batch,
    stft_power,
    stft_power_batch,
)
from lfkit.synth import synth_clip

SR = 8000


def _noisy(n=SR, seed=0, tones=(440.0,), snr_db=0.0, sr=SR):
    cfg = SynthConfig(sr=sr, duration_s=n / sr)
    return synth_clip(list(tones), snr_db, cfg, np.random.default_rng(seed))


def _tone(freq_hz, n=SR, sr=SR, amp=0.5):
    return (amp * np.sin(2 * np.pi * freq_hz * np.arange(n) / sr)).astype(np.float32)


# ------------------------------------------------------------------ analytic


@pytest.mark.parametrize("freq_hz", [250.0, 1000.0, 3125.0])
def test_tone_peak_bin_at_its_frequency(freq_hz):
    n_fft = 512
    S = stft_power(_tone(freq_hz), n_fft=n_fft, hop_length=128)
    peak = np.argmax(S, axis=0)
    assert np.all(fft_frequencies(SR, n_fft)[peak] == pytest.approx(freq_hz, abs=SR / n_fft / 2))


def test_tone_peak_in_synth_clip_at_minus_10_db():
    y = _noisy(n=2 * SR, tones=(700.0,), snr_db=-10.0)
    S = stft_power(y, n_fft=2048, hop_length=512).mean(axis=1)
    assert abs(fft_frequencies(SR, 2048)[np.argmax(S)] - 700.0) <= SR / 2048


@pytest.mark.parametrize("n,n_fft,hop", [(8000, 512, 128), (8000, 2048, 512), (2048, 2048, 1), (5000, 1000, 333)])
def test_frame_count(n, n_fft, hop):
    S = stft_power(np.zeros(n, np.float32), n_fft, hop)
    assert S.shape == (1 + n_fft // 2, 1 + (n - n_fft) // hop)
    assert S.dtype == np.float32


def test_power_scale_parseval():
    # sum_k |X_k|^2 over the full FFT = n_fft * sum_n (w_n x_n)^2; rfft holds k=0..n/2.
    n_fft = 256
    y = np.random.default_rng(1).standard_normal(n_fft).astype(np.float32)
    P = stft_power(y, n_fft, n_fft)[:, 0].astype(np.float64)
    full = P[0] + P[-1] + 2 * P[1:-1].sum()
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    assert full == pytest.approx(n_fft * np.sum((w * y) ** 2), rel=1e-5)


def test_tone_power_matches_amplitude():
    # A bin-centred tone of amplitude A: |X_k| = A * sum(w) / 2 = A * n_fft / 4 (periodic Hann).
    n_fft, amp = 512, 0.5
    S = stft_power(_tone(SR / n_fft * 32, amp=amp), n_fft, 256)
    assert S[32].max() == pytest.approx((amp * n_fft / 4) ** 2, rel=1e-4)


@pytest.mark.parametrize("kind", ["linear", "log"])
@pytest.mark.parametrize("fmin,fmax", [(0.0, 1000.0), (100.0, 1000.0), (97.0, 1003.0), (300.0, None)])
def test_band_cropping_keeps_bins_in_band(kind, fmin, fmax):
    cfg = FrontendConfig(kind=kind, n_fft=512, hop_length=256, fmin=fmin, fmax=fmax, norm="none")
    y = _noisy()
    S = spectrogram(y, SR, cfg)
    freqs = fft_frequencies(SR, 512)
    keep = (freqs >= fmin) & (freqs <= (SR / 2 if fmax is None else fmax))
    full = stft_power(y, 512, 256)[keep]
    expected = full if kind == "linear" else 10 * np.log10(np.maximum(full, 1e-10))
    assert S.shape == expected.shape
    np.testing.assert_allclose(S, expected, rtol=1e-5, atol=1e-4)


def test_log_is_not_clipped_at_80_db():
    y = _tone(1000.0) + 1e-6 * np.random.default_rng(0).standard_normal(SR).astype(np.float32)
    S = spectrogram(y, SR, FrontendConfig(kind="log", n_fft=512, hop_length=256, fmax=None, norm="none"))
    assert S.max() - S.min() > 100.0


def test_standard_norm_zero_mean_unit_std():
    cfg = FrontendConfig(kind="logmel", n_fft=512, hop_length=128, fmax=None, norm="standard")
    S = spectrogram(_noisy(), SR, cfg)
    assert S.mean() == pytest.approx(0.0, abs=1e-5)
    assert S.std() == pytest.approx(1.0, abs=1e-4)


def test_standard_norm_of_constant_is_zero_not_nan():
    assert np.all(normalize(np.full((4, 5), 3.0), "standard") == 0.0)
    S = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(normalize(S, "none"), S)
    silent = spectrogram(np.zeros(SR), SR, FrontendConfig(kind="logmel", n_fft=256, hop_length=128, norm="standard"))
    assert np.all(silent == 0.0)


# ------------------------------------------------------------------ librosa agreement


def _lr():
    return pytest.importorskip("librosa")


def test_window_and_power_match_librosa():
    librosa = _lr()
    y = _noisy(seed=3)
    ref = np.abs(librosa.stft(y.astype(np.float64), n_fft=512, hop_length=160, center=False)) ** 2
    # tolerance: relative to the largest bin, float32 output rounding
    np.testing.assert_allclose(stft_power(y, 512, 160), ref, rtol=1e-5, atol=1e-6 * ref.max())


@pytest.mark.parametrize("sr,n_fft,n_mels,fmin,fmax", [(22050, 2048, 128, 0.0, None), (8000, 512, 40, 50.0, 3000.0),
                                                       (44100, 4096, 64, 0.0, 1000.0)])
def test_mel_filterbank_identical_to_librosa(sr, n_fft, n_mels, fmin, fmax):
    librosa = _lr()
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    fb = mel_filterbank(sr, n_fft, n_mels, fmin, fmax)
    np.testing.assert_allclose(fb, ref, rtol=1e-6, atol=1e-9)  # tolerance: float32 rounding
    assert fb.dtype == np.float32 and not fb.flags.writeable
    assert mel_filterbank(sr, n_fft, n_mels, fmin, fmax) is fb  # cached


def test_power_to_db_identical_to_librosa():
    librosa = _lr()
    S = np.random.default_rng(0).exponential(size=(20, 30)) ** 8
    for kw in ({}, {"top_db": None}, {"ref": np.max}, {"ref": 2.0, "amin": 1e-5, "top_db": 40.0}):
        np.testing.assert_allclose(power_to_db(S, **kw), librosa.power_to_db(S, **kw), rtol=0, atol=1e-10)


def _ref_mel(librosa, y, sr, n_fft, hop, n_mels, fmin, fmax):
    return librosa.feature.melspectrogram(y=y.astype(np.float64), sr=sr, n_fft=n_fft, hop_length=hop, center=False,
                                          n_mels=n_mels, fmin=fmin, fmax=fmax)


@pytest.mark.parametrize("sr,fmax", [(SR, None), (44100, 1000.0)])
def test_mel_kinds_match_librosa(sr, fmax):
    librosa = _lr()
    y = _noisy(n=sr // 2, sr=sr, tones=(440.0, 900.0), snr_db=-5.0)
    n_fft, hop, n_mels = 2048, 512, 32
    cfg = FrontendConfig(kind="mel", n_fft=n_fft, hop_length=hop, fmax=fmax, n_mels=n_mels, n_mfcc=13, norm="none")
    M = _ref_mel(librosa, y, sr, n_fft, hop, n_mels, 0.0, fmax)
    # tolerances: mel power rtol 1e-4 (of the clip's maximum, float32); dB atol 1e-3; PCEN rtol 1e-4; MFCC atol 1e-3
    np.testing.assert_allclose(spectrogram(y, sr, cfg), M, rtol=1e-4, atol=1e-4 * M.max())
    logmel = librosa.power_to_db(M)
    np.testing.assert_allclose(spectrogram(y, sr, cfg.replace(kind="logmel")), logmel, atol=1e-3)
    ref_pcen = librosa.pcen(M * 2**31, sr=sr, hop_length=hop)
    np.testing.assert_allclose(spectrogram(y, sr, cfg.replace(kind="pcen")), ref_pcen, rtol=1e-4, atol=1e-5)
    ref_mfcc = librosa.feature.mfcc(S=logmel, n_mfcc=13)
    np.testing.assert_allclose(spectrogram(y, sr, cfg.replace(kind="mfcc")), ref_mfcc, atol=1e-3)


def test_public_pcen_and_mfcc_match_librosa():
    librosa = _lr()
    S = np.random.default_rng(2).exponential(size=(16, 50)) * 1e3
    for kw in ({}, {"gain": 0.8, "bias": 10.0, "power": 0.25, "time_constant": 0.06}, {"power": 0.0}, {"bias": 0.0}):
        np.testing.assert_allclose(pcen(S, sr=16000, hop_length=256, **kw),
                                   librosa.pcen(S, sr=16000, hop_length=256, **kw), rtol=1e-10)
    S_db = librosa.power_to_db(S)
    np.testing.assert_allclose(mfcc(S_db, n_mfcc=10), librosa.feature.mfcc(S=S_db, n_mfcc=10), atol=1e-9)


def test_resample_matches_scipy_polyphase_and_changes_shape():
    import scipy.signal

    y = _noisy(n=4410, sr=44100)
    z = resample(y, 44100, 8000)
    assert z.shape == (800,)
    # the reference: scipy's polyphase filter with the ratio reduced by the gcd (8000/44100 = 80/441)
    np.testing.assert_allclose(z, scipy.signal.resample_poly(y, 80, 441), rtol=0, atol=1e-12)
    Y = np.stack([y, -2.0 * y])  # a batch is resampled along its last axis, clip by clip
    np.testing.assert_allclose(resample(Y, 44100, 8000), np.stack([z, -2.0 * z]), rtol=0, atol=1e-12)
    up = resample(z, 8000, 22050)  # upsampling: 22050/8000 = 441/160
    assert up.shape == (2205,)
    np.testing.assert_allclose(up, scipy.signal.resample_poly(z, 441, 160), rtol=0, atol=1e-12)
    cfg = FrontendConfig(kind="logmel", sr=8000, n_fft=256, hop_length=64, fmax=None, norm="none")
    assert spectrogram(y, 44100, cfg).shape == output_shape(cfg, 44100, 4410)
    np.testing.assert_allclose(spectrogram(y, 44100, cfg), spectrogram(z, 8000, cfg), atol=1e-4)


# ------------------------------------------------------------------ batch and shapes


@pytest.mark.parametrize("kind", SPECTRO_KINDS)
@pytest.mark.parametrize("norm", ["none", "standard"])
def test_batch_equals_per_clip(kind, norm):
    Y = np.stack([_noisy(n=4000, seed=s, snr_db=-5.0 * s) for s in range(3)])
    Y[1] *= 1e-3  # a quiet clip: top_db and norm must be per clip
    cfg = FrontendConfig(kind=kind, n_fft=512, hop_length=200, fmin=100.0, fmax=2000.0, n_mels=24, norm=norm)
    B = spectrogram_batch(Y, SR, cfg)
    assert B.dtype == np.float32 and B.shape == (3, *output_shape(cfg, SR, 4000))
    for i in range(3):
        np.testing.assert_allclose(B[i], spectrogram(Y[i], SR, cfg), rtol=1e-5, atol=1e-5)
    P = stft_power_batch(Y, 512, 200)
    np.testing.assert_array_equal(P[2], stft_power(Y[2], 512, 200))


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(SPECTRO_KINDS),
    n_fft=st.sampled_from([64, 100, 256, 512]),
    hop=st.integers(1, 600),
    extra=st.integers(0, 3000),
    fmax=st.sampled_from([None, 1000.0, 2999.0]),
    target_sr=st.sampled_from([None, SR, 6000, 11025]),
)
def test_shape_matches_output_shape(kind, n_fft, hop, extra, fmax, target_sr):
    n = n_fft * 2 + extra
    cfg = FrontendConfig(kind=kind, sr=target_sr, n_fft=n_fft, hop_length=hop, fmax=fmax, n_mels=16, n_mfcc=8,
                         norm="none")
    S = spectrogram(np.random.default_rng(n).standard_normal(n), SR, cfg)
    assert S.shape == output_shape(cfg, SR, n)
    n_eff = n if target_sr is None else math.ceil(n * target_sr / SR)
    assert S.shape[1] == 1 + (n_eff - n_fft) // hop
    assert S.dtype == np.float32 and np.all(np.isfinite(S))


# ------------------------------------------------------------------ errors


def test_too_short_audio_raises_data_error():
    with pytest.raises(DataError, match=r"100 samples.*n_fft=512"):
        stft_power(np.zeros(100), 512, 128)
    with pytest.raises(DataError, match="n_fft=512"):
        spectrogram(np.zeros(100), SR, FrontendConfig(n_fft=512, hop_length=128))
    with pytest.raises(DataError, match="n_fft=512"):
        output_shape(FrontendConfig(n_fft=512, hop_length=128), SR, 100)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_audio_raises_data_error(bad):
    y = np.zeros(SR, np.float32)
    y[10] = bad
    with pytest.raises(DataError, match="NaN"):
        spectrogram(y, SR, FrontendConfig())
    with pytest.raises(DataError, match="NaN"):
        spectrogram_batch(y[None], SR, FrontendConfig())


def test_bad_shapes_raise_data_error():
    with pytest.raises(DataError, match="shape"):
        spectrogram(np.zeros((2, SR)), SR, FrontendConfig())
    with pytest.raises(DataError, match="shape"):
        spectrogram_batch(np.zeros(SR), SR, FrontendConfig())


@pytest.mark.parametrize("name,value", [("n_fft", 0), ("hop_length", 0), ("hop_length", 1.5)])
def test_bad_stft_parameters_name_themselves(name, value):
    kw = {"n_fft": 256, "hop_length": 64, name: value}
    with pytest.raises(ParameterError, match=rf"{name}={value!r} must be a positive integer"):
        stft_power(np.zeros(SR), **kw)


def test_bad_kind_and_norm_raise_parameter_error():
    with pytest.raises(ParameterError, match="kind='cqt'.*logmel"):
        FrontendConfig(kind="cqt")
    with pytest.raises(ParameterError, match="norm='minmax'"):
        normalize(np.ones((2, 2)), "minmax")


@pytest.mark.parametrize(
    "kw,pattern",
    [
        ({"fmin": 4000.0, "fmax": None}, r"fmin=4000 Hz must be below the Nyquist"),
        ({"fmin": 5000.0, "fmax": 6000.0}, r"fmin=5000 Hz must be below the Nyquist"),
        ({"fmin": 0.0, "fmax": 4500.0}, r"fmax=4500 Hz is above the Nyquist"),
        ({"fmin": 10.0, "fmax": 12.0}, r"fmin=10 to fmax=12 Hz holds no FFT bin"),
    ],
)
@pytest.mark.parametrize("kind", ["linear", "logmel"])
def test_bad_band_raises_parameter_error(kw, pattern, kind):
    cfg = FrontendConfig(kind=kind, n_fft=512, hop_length=128, **kw)
    with pytest.raises(ParameterError, match=pattern):
        spectrogram(np.zeros(SR), SR, cfg)
    with pytest.raises(ParameterError, match=pattern):
        output_shape(cfg, SR, SR)


def test_bad_values_for_transforms_name_themselves():
    with pytest.raises(ParameterError, match="amin=0"):
        power_to_db(np.ones((2, 2)), amin=0)
    with pytest.raises(ParameterError, match="top_db=-1"):
        power_to_db(np.ones((2, 2)), top_db=-1)
    with pytest.raises(ParameterError, match="time_constant=0"):
        pcen(np.ones((2, 2)), sr=SR, hop_length=64, time_constant=0)
    with pytest.raises(ParameterError, match="n_mfcc=30 must be <= n_mels=20"):
        mfcc(np.ones((20, 5)), n_mfcc=30)
    with pytest.raises(ParameterError, match="n_mfcc=30"):
        spectrogram(np.zeros(SR), SR, FrontendConfig(kind="mfcc", n_mels=20, n_mfcc=30))
    with pytest.raises(ParameterError, match="target_sr=0"):
        resample(np.zeros(10), SR, 0)


# ------------------------------------------------------------------ chunks


def test_chunk_times_and_views():
    y = np.arange(10 * 100, dtype=np.float32)  # 10 s at 100 Hz
    chunks, starts, ends = chunk(y, 100, 3.0)
    assert chunks.shape == (3, 300)  # the last 1 s is dropped
    np.testing.assert_allclose(starts, [0.0, 3.0, 6.0])
    np.testing.assert_allclose(ends, [3.0, 6.0, 9.0])
    np.testing.assert_array_equal(chunks[1], y[300:600])
    chunks, starts, ends = chunk(y, 100, 2.0, chunk_hop_s=0.5)
    assert chunks.shape == (17, 200)
    assert starts[-1] == 8.0 and ends[-1] == 10.0
    got = list(iter_chunks(y, 100, 2.0, 0.5))
    assert len(got) == 17 and got[3][1:] == (1.5, 3.5)
    np.testing.assert_array_equal(got[3][0], y[150:350])


def test_chunk_errors():
    with pytest.raises(DataError, match=r"shorter than one chunk \(chunk_s=5\)"):
        chunk(np.zeros(300), 100, 5.0)
    with pytest.raises(ParameterError, match="chunk_s=0"):
        chunk(np.zeros(300), 100, 0)
    with pytest.raises(ParameterError, match="chunk_hop_s=-1"):
        chunk(np.zeros(300), 100, 1.0, -1)


def test_module_imports_numpy_only():
    import subprocess
    import sys

    code = ("import sys, lfkit.features; bad = [m for m in ('scipy', 'torch', 'sklearn', 'librosa') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
    assert math.isclose(features.PCEN_INPUT_SCALE, 2.0**31)
