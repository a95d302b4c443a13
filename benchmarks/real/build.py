"""Build the real-recordings benchmark: labelled sets for the three regimes from freepats' recorded samples.

    python benchmarks/real/build.py --out DIR [--quick] [--seed 0]

Installs Debian's ``freepats`` package if it is missing (``apt-get install -y
freepats``: recorded instrument samples, GPL-2+ with a composition
exception), parses its GUS patches (``gus.py``) and renders notes by
resampling a recorded sample to the wanted pitch. Clips are 1.5 s, 22.05 kHz,
16-bit mono WAV, scaled to a peak of 0.9. White Gaussian noise is added at a
**full-band SNR**: ``10*log10(P_signal / sigma**2)``, ``P_signal`` the mean
square of the rendered note over the clip, ``sigma**2`` the noise variance
over the whole band (0 to 11.025 kHz).

Sets written under DIR (each an lfkit dataset: ``labels.csv`` with ``path,
label,snr_db,source,note_hz,semitones,group,recording``):

* ``main/train``, ``main/test``: target = French horn on A3 (220 Hz);
  negatives = the horn 1-4 semitones away (``group=shifted``, hard: the same
  timbre) and six other sources on A3 (``other_seen``); the test set adds four
  sources never seen in training (``other_unseen``). Train clips take the 4
  SNRs in turn; the test set has every SNR.
* ``hum/train``, ``hum/test``: the same design below 1 kHz: target = tuba on
  A2 (110 Hz), sources low-passed at 1 kHz (8th-order Butterworth, zero phase)
  before the noise, which stays full band.
* ``main/oneclass``, ``hum/oneclass``: the training positives only (the
  one-class training set); the one-class test set is ``*/test``.
* ``siamese/train``: identities (source, note) of 8 sources x 3 notes;
  ``siamese/enroll_<snr>`` and ``siamese/test_<snr>``: 12 identities of 4
  other sources (disjoint from training), 5 enrolment and 10 test clips each.

Split by recording: each patch's samples (separate recordings at different
pitches) alternate between train and test in order of pitch, and a note is
rendered from the nearest sample of its own split; a patch with a single
sample is split by where in the recording the clip starts (train 0-0.15 s,
test 0.15-0.3 s). Each clip also gets a random detune of up to 10 cents.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gus import read_patch, render_note  # noqa: E402

FREEPATS = Path("/usr/share/midi/freepats/Tone_000")
SR, DURATION_S, PEAK = 22050, 1.5, 0.9
SNRS = (0, -10, -20, -30)
SHIFTS = (-4, -3, -2, -1, 1, 2, 3, 4)

#: name -> (target, note_hz, seen other sources, test-only sources, low-pass Hz)
DESIGNS = {
    "main": ("060_French_Horn", 220.0,
             ("000_Acoustic_Grand_Piano", "024_Nylon_Guitar", "042_Cello", "066_Tenor_Sax", "019_Church_Organ",
              "048_String_Ensemble_1_Marcato"),
             ("057_Trombone", "026_Jazz_Guitar", "053_Voice_Oohs", "071_Clarinet"), None),
    "hum": ("058_Tuba", 110.0,
            ("019_Church_Organ", "016_Hammond_Organ", "070_Bassoon", "032_Acoustic_Bass", "060_French_Horn",
             "042_Cello"),
            ("057_Trombone", "067_Baritone_Sax", "033_Finger_Bass", "038_Synth_Bass_1"), 1000.0),
}
SIAMESE_TRAIN = ("000_Acoustic_Grand_Piano", "024_Nylon_Guitar", "042_Cello", "066_Tenor_Sax", "019_Church_Organ",
                 "048_String_Ensemble_1_Marcato", "060_French_Horn", "040_Violin")
SIAMESE_TEST = ("057_Trombone", "026_Jazz_Guitar", "053_Voice_Oohs", "071_Clarinet")
SIAMESE_NOTES = (196.0, 220.0, 261.63)


def ensure_freepats(log) -> None:
    """Install Debian's freepats if its patches are not there yet."""
    if FREEPATS.is_dir():
        return
    cmd = ["apt-get", "install", "-y", "freepats"]
    if os.geteuid() != 0:
        cmd = ["sudo", "-n", *cmd]
    log(f"installing freepats: {' '.join(cmd)}")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    if not FREEPATS.is_dir():
        raise SystemExit(f"freepats installed but {FREEPATS} is missing")


class Source:
    """A patch's recordings, split into train and test recordings."""

    def __init__(self, name: str):
        self.name = name
        samples = sorted(read_patch(FREEPATS / f"{name}.pat"), key=lambda s: s.root_hz)
        self.shared = len(samples) < 2
        self.split = {"train": samples if self.shared else samples[0::2],
                      "test": samples if self.shared else samples[1::2]}
        self.index = {id(s): i for i, s in enumerate(samples)}

    def render(self, freq_hz: float, split: str, rng, lowpass_hz=None) -> tuple:
        """One clip of this source at ``freq_hz`` from a ``split`` recording: (y, recording index)."""
        pool = self.split[split]
        s = min(pool, key=lambda s: abs(np.log2(freq_hz / s.root_hz)))
        lo = 0.0 if not self.shared or split == "train" else 0.15
        offset_s = rng.uniform(lo, lo + 0.15)
        detune = 2.0 ** (rng.uniform(-10, 10) / 1200)
        y = render_note(s, freq_hz * detune, SR, int(SR * DURATION_S), offset_s).astype(np.float64)
        if lowpass_hz is not None:
            from scipy.signal import butter, sosfiltfilt

            y = sosfiltfilt(butter(8, lowpass_hz, fs=SR, output="sos"), y)
        return y, self.index[id(s)]


def add_noise(y: np.ndarray, snr_db: float, rng) -> np.ndarray:
    """``y`` plus white noise at full-band SNR ``snr_db``, scaled to a peak of PEAK."""
    p = float(np.mean(y**2))
    if p <= 0:
        raise ValueError("silent rendering")
    x = y + rng.normal(0.0, np.sqrt(p / 10 ** (snr_db / 10)), len(y))
    return x * (PEAK / np.max(np.abs(x)))


def write_set(folder: Path, clips: list) -> None:
    """Write ``clips`` (dicts with ``y`` and label columns) as an lfkit dataset, atomically."""
    import soundfile as sf

    tmp = folder.with_name(folder.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cols = ["path", "label", "snr_db", "source", "note_hz", "semitones", "group", "recording"]
    with open(tmp / "labels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for i, c in enumerate(clips):
            name = f"c{i:05d}.wav"
            sf.write(tmp / name, c["y"].astype(np.float32), SR, subtype="PCM_16")
            w.writerow({"path": name, **{k: c[k] for k in cols[1:]}})
    if folder.exists():
        if not (folder / "labels.csv").exists():
            raise SystemExit(f"{folder} exists and is not a dataset this script wrote; not replacing it")
        shutil.rmtree(folder)
    tmp.rename(folder)


def _clip(src, freq, split, snr, rng, lowpass, label, group, shift=0):
    y, rec = src.render(freq, split, rng, lowpass)
    return {"y": add_noise(y, snr, rng), "label": label, "snr_db": snr, "source": src.name,
            "note_hz": round(freq, 2), "semitones": shift, "group": group, "recording": rec}


def binary_sets(design: str, quick: bool, rng) -> tuple:
    """(train clips, test clips) of one design: half targets, half negatives of each kind."""
    target, note, seen, unseen, lowpass = DESIGNS[design]
    T, S, U = Source(target), [Source(n) for n in seen], [Source(n) for n in unseen]
    k = 1 if quick else 2
    train, test = [], []
    # train: 72k targets, 36k shifted, 36k seen others, SNRs in turn; test per SNR: 20k / 8k / 6k / 6k
    n_pos = 72 * k
    for i in range(n_pos):
        train.append(_clip(T, note, "train", SNRS[i % 4], rng, lowpass, "positive", "target"))
    for i in range(n_pos // 2):
        sh = SHIFTS[i % len(SHIFTS)]
        train.append(_clip(T, note * 2 ** (sh / 12), "train", SNRS[(i // len(SHIFTS)) % 4], rng, lowpass,
                           "negative", "shifted", sh))
    for i in range(n_pos // 2):
        train.append(_clip(S[i % len(S)], note, "train", SNRS[(i // len(S)) % 4], rng, lowpass, "negative",
                           "other_seen"))
    for snr in SNRS:
        for _ in range(20 * k):
            test.append(_clip(T, note, "test", snr, rng, lowpass, "positive", "target"))
        for i in range(8 * k):
            sh = SHIFTS[i % len(SHIFTS)]
            test.append(_clip(T, note * 2 ** (sh / 12), "test", snr, rng, lowpass, "negative", "shifted", sh))
        for i in range(6 * k):
            test.append(_clip(S[i % len(S)], note, "test", snr, rng, lowpass, "negative", "other_seen"))
        for i in range(6 * k):
            test.append(_clip(U[i % len(U)], note, "test", snr, rng, lowpass, "negative", "other_unseen"))
    return train, test


def siamese_sets(quick: bool, rng) -> dict:
    """Training identities and per-SNR enrolment / test sets of unseen identities."""
    n_train, n_enroll, n_test = (10, 5, 5) if quick else (20, 5, 10)
    sets = {"train": []}
    for name in SIAMESE_TRAIN:
        src = Source(name)
        for note in SIAMESE_NOTES:
            for i in range(n_train):
                sets["train"].append(_clip(src, note, "train", SNRS[i % 4], rng, None, f"{name}@{note:g}",
                                           "identity"))
    test_sources = [Source(n) for n in SIAMESE_TEST]
    for snr in SNRS:
        for part, n, split in (("enroll", n_enroll, "train"), ("test", n_test, "test")):
            clips = []
            for src in test_sources:
                for note in SIAMESE_NOTES:
                    clips += [_clip(src, note, split, snr, rng, None, f"{src.name}@{note:g}", "identity")
                              for _ in range(n)]
            sets[f"{part}_{snr}"] = clips
    return sets


def build(out: Path, quick: bool = False, seed: int = 0, log=print) -> dict:
    """Render every set under ``out``; returns the manifest written to ``out/manifest.json``."""
    ensure_freepats(log)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    counts = {}
    for design in DESIGNS:
        train, test = binary_sets(design, quick, rng)
        write_set(out / design / "train", train)
        write_set(out / design / "test", test)
        write_set(out / design / "oneclass", [c for c in train if c["label"] == "positive"])
        counts[design] = {"train": len(train), "test": len(test)}
        log(f"{design}: {len(train)} training clips, {len(test)} test clips")
    for part, clips in siamese_sets(quick, rng).items():
        write_set(out / "siamese" / part, clips)
        counts[f"siamese/{part}"] = len(clips)
    log(f"siamese: {counts['siamese/train']} training clips")
    manifest = {"quick": quick, "seed": seed, "sr": SR, "duration_s": DURATION_S, "snrs_db": list(SNRS),
                "snr_definition": "10*log10(P_signal/sigma^2), full band, white Gaussian noise",
                "designs": {k: {"target": v[0], "note_hz": v[1], "seen": list(v[2]), "unseen": list(v[3]),
                                "lowpass_hz": v[4]} for k, v in DESIGNS.items()},
                "siamese": {"train_sources": list(SIAMESE_TRAIN), "test_sources": list(SIAMESE_TEST),
                            "notes_hz": list(SIAMESE_NOTES)},
                "counts": counts, "source": "Debian package freepats 20060219 (GPL-2+, composition exception)"}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for the sets (created; only its set folders are replaced)")
    ap.add_argument("--quick", action="store_true", help="half the clips")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    build(Path(args.out), args.quick, args.seed,
          log=lambda m: print(f"[real/build {time.strftime('%H:%M:%S')}] {m}", file=sys.stderr, flush=True))
    print(f"[real/build] done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
