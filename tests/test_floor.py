"""The noise-floor normaliser (lfkit.floor) and the known-tone detector that uses it: analytic answers."""

from __future__ import annotations

import numpy as np
import pytest

from lfkit.errors import DataError, ParameterError
from lfkit.features import stft_power_batch
from lfkit.floor import line_strength_db, running_floor, time_normalize, whiten_db
from lfkit.synth import colored_noise

SR, N_FFT, HOP = 8192, 512, 128  # 16 Hz per bin
EULER_DB = -10 * np.log10(np.e) * np.euler_gamma  # mean of 10*log10 of an exponential variable of mean 1


def _power(y):
    return stft_power_batch(np.atleast_2d(y), N_FFT, HOP)  # (b, freq, time)


def _noise(kind, n_clips=4, seconds=4.0, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([colored_noise(int(seconds * SR), kind, rng) for _ in range(n_clips)]).astype(np.float32)


def test_running_floor_is_the_gapped_median():
    x = np.random.default_rng(1).standard_normal((3, 80))
    f = running_floor(x, floor_bins=11, gap_bins=1)
    for k in range(5, 75):  # interior: the 5 bins each side beyond the gap
        window = np.concatenate([x[:, k - 5 : k - 1], x[:, k + 2 : k + 6]], axis=1)
        np.testing.assert_allclose(f[:, k], np.median(window, axis=1))


def test_running_floor_of_a_slope_is_the_slope_up_to_the_outermost_bins():
    x = 0.37 * np.arange(60.0) - 4.0  # a floor falling linearly in dB, as pink noise does per octave
    f = running_floor(x, floor_bins=31, gap_bins=2)
    np.testing.assert_allclose(f[3:-3], x[3:-3], atol=1e-12)  # symmetric windows, shrunk near the ends
    np.testing.assert_array_equal(f[:3], x[:3])  # no room beyond the gap: the bin is its own floor


def test_running_floor_axis_and_bad_parameters():
    x = np.random.default_rng(2).standard_normal((40, 5))
    np.testing.assert_allclose(running_floor(x, axis=0), running_floor(x.T, axis=-1).T)
    with pytest.raises(ParameterError, match="floor_bins=5"):
        running_floor(x, floor_bins=5, gap_bins=2)
    with pytest.raises(ParameterError, match="gap_bins=-1"):
        running_floor(x, gap_bins=-1)
    with pytest.raises(DataError, match="at least 4 bins"):
        running_floor(np.ones(3))


def test_white_noise_is_flat_at_0_db_and_its_log_mean_is_euler():
    P = _power(_noise("white"))
    R = line_strength_db(P)
    assert abs(R[:, 3:-3].mean()) < 0.1  # time-averaged power over the floor: 0 dB
    W = whiten_db(P)
    assert W.dtype == np.float32 and W.shape == P.shape
    # per frame: the log of an exponential variable, mean -2.51 dB below its mean
    assert W[:, 3:-3].mean() == pytest.approx(EULER_DB, abs=0.1)


@pytest.mark.parametrize("kind, slope_db_per_decade", [("pink", -10.0), ("brown", -20.0)])
def test_coloured_noise_is_flat_after_whitening(kind, slope_db_per_decade):
    P = _power(_noise(kind))
    f = np.arange(P.shape[1]) * SR / N_FFT
    k = np.arange(4, P.shape[1] - 4)  # away from DC and from Nyquist
    before = 10 * np.log10(P.mean(axis=(0, 2)))
    slope_before = np.polyfit(np.log10(f[k]), before[k], 1)[0]
    assert slope_before == pytest.approx(slope_db_per_decade, abs=2.0)  # the noise is what it claims
    R = line_strength_db(P).mean(axis=0)
    far = np.arange(16, P.shape[1] - 4)  # a window's width (15 bins) away from 0 Hz
    slope_after = np.polyfit(np.log10(f[far]), R[far], 1)[0]
    assert abs(slope_after) < 0.5, slope_after
    assert np.abs(R[far]).max() < 1.0
    # Within a window of 0 Hz the floor curves and the window reaches the bins next to 0 Hz: it is read high
    # (a line there reads low), never low: no false line
    assert R[:16].max() < 1.0
    assert R[8:16].min() > -6.0


def test_a_line_keeps_its_height_above_the_floor():
    n = 4 * SR
    sigma2, s_bin = 1.0, 10.0  # per-bin SNR of the line: 10 dB
    # Hann window, tone on a bin centre: line power A^2 N^2 / 16, noise sigma^2 * 3N/8 per bin
    A = np.sqrt(s_bin * sigma2 * 6.0 / N_FFT)
    k0 = 100
    t = np.arange(n) / SR
    rng = np.random.default_rng(3)
    y = np.stack([A * np.sin(2 * np.pi * k0 * SR / N_FFT * t) + rng.standard_normal(n) for _ in range(4)])
    R = line_strength_db(_power(y.astype(np.float32)))
    assert R[:, k0].mean() == pytest.approx(10 * np.log10(1 + s_bin), abs=0.4)
    W = whiten_db(_power(y.astype(np.float32)))
    assert 10 * np.log10(np.mean(10 ** (W[:, k0] / 10))) == pytest.approx(10 * np.log10(1 + s_bin), abs=0.4)


def test_knowntone_finds_a_line_that_wandered_one_bin():
    from lfkit.baselines import knowntone_score

    n = 2 * SR
    df = SR / N_FFT
    t = np.arange(n) / SR
    rng = np.random.default_rng(4)
    noise = rng.standard_normal((2, n))
    A = np.sqrt(2 * 10 ** (-12 / 10))  # -12 dB per tone over the full band
    tone = A * np.sin(2 * np.pi * (1000 + df) * t)  # one bin above the tone the detector is told
    X = _power(np.stack([noise[0] + tone, noise[1]]).astype(np.float32))
    s = knowntone_score(X, np.arange(X.shape[1]) * df, [1000.0])
    assert s[0] > 5.0 and s[1] < 0.0, s


def test_time_normalize_removes_what_is_steady_in_time():
    rng = np.random.default_rng(5)
    S = rng.standard_normal((6, 50)) + np.linspace(0, 20, 6)[:, None]  # a level per row, steady in time
    S[:, 25] += 30.0  # a click
    Z = time_normalize(S, n_frames=21, gap_frames=1)
    assert abs(np.median(Z[:, 5:-5])) < 0.5  # the steady levels are gone
    assert np.all(Z[:, 25] > 20.0)  # the transient stays


def test_whiten_kind_is_whiten_db_of_the_band():
    from lfkit.config import FrontendConfig
    from lfkit.features import spectrogram

    y = _noise("pink", n_clips=1, seconds=1.0)[0]
    cfg = FrontendConfig(kind="whiten", n_fft=N_FFT, hop_length=HOP, fmin=100.0, fmax=2000.0, norm="none")
    S = spectrogram(y, SR, cfg)
    P = _power(y)[0]
    f = np.arange(P.shape[0]) * SR / N_FFT
    band = (f >= 100.0) & (f <= 2000.0)
    np.testing.assert_allclose(S, whiten_db(P[band]), atol=1e-4)
