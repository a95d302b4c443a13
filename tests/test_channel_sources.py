"""``--channel`` applies to ``--background`` and ``--aux`` recordings too, not only to the training clips.

A stereo background holds the target's tone in channel 0 and plain noise in channel 1: with channel 1
the loaders return exactly the noise (the target-free channel), without a channel the mean as before.
The training commands pass the channel on: a mono background or aux set with ``--channel 1`` is refused
naming that file (it has one channel), where before it was silently averaged.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from binary_helpers import invoke, one_error_line
from lfkit import io
from lfkit.augment import load_backgrounds
from lfkit.config import SynthConfig
from lfkit.errors import ParameterError
from lfkit.surrogate_data import load_background
from lfkit.synth import synthesize

SR = 8000


def _stereo_background(folder):
    """``folder/bg.wav``: channel 0 a loud 777 Hz tone over noise (the target), channel 1 the noise alone."""
    rng = np.random.default_rng(0)
    t = np.arange(2 * SR) / SR
    noise = (0.1 * rng.standard_normal(len(t))).astype(np.float32)
    target = (0.5 * np.sin(2 * np.pi * 777.0 * t)).astype(np.float32) + noise
    io.write_audio(np.stack([target, noise], axis=1), SR, folder / "bg.wav", subtype="FLOAT")
    return target, noise


def _is_slice_of(crop, y) -> bool:
    n = len(crop)
    return any(np.array_equal(crop, y[s : s + n]) for s in np.flatnonzero(y == crop[0]) if s + n <= len(y))


def test_augment_backgrounds_read_the_chosen_channel(tmp_path):
    target, noise = _stereo_background(tmp_path)
    (free,) = load_backgrounds(tmp_path, SR, SR, channel=1)
    assert np.array_equal(free, noise)  # the target-free channel, not the mean
    (mixed,) = load_backgrounds(tmp_path, SR, SR)
    assert np.allclose(mixed, (target + noise) / 2, atol=1e-7)  # no channel: the mean, as before
    (loud,) = load_backgrounds(tmp_path, SR, SR, channel=0)
    assert np.array_equal(loud, target)
    with pytest.raises(ParameterError, match="channel=2 is out of range"):
        load_backgrounds(tmp_path, SR, SR, channel=2)


def test_surrogate_background_crops_come_from_the_chosen_channel(tmp_path):
    target, noise = _stereo_background(tmp_path)
    crops = load_background(tmp_path, SR, SR // 2, seed=0, n_crops=4, channel=1)
    assert crops.shape == (4, SR // 2) and all(_is_slice_of(c, noise) for c in crops)
    assert not any(_is_slice_of(c, target) for c in crops)
    mean = load_background(tmp_path, SR, SR // 2, seed=0, n_crops=4)
    assert not any(_is_slice_of(c, noise) for c in mean)
    with pytest.raises(ParameterError, match="channel=-1"):
        load_background(tmp_path, SR, SR // 2, channel=-1)


def _stereo_copy(src, dst):
    """A copy of dataset ``src`` whose clips are stereo (the same signal twice)."""
    dst.mkdir()
    for p in src.glob("*.wav"):
        y, sr = io.read_audio(p)
        io.write_audio(np.stack([y, y], axis=1), sr, dst / p.name, subtype="FLOAT")
    shutil.copy(src / "labels.csv", dst / "labels.csv")
    return dst


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("channels")
    cfg = SynthConfig(duration_s=0.5, sr=SR)
    synthesize(str(root / "bin"), cfg, snr="-10", seed=0, positive="120,340,777", n=8)
    synthesize(str(root / "pos"), cfg, snr="-10", seed=1, positive="120,340,777", n=10, positive_only=True)
    synthesize(str(root / "multi"), cfg, snr="-10", seed=2, classes=4, n=4)
    synthesize(str(root / "aux"), cfg, snr="-10", seed=3, classes=2, n=3)  # mono
    mono_bg = root / "mono_bg"
    mono_bg.mkdir()
    io.write_audio(np.random.default_rng(1).standard_normal(2 * SR).astype(np.float32) * 0.1, SR,
                   mono_bg / "site.wav", subtype="FLOAT")
    return {"bin": _stereo_copy(root / "bin", root / "bin2"), "pos": _stereo_copy(root / "pos", root / "pos2"),
            "multi": _stereo_copy(root / "multi", root / "multi2"), "aux": root / "aux", "mono_bg": mono_bg}


@pytest.mark.parametrize("command,data,flags,names,exit_code", [
    ("train-binary", "bin", ["--background", "mono_bg"], "mono_bg/site.wav", 2),
    ("train-oneclass", "pos", ["--background", "mono_bg", "--epochs", "1", "--n-surrogate", "2"], "mono_bg/site.wav",
     2),
    ("train-oneclass", "pos", ["--aux", "aux", "--epochs", "1", "--n-surrogate", "2", "--clips-per-class", "4"],
     "aux/c00000.wav", 1),
    ("train-siamese", "multi", ["--aux", "aux", "--epochs", "1"], "aux/c00000.wav", 1),
])
def test_training_commands_read_background_and_aux_through_the_channel(command, data, flags, names, exit_code, sets,
                                                                        tmp_path):
    """Stereo training clips, a mono --background/--aux and --channel 1: refused naming the mono file (a
    dataset's unreadable clips exit 1, as for the training data), so the channel reached the background or aux
    reader; nothing written."""
    args = [sets.get(f, f) for f in flags]
    code, _, err = invoke(command, sets[data], "-o", tmp_path / "m.pt", "--channel", "1", "-q", *args)
    line = one_error_line(err, command)
    assert code == exit_code and "channel=1 is out of range" in line and names in line, line
    assert not (tmp_path / "m.pt").exists()


def test_synth_background_reads_the_chosen_channel(tmp_path):
    """``lfkit synth --background --channel 1`` puts the tones into the target-free channel: no 777 Hz line in the
    clip (with channel 0 it dominates); ``--channel`` without ``--background`` is refused naming it, nothing written."""
    bg = tmp_path / "bg"
    bg.mkdir()
    _stereo_background(bg)
    cfg = SynthConfig(sr=SR, duration_s=1.0)

    def line_db(channel):
        out = tmp_path / f"c{channel}.wav"
        synthesize(str(out), cfg, snr="-10", seed=3, tones="300", background=str(bg), channel=channel)
        y, _ = io.read_audio(str(out))
        P = np.abs(np.fft.rfft(y)) ** 2
        f = np.fft.rfftfreq(len(y), 1 / SR)
        return 10 * np.log10(P[np.abs(f - 777) < 2].max() / np.median(P))

    assert line_db(0) > 40 and line_db(1) < 20
    code, _, err = invoke("synth", "-o", tmp_path / "set", "--positive", "300", "--n", "4", "--channel", "1")
    line = one_error_line(err, "synth")
    assert code == 2 and "channel=1" in line and "--background" in line, line
    assert not (tmp_path / "set").exists()
    code, _, err = invoke("synth", "-o", tmp_path / "set", "--positive", "300", "--n", "4", "--snr", "-10",
                          "--background", bg, "--channel", "1")
    assert code == 0, err
    import json
    assert json.loads((tmp_path / "set" / "synth.json").read_text())["channel"] == 1
