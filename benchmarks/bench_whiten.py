"""Benchmark: the ``whiten`` front end (noise-floor normalisation) against ``log`` and ``pcen`` for a CNN.

Trains ``lfkit train-binary`` on lfkit's default training set (white noise,
``--positive 120,340,777 --n N --snr -35:-20 --seed 0``) once per kind, band
0-1000 Hz, n_fft 4096, then scores test sets the training never saw: white
noise, and pink and brown noise with ``--jitter-hz 1.5 --gain-spread-db 3``
(the pink sets' SNR raised by 12.4 dB, the local penalty
``bench_knowntone.py`` explains, so their weakest line is as strong as in white
noise). Prints AUC per kind, condition and SNR::

    nice -n 10 python benchmarks/bench_whiten.py --n 400 --n-test 200 --epochs 20
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LFKIT = [shutil.which("lfkit")] if shutil.which("lfkit") else [sys.executable, "-m", "lfkit_cli.main"]
POSITIVE = "120,340,777"
KINDS = ("log", "whiten", "pcen")
SNRS = (-30, -25)
CONDITIONS = {"white": [], "pink j1.5 g3": ["--noise", "pink", "--jitter-hz", "1.5", "--gain-spread-db", "3"],
              "brown j1.5 g3": ["--noise", "brown", "--jitter-hz", "1.5", "--gain-spread-db", "3"]}
SNR_SHIFT = {"pink j1.5 g3": 12.4}


def lfkit(*args) -> None:
    proc = subprocess.run([*LFKIT, *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"lfkit {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}")


def auc(scores: Path, data: Path) -> float:
    from lfkit.metrics import roc_auc

    with open(data / "labels.csv", newline="") as fh:
        label = {r["path"]: r["label"] for r in csv.DictReader(fh)}
    recs = [json.loads(line) for line in scores.read_text().splitlines() if line.strip()]
    y = np.array([label[Path(r["path"]).name] == "positive" for r in recs], dtype=int)
    return float(roc_auc(y, np.array([r["score"] for r in recs])))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400, help="training clips")
    ap.add_argument("--n-test", type=int, default=200, help="clips per test set")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("-o", "--output", default=None, help="write the table as JSON here")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    table = {}
    with tempfile.TemporaryDirectory(prefix="bench_whiten_") as tmp:
        work = Path(tmp)
        lfkit("synth", "-o", work / "train", "--positive", POSITIVE, "--n", args.n, "--snr", "-35:-20", "--seed", 0)
        tests = {}
        for ci, (name, knobs) in enumerate(CONDITIONS.items()):
            for si, snr in enumerate(SNRS):
                d = work / f"test_{ci}_{si}"
                lfkit("synth", "-o", d, "--positive", POSITIVE, "--n", args.n_test,
                      "--snr", snr + SNR_SHIFT.get(name, 0.0), "--seed", 300 + 10 * ci + si, *knobs)
                tests[name, snr] = d
        for kind in KINDS:
            model = work / f"{kind}.pt"
            lfkit("train-binary", work / "train", "-o", model, "--kind", kind, "--epochs", args.epochs, "-q")
            for (name, snr), d in tests.items():
                out = work / f"{kind}_{d.name}.jsonl"
                lfkit("score", model, d, "-o", out, "-q")
                table.setdefault(kind, {}).setdefault(name, {})[snr] = auc(out, d)
    cols = [(name, snr) for name in CONDITIONS for snr in SNRS]
    print("| kind | " + " | ".join(f"{n} {s} dB" for n, s in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for kind, row in table.items():
        print(f"| {kind} | " + " | ".join(f"{row[n][s]:.3f}" for n, s in cols) + " |")
    print(f"\n{args.n} training clips, {args.epochs} epochs, {args.n_test} per test set; "
          f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if args.output:
        Path(args.output).write_text(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
