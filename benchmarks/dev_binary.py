"""Development set for train-binary's defaults (issue 9 items 5-7): choices made here, never on a test set.

    nice -n 10 python benchmarks/dev_binary.py --variants plain,mean,mean+aug

Trains on the README's set, ``lfkit synth -o train --positive 120,340,777
--n 400 --snr -35:-20 --seed 0``, with ``lfkit train-binary`` under each
variant's flags, and scores development sets that no reported benchmark
uses (seeds 500+):

* ``white``: lfkit's generator as trained, white noise;
* ``mismatch``: pink and brown noise (half each), ``--jitter-hz 1.5
  --gain-spread-db 3``, conditions the training never saw.

``--n`` clips per set and SNR (-35/-30/-25/-20 dB). Prints AUC per SNR,
the accuracy at the model's stored threshold, and the training time;
writes ``benchmarks/out/dev_binary.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from bench_binary import SNRS, lfkit, synth_once  # beside this script: the same runner and cached sets

HERE = Path(__file__).resolve().parent

#: Variant name -> train-binary flags.
VARIANTS = {
    "plain": ["--no-mean-branch", "--augment", "none"],
    "mean": ["--augment", "none"],
    "plain+aug": ["--no-mean-branch"],
    "mean+aug": [],
    "mean+aug-pitch": ["--augment", "gain,shift,noise,tmask"],
    "mean+aug+fmask": ["--augment", "gain,shift,noise,pitch,tmask,fmask"],
    "mean+aug-hard": ["--augment-snr", "-5:10"],
    "mean+aug1": ["--augment-copies", "1"],
    "mean+aug+ens3": ["--ensemble", "3"],
}


def make_sets(work: Path, n_train: int, n_dev: int) -> tuple[Path, dict]:
    train = synth_once(work / f"train_n{n_train}", n_train, "-35:-20", 0)
    sets = {}
    for i, snr in enumerate(SNRS):
        sets[("white", snr)] = [synth_once(work / f"white_{snr}_n{n_dev}", n_dev, snr, 500 + i)]
        sets[("mismatch", snr)] = [
            synth_once(work / f"{colour}_{snr}_n{n_dev // 2}", n_dev // 2, snr, 600 + 10 * i + j,
                       "--noise", colour, "--jitter-hz", 1.5, "--gain-spread-db", 3)
            for j, colour in enumerate(("pink", "brown"))
        ]
    return train, sets


def run_variant(name: str, flags: list, train: Path, sets: dict, work: Path, epochs: int) -> dict:
    from lfkit.metrics import roc_auc

    model = work / f"{name}.pt"
    t0 = time.perf_counter()
    lfkit("train-binary", train, "-o", model, "--epochs", epochs, "-q", *flags)
    train_s = time.perf_counter() - t0
    folders = sorted({d for ds in sets.values() for d in ds})
    out = work / f"{name}.scores.jsonl"
    lfkit("score", model, *folders, "-o", out, "-q")
    recs = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    by_dir: dict = {}
    for r in recs:
        by_dir.setdefault(str(Path(r["path"]).parent), []).append(r)
    row = {"variant": name, "flags": flags, "train_s": round(train_s, 1), "auc": {}, "acc": {}}
    for (cond, snr), ds in sets.items():
        rs = [r for d in ds for r in by_dir[str(d.resolve())]]
        y = np.array([r["label"] == "positive" for r in rs], dtype=int)
        s = np.array([r["score"] for r in rs])
        row["auc"][f"{cond} {snr}"] = round(float(roc_auc(y, s)), 4)
        row["acc"][f"{cond} {snr}"] = round(float(np.mean([r["decision"] == bool(t) for r, t in zip(rs, y)])), 4)
    for cond in ("white", "mismatch"):
        row["auc"][f"{cond} mean"] = round(float(np.mean([row["auc"][f"{cond} {s}"] for s in SNRS])), 4)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default="plain,mean,mean+aug", help=f"comma-separated, from {', '.join(VARIANTS)}")
    ap.add_argument("--n-train", type=int, default=400)
    ap.add_argument("--n", type=int, default=100, help="clips per development set and SNR")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--work", default=str(HERE / "out" / "dev_binary_work"))
    ap.add_argument("-o", "--output", default=str(HERE / "out" / "dev_binary.json"))
    args = ap.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    train, sets = make_sets(work, args.n_train, args.n)
    out = Path(args.output)
    prev = json.loads(out.read_text()) if out.exists() else {"rows": []}
    rows = [r for r in prev.get("rows", []) if r["variant"] not in args.variants.split(",")]
    for name in [v.strip() for v in args.variants.split(",") if v.strip()]:
        row = run_variant(name, VARIANTS[name], train, sets, work, args.epochs)
        rows.append(row)
        print(f"{name}: white {row['auc']['white mean']:.3f}, mismatch {row['auc']['mismatch mean']:.3f}, "
              f"train {row['train_s']:.0f} s", file=sys.stderr, flush=True)
        out.write_text(json.dumps({"n_train": args.n_train, "n_dev": args.n, "epochs": args.epochs,
                                   "load_avg": os.getloadavg(), "rows": rows}, indent=2) + "\n")
    keys = [f"{c} {s}" for c in ("white", "mismatch") for s in SNRS]
    print("| variant | " + " | ".join(keys) + " | white mean | mismatch mean | train s |")
    print("|---" * (len(keys) + 4) + "|")
    for r in rows:
        print(f"| {r['variant']} | " + " | ".join(f"{r['auc'][k]:.3f}" for k in keys)
              + f" | {r['auc']['white mean']:.3f} | {r['auc']['mismatch mean']:.3f} | {r['train_s']:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
