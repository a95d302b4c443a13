"""Surrogate classes made from the positives: each is what it claims, measured on its spectrum.

Tiny clips from lfkit's generator (1 s at 44.1 kHz, tones well above the
noise) are shifted, notched and given a new line; the lfkit spectrogram
(``log``, no per-clip normalisation, 10.8 Hz bins) shows where the lines are.
Then the bad inputs of ``train-oneclass`` that the new sources bring.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from conftest import assert_clean_failure, leftovers
from lfkit import features
from lfkit.config import FrontendConfig, OneClassConfig, SynthConfig
from lfkit.errors import DataError, ParameterError
from lfkit.oneclass_sets import allot
from lfkit.surrogate import bin_frequencies
from lfkit.surrogate_data import (add_line, data_surrogates, find_lines, load_background, parse_surrogates,
                                  remove_lines, shift_frequency)
from lfkit.synth import synth_clip, synthesize

SR = 44100
TONES = [120.0, 340.0, 777.0]
FE = FrontendConfig(norm="none")  # log power in dB, 0-1000 Hz
FREQS = bin_frequencies(FE, SR)


@pytest.fixture(scope="module")
def clips():
    rng = np.random.default_rng(0)
    cfg = SynthConfig(duration_s=1.0)
    return np.stack([synth_clip(TONES, -15, cfg, rng) for _ in range(6)])


def _profile(Y):
    """Mean over clips and frames of the log spectrogram minus its median: dB above the floor, per bin."""
    P = features.spectrogram_batch(np.atleast_2d(Y), SR, FE).mean(axis=(0, 2))
    return P - np.median(P)


def _bin(freq_hz):
    return int(np.argmin(np.abs(FREQS - freq_hz)))


def test_lines_are_found_where_the_tones_are(clips):
    found = find_lines(clips, SR)
    assert len(found) == 3
    assert np.allclose(found, TONES, atol=SR / 4096)  # within one edit bin


def test_resampling_moves_the_peak_by_the_factor(clips):
    y = clips[0]
    for factor in (1.08, 0.93):
        out = shift_frequency(y, factor, np.random.default_rng(1))
        assert out.shape == y.shape and out.dtype == np.float32
        F = np.abs(np.fft.rfft(out))  # 1 Hz bins
        for f in TONES:
            win = slice(int(f * factor) - 15, int(f * factor) + 16)
            assert abs(win.start + np.argmax(F[win]) - f * factor) <= 1.5
        prof = _profile(out)
        for f in TONES:  # the spectrogram peak moves by the expected number of bins, the old bin falls
            assert prof[_bin(f * factor)] > 15
            if abs(_bin(f * factor) - _bin(f)) >= 2:
                assert prof[_bin(f)] < 3


def test_a_slowed_copy_leaves_no_gap_below_nyquist(clips):
    out = shift_frequency(clips[0], 0.9, np.random.default_rng(2))
    P = np.abs(np.fft.rfft(out)) ** 2
    n = len(P)
    top, below = P[int(0.92 * n):].mean(), P[int(0.75 * n) : int(0.88 * n)].mean()
    assert abs(10 * np.log10(top / below)) < 1.5


def test_removed_lines_fall_to_the_floor_and_the_others_stay(clips):
    before = _profile(clips)
    rng = np.random.default_rng(3)
    after = _profile(np.stack([remove_lines(y, SR, [340.0], rng) for y in clips]))
    k = _bin(340)
    assert before[k] > 15
    assert np.all(np.abs(after[k - 2 : k + 3]) < 2.0)  # at the floor: neither a line nor a hole
    for f in (120, 777):
        assert after[_bin(f)] > 15


def test_an_added_line_is_present_at_its_new_frequency(clips):
    before = _profile(clips)
    after = _profile(np.stack([add_line(y, SR, 777.0, 555.0) for y in clips]))
    k = _bin(555)
    peak = after[k - 1 : k + 2].max()  # 555 Hz falls between two bins
    assert np.all(np.abs(before[k - 1 : k + 2]) < 2.0) and peak > 12
    assert peak == pytest.approx(after[_bin(777) - 1 : _bin(777) + 2].max(), abs=3.0)  # a copy at the same level
    for f in TONES:
        assert after[_bin(f)] > 15


def test_data_surrogates_are_seeded_labelled_and_named(clips):
    counts = {"shift": 2, "notch": 1, "add": 1}
    Y, y, names = data_surrogates(clips, SR, ["shift", "notch", "add"], counts, 3, seed=5, lines=TONES)
    Y2, y2, names2 = data_surrogates(clips, SR, ["shift", "notch", "add"], counts, 3, seed=5, lines=TONES)
    assert Y.shape == (12, clips.shape[1]) and np.array_equal(Y, Y2) and names == names2
    assert y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert names[0].startswith("shift+") and names[1].startswith("shift-")
    assert names[2].startswith("notch") and names[3].startswith("add")
    Y3, _, _ = data_surrogates(clips, SR, ["shift", "notch", "add"], counts, 3, seed=6, lines=TONES)
    assert not np.array_equal(Y, Y3)


def test_background_crops_are_clip_long_and_refuse_folders_without_audio(tmp_path):
    (tmp_path / "bg").mkdir()
    sf.write(tmp_path / "bg" / "site.wav", np.random.default_rng(0).standard_normal(3 * 22050) * 0.1, 22050)
    crops = load_background(tmp_path / "bg", SR, SR // 2, seed=0, n_crops=5)
    assert crops.shape == (5, SR // 2)  # resampled to 44.1 kHz: 3 s hold crops of 0.5 s
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no audio here")
    with pytest.raises(DataError, match="holds no audio"):
        load_background(tmp_path / "empty", SR, SR)
    with pytest.raises(DataError, match="no recording is as long as a clip"):
        load_background(tmp_path / "bg", SR, 4 * SR)


def test_surrogate_names_and_allotment():
    assert parse_surrogates("shift, tones") == ("shift", "tones")
    with pytest.raises(ParameterError, match="'hum' is not a surrogate source"):
        parse_surrogates("shift,hum")
    with pytest.raises(ParameterError, match="surrogates="):
        OneClassConfig(surrogates="shift,hum")
    assert allot(("shift", "notch", "add", "tones"), 16) == {"shift": 4, "notch": 4, "add": 4, "tones": 4}
    assert allot(("shift", "background", "tones", "aux"), 5) == {"shift": 2, "background": 1, "tones": 2}


# ----------------------------------------------------------------------------- bad input, end to end


@pytest.fixture(scope="module")
def pos(tmp_path_factory):
    root = tmp_path_factory.mktemp("sd")
    synthesize(str(root / "pos"), SynthConfig(duration_s=0.5), snr="-10", seed=0, positive="120,340,777", n=12,
               positive_only=True)
    return root / "pos"


def _refused(lfkit_fast, tmp_path, *args, code, needle):
    model = tmp_path / "m.pt"
    r = lfkit_fast("train-oneclass", *args, "-o", model, "--epochs", "1")
    line = assert_clean_failure(r, "train-oneclass", (code,))
    assert needle in line, line
    assert not model.exists() and not leftovers(tmp_path)


def test_background_without_audio_is_refused(pos, tmp_path, lfkit_fast):
    (tmp_path / "bg").mkdir()
    (tmp_path / "bg" / "readme.txt").write_text("nothing")
    _refused(lfkit_fast, tmp_path, pos, "--background", tmp_path / "bg", code=1, needle="holds no audio")


def test_aux_holding_only_the_target_label_is_refused(pos, tmp_path, lfkit_fast):
    _refused(lfkit_fast, tmp_path, pos, "--aux", pos, code=1, needle="holds only the label 'positive'")


def test_a_named_source_without_its_flag_is_refused(pos, tmp_path, lfkit_fast):
    _refused(lfkit_fast, tmp_path, pos, "--surrogates", "shift,background", code=2,
             needle="'background' needs --background DIR")
    _refused(lfkit_fast, tmp_path, pos, "--surrogates", "hum", code=2, needle="'hum' is not a surrogate source")
