"""Benchmark: detection timing in long recordings, scoring speed and peak memory of ``lfkit score``.

Recordings are made as ``examples/selections/make_recordings.py`` makes them
(8 kHz, a gently coloured noise floor, a three-line tonal target of 2-5 s
at -6 dB every 6-20 s, and decoys of other tones), but written a minute at
a time, so a 10-hour file is never in memory here either. Two detectors:

* ``knowntone`` told the target's three tones (no training);
* a small Spec-CNN (``train-binary``, 6 epochs) trained on ``lfkit clips``
  cut from three annotated 2-minute recordings (Raven tables), as in
  ``examples/selections``.

Each scores the evaluation files with ``lfkit score MODEL FILE --chunk 1
--chunk-hop 0.25 --detections --format raven --workers 1``; an event matches a true
one when they overlap (one to one, the nearest begin). Reported: median
and 90th-percentile begin and end errors (s), event precision and recall,
hours of audio per second of wall time, and the peak resident memory of
the ``lfkit score`` process (``ru_maxrss`` from ``os.wait4``).

::

    python benchmarks/bench_detections.py                 # 1-hour and 10-hour files
    python benchmarks/bench_detections.py --hours 1 3     # other lengths
    python benchmarks/bench_detections.py --quick         # 0.25 and 0.5 hour: a smoke run

Aims (issue 13): median begin and end error under half a window (0.5 s);
on a 10-hour file, memory under 500 MB. Writes ``benchmarks/out/detections.json``
and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LFKIT = [shutil.which("lfkit")] if shutil.which("lfkit") else [sys.executable, "-m", "lfkit_cli.main"]
SR = 8000
TARGET_HZ = (440.0, 660.0, 990.0)
DECOY_HZ = ((300.0, 520.0), (700.0, 1200.0))
WINDOW_S, HOP_S = 1.0, 0.25
SNR_DB = -6.0


def run(*args, env=None):
    """``lfkit ARGS`` as a child process: (wall seconds, peak RSS in MB); exits on failure."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([*LFKIT, *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"lfkit {' '.join(map(str, args))} failed ({proc.returncode}):\n{err}")
    return wall, usage.ru_maxrss / 1024.0  # Linux: kilobytes


def _events(seconds: float, rng):
    """Target and decoy events as make_recordings.py places them: [(begin, end, tones, phases, is_target)]."""
    out, t = [], rng.uniform(3, 10)
    while t < seconds - 8:
        dur = rng.uniform(2, 5)
        target = rng.random() < 0.7
        hz = TARGET_HZ if target else DECOY_HZ[rng.integers(len(DECOY_HZ))]
        out.append((round(t, 3), round(t + dur, 3), hz, rng.uniform(0, 2 * np.pi, len(hz)), target))
        t += dur + rng.uniform(6, 20)
    return out


def write_recording(path: Path, hours: float, seed: int, block_s: float = 60.0):
    """Write one recording a block at a time; returns its true target events [(begin, end)] in seconds."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    seconds = hours * 3600.0
    events = _events(seconds, rng)
    amp = np.sqrt(2 * 10 ** (SNR_DB / 10))
    tail = np.zeros(7)
    with sf.SoundFile(str(path), "w", SR, 1, subtype="PCM_16") as f:
        for b0 in np.arange(0.0, seconds, block_s):
            i0, i1 = int(round(b0 * SR)), int(round(min(seconds, b0 + block_s) * SR))
            white = np.concatenate([tail, rng.normal(size=i1 - i0)])
            tail = white[-7:]
            y = np.convolve(white, np.ones(8) / 8, mode="valid") / np.sqrt(1 / 8)  # coloured, unit variance
            t = np.arange(i0, i1) / SR
            for b, e, hz, ph, _ in events:
                if e <= t[0] or b >= t[-1]:
                    continue
                on = (t >= b) & (t < e)
                y[on] += amp * sum(np.sin(2 * np.pi * h * t[on] + p) for h, p in zip(hz, ph)) / len(hz)
            f.write((0.02 * y).astype(np.float32))  # peak well under full scale at these levels
    return [(b, e) for b, e, _, _, target in events if target]


def match(det, truth):
    """One-to-one overlap matching: (begin errors, end errors, precision, recall)."""
    used, begin_err, end_err = set(), [], []
    for b, e in truth:
        cand = [k for k, (db, de) in enumerate(det) if db < e and de > b and k not in used]
        if cand:
            k = min(cand, key=lambda k: abs(det[k][0] - b))
            used.add(k)
            begin_err.append(abs(det[k][0] - b))
            end_err.append(abs(det[k][1] - e))
    precision = len(used) / len(det) if det else float("nan")
    recall = len(used) / len(truth) if truth else float("nan")
    return begin_err, end_err, precision, recall


def read_raven(path: Path):
    with open(path, newline="") as fh:
        return [(float(r["File Offset (s)"]), float(r["File Offset (s)"]) + float(r["End Time (s)"])
                 - float(r["Begin Time (s)"])) for r in csv.DictReader(fh, delimiter="\t")]


def _pct(xs, q):
    return float(np.percentile(xs, q)) if xs else float("nan")


def train_models(work: Path, epochs: int):
    """knowntone (the target's tones) and a Spec-CNN trained on ``lfkit clips`` of annotated recordings."""
    models = {}
    kt = work / "knowntone.pt"
    ann = work / "annotated"
    if not (work / "clips" / "labels.csv").exists():
        ann.mkdir(parents=True, exist_ok=True)
        for k in range(3):
            truth = write_recording(ann / f"site{k}.wav", 2 / 60, seed=100 + k)
            with open(ann / f"site{k}.Table.1.selections.txt", "w", newline="") as fh:
                w = csv.writer(fh, delimiter="\t", lineterminator="\n")
                w.writerow(["Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)",
                            "High Freq (Hz)", "Annotation"])
                w.writerows([i, "Spectrogram 1", 1, b, e, 400, 1050, "target"] for i, (b, e) in enumerate(truth, 1))
        run("clips", ann, "-o", work / "clips", "--clip", 1, "--negatives", 120, "--seed", 0)
    if not kt.exists():
        run("train-binary", work / "clips", "-o", kt, "--arch", "knowntone", "--tones",
            ",".join(f"{h:g}" for h in TARGET_HZ), "-q")
    models["knowntone"] = kt
    cnn = work / "speccnn.pt"
    if epochs and not cnn.exists():
        run("train-binary", work / "clips", "-o", cnn, "--epochs", epochs, "--seed", 0, "-q")
    if epochs:
        models["speccnn"] = cnn
    return models


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, nargs="+", default=[1.0, 10.0], help="lengths of the scored files")
    ap.add_argument("--cnn-hours", type=float, default=1.0,
                    help="score the Spec-CNN on files up to this long (it is ~5x slower than knowntone on CPU)")
    ap.add_argument("--epochs", type=int, default=6, help="Spec-CNN epochs (0: knowntone only)")
    ap.add_argument("--work", default=str(HERE / "out" / "detections_work"))
    ap.add_argument("--quick", action="store_true", help="0.25 and 0.5 hour files")
    ap.add_argument("--keep", action="store_true", help="keep the long recordings (they are large)")
    a = ap.parse_args(argv)
    hours = [0.25, 0.5] if a.quick else a.hours
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    models = train_models(work, a.epochs)
    rows = []
    for h in hours:
        wav = work / f"rec_{h:g}h.wav"
        t0 = time.perf_counter()
        truth = write_recording(wav, h, seed=int(h * 1000))
        gen_s = time.perf_counter() - t0
        for name, model in models.items():
            if name != "knowntone" and h > a.cnn_hours:
                continue
            out = work / f"det_{name}_{h:g}h.txt"
            out.unlink(missing_ok=True)
            wall, rss = run("score", model, wav, "-o", out, "--chunk", WINDOW_S, "--chunk-hop", HOP_S,
                            "--detections", "--format", "raven", "--workers", 1, "-q")
            det = read_raven(out)
            be, ee, prec, rec = match(det, truth)
            rows.append({"model": name, "hours": h, "sample_rate_hz": SR, "true_events": len(truth),
                         "detected_events": len(det), "precision": prec, "recall": rec,
                         "begin_err_median_s": statistics.median(be) if be else float("nan"),
                         "begin_err_p90_s": _pct(be, 90),
                         "end_err_median_s": statistics.median(ee) if ee else float("nan"),
                         "end_err_p90_s": _pct(ee, 90), "wall_s": wall,
                         "audio_h_per_wall_s": h / wall, "peak_rss_mb": rss, "generate_s": gen_s})
            print(json.dumps(rows[-1]), flush=True)
        if not a.keep:
            wav.unlink()
    (HERE / "out").mkdir(exist_ok=True)
    info = {"window_s": WINDOW_S, "hop_s": HOP_S, "snr_db": SNR_DB, "cores": os.cpu_count(),
            "load_avg_1min_at_end": os.getloadavg()[0], "rows": rows}
    (HERE / "out" / "detections.json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"\n{SR} Hz mono, windows {WINDOW_S:g} s / hop {HOP_S:g} s, target at {SNR_DB:g} dB, "
          f"`lfkit score ... --detections --workers 1`, {os.cpu_count()} cores\n")
    print("| model | file (h) | true / detected | precision | recall | begin err median / p90 (s) "
          "| end err median / p90 (s) | audio h per wall s | wall (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['hours']:g} | {r['true_events']} / {r['detected_events']} | {r['precision']:.3f} "
              f"| {r['recall']:.3f} | {r['begin_err_median_s']:.3f} / {r['begin_err_p90_s']:.3f} "
              f"| {r['end_err_median_s']:.3f} / {r['end_err_p90_s']:.3f} | {r['audio_h_per_wall_s']:.3f} "
              f"| {r['wall_s']:.1f} | {r['peak_rss_mb']:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
