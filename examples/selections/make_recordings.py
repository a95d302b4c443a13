"""Make long recordings with a target call at known times, and the Raven selection tables an annotator would draw.

Stands in for a season of field recordings annotated in Raven Pro: each
recording is pink-ish noise with a few target events (a tonal signature of
three lines, 2-5 s long) and a few decoys (other tones). The annotated
recordings get a Raven table (``NAME.Table.1.selections.txt``); the archive
recordings get the true event times in ``truth.csv`` only, to check the
detections against.

    python make_recordings.py --out build --n-annotated 3 --n-archive 4 --minutes 2 --seed 0
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 8000
TARGET_HZ = (440.0, 660.0, 990.0)
DECOY_HZ = ((300.0, 520.0), (700.0, 1200.0))


def _tone(hz, n, sr, rng):
    t = np.arange(n) / sr
    return sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) for f in hz) / len(hz)


def recording(minutes: float, rng, snr_db: float):
    """One recording: (samples, [(begin_s, end_s)] of the target events)."""
    n = int(minutes * 60 * SR)
    white = rng.normal(size=n)
    noise = np.convolve(white, np.ones(8) / 8, mode="same")  # a gently coloured floor
    noise /= noise.std()
    y = noise.copy()
    events, t = [], rng.uniform(3, 10)
    while t < minutes * 60 - 8:
        dur = rng.uniform(2, 5)
        i, j = int(t * SR), int((t + dur) * SR)
        amp = np.sqrt(2 * 10 ** (snr_db / 10))
        if rng.random() < 0.7:
            y[i:j] += amp * _tone(TARGET_HZ, j - i, SR, rng)
            events.append((round(t, 3), round(t + dur, 3)))
        else:
            y[i:j] += amp * _tone(DECOY_HZ[rng.integers(len(DECOY_HZ))], j - i, SR, rng)
        t += dur + rng.uniform(6, 20)
    return (0.1 * y / np.abs(y).max()).astype(np.float32), events


def raven_table(path: Path, events) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)",
                    "High Freq (Hz)", "Annotation"])
        for k, (b, e) in enumerate(events, 1):
            w.writerow([k, "Spectrogram 1", 1, b, e, 400, 1050, "target"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="build")
    ap.add_argument("--n-annotated", type=int, default=3)
    ap.add_argument("--n-archive", type=int, default=4)
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--snr", type=float, default=-6.0, help="per-event SNR, dB (signal power over noise variance)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    rng = np.random.default_rng(a.seed)
    out = Path(a.out)
    (out / "annotated").mkdir(parents=True, exist_ok=True)
    (out / "archive").mkdir(parents=True, exist_ok=True)
    for k in range(a.n_annotated):
        y, ev = recording(a.minutes, rng, a.snr)
        sf.write(out / "annotated" / f"site{k}.wav", y, SR)
        raven_table(out / "annotated" / f"site{k}.Table.1.selections.txt", ev)
    with open(out / "truth.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "begin_s", "end_s"])
        for k in range(a.n_archive):
            y, ev = recording(a.minutes, rng, a.snr)
            name = f"day{k}.wav"
            sf.write(out / "archive" / name, y, SR)
            w.writerows([name, b, e] for b, e in ev)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
