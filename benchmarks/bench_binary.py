"""Benchmark: AUC of every binary architecture per SNR, with training time.

Runs the commands users run (``lfkit synth``, ``train-binary``, ``score``,
``eval``) in subprocesses::

    python benchmarks/bench_binary.py                       # every architecture
    python benchmarks/bench_binary.py --archs speccnn,wave1d
    python benchmarks/bench_binary.py --quick               # small sets, 5 epochs

Train: ``lfkit synth -o DIR --positive 120,340,777 --n 400 --snr -35:-20 --seed 0``.
Test: one set per SNR (-35, -30, -25, -20 dB), ``--n 200``, seeds 101..104.
Prints a Markdown table and writes ``benchmarks/out/binary.json``.
Aim (issue 3): speccnn AUC >= 0.95 at -30 dB and >= 0.99 at -25 dB and above.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LFKIT = [shutil.which("lfkit")] if shutil.which("lfkit") else [sys.executable, "-m", "lfkit_cli.main"]
ARCHS = ["speccnn", "basiccnn", "lenet", "alexnet", "vgg16", "resnet", "inception", "wave1d"]
SNRS = [-35, -30, -25, -20]
POSITIVE = "120,340,777"


def lfkit(*args) -> subprocess.CompletedProcess:
    proc = subprocess.run([*LFKIT, *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"lfkit {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def synth_once(folder: Path, n: int, snr, seed: int, *flags) -> Path:
    """``lfkit synth`` a binary set of the target into ``folder`` unless it is already there (cached)."""
    if not (folder / "labels.csv").exists():
        lfkit("synth", "-o", folder, "--positive", POSITIVE, "--n", n, "--snr", snr, "--seed", seed, *flags)
    return folder


def make_sets(work: Path, n_train: int, n_test: int) -> tuple[Path, dict]:
    """Synthesize the training set and one test set per SNR (cached in ``work``)."""
    train = synth_once(work / f"train_n{n_train}", n_train, "-35:-20", 0)
    tests = {}
    for i, snr in enumerate(SNRS):
        tests[snr] = synth_once(work / f"test_snr{snr}_n{n_test}", n_test, snr, 101 + i)
    return train, tests


def bench_arch(arch: str, train: Path, tests: dict, work: Path, epochs: int) -> dict:
    model = work / f"{arch}.pt"
    t0 = time.perf_counter()
    lfkit("train-binary", train, "-o", model, "--arch", arch, "--epochs", epochs, "--log", work / f"{arch}.log.jsonl")
    train_s = time.perf_counter() - t0
    log = [json.loads(line) for line in (work / f"{arch}.log.jsonl").read_text().splitlines() if line.strip()]
    best = min(log, key=lambda r: (r.get("val_loss", r["loss"])))
    row = {"arch": arch, "train_s": round(train_s, 1), "epochs_run": len(log), "best_epoch": best["epoch"], "auc": {}}
    scores = work / f"{arch}.scores.jsonl"
    t0 = time.perf_counter()
    lfkit("score", model, *tests.values(), "-o", scores, "-q")
    row["score_s"] = round(time.perf_counter() - t0, 1)
    for snr, d in tests.items():
        proc = lfkit("eval", scores, "--labels", d / "labels.csv", "-q")
        m = json.loads(proc.stdout)
        row["auc"][str(snr)] = m["auc"]
        row.setdefault("pauc", {})[str(snr)] = m["pauc"]
    return row


def table(rows: list) -> str:
    head = "| arch | " + " | ".join(f"AUC {s} dB" for s in SNRS) + " | train s | epochs (best) |"
    sep = "|" + "---|" * (len(SNRS) + 3)
    lines = [head, sep]
    for r in rows:
        aucs = " | ".join(f"{r['auc'][str(s)]:.3f}" for s in SNRS)
        lines.append(f"| {r['arch']} | {aucs} | {r['train_s']:.0f} | {r['epochs_run']} ({r['best_epoch']}) |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", default=",".join(ARCHS), help="comma-separated architectures")
    ap.add_argument("--quick", action="store_true", help="n=100 train, n=60 test, 5 epochs")
    ap.add_argument("--epochs", type=int, default=None, help="most epochs (default 20; 5 with --quick)")
    ap.add_argument("--work", default=str(HERE / "out" / "binary_work"), help="folder for data and models")
    ap.add_argument("-o", "--output", default=str(HERE / "out" / "binary.json"))
    args = ap.parse_args(argv)
    n_train, n_test = (100, 60) if args.quick else (400, 200)
    epochs = args.epochs or (5 if args.quick else 20)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    train, tests = make_sets(work, n_train, n_test)
    rows = []
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    for arch in [a.strip() for a in args.archs.split(",") if a.strip()]:
        row = bench_arch(arch, train, tests, work, epochs)
        rows.append(row)
        print(f"{arch}: " + ", ".join(f"{s} dB {row['auc'][str(s)]:.3f}" for s in SNRS)
              + f"; train {row['train_s']:.0f} s", file=sys.stderr, flush=True)
        result = {"n_train": n_train, "n_test": n_test, "epochs": epochs, "snrs": SNRS, "cpus": os.cpu_count(),
                  "load_avg": os.getloadavg(), "rows": rows}
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")  # after every architecture
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
