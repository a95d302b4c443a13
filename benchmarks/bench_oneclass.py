"""Benchmark: AUC of every one-class extractor x detector pair per SNR, with fit time (the paper's Table 2).

::

    python benchmarks/bench_oneclass.py            # every extractor x ocsvm, gmm, iforest
    python benchmarks/bench_oneclass.py --quick    # ocspeccnn and raw only
    python benchmarks/bench_oneclass.py --extractors ocspeccnn,raw,lenet --epochs 30

Train: ``lfkit synth -o DIR --positive 120,340,777 --positive-only --n 200 --snr -35:-20 --seed 0``.
Test: ``lfkit synth -o T --positive 120,340,777 --n 200 --snr S --seed 11..14`` for S = -35, -30,
-25, -20 dB: half positives, half negatives, half of which share one or two of the target's tones.

Each extractor is fitted once (:func:`lfkit.oneclass.fit_extractor`, the code
``train-oneclass`` runs), then each detector is fitted on its embeddings of the
positives; AUC is of the detector's score on the test sets. ``fit s`` is the
extractor's time (shared by its three rows) plus the detector's.
Prints a Markdown table and writes ``benchmarks/out/oneclass.json``.
Aim (issue 4): ocspeccnn + ocsvm AUC >= 0.95 at -30 dB, >= 0.99 at -25 dB and above.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SNRS = [-35, -30, -25, -20]
POSITIVE = "120,340,777"
QUICK = ["ocspeccnn", "raw"]


def make_sets(work: Path, n_train: int, n_test: int):
    from lfkit.config import SynthConfig
    from lfkit.synth import synthesize

    train = work / f"train_pos_n{n_train}"
    if not (train / "labels.csv").exists():
        synthesize(str(train), SynthConfig(), snr="-35:-20", seed=0, positive=POSITIVE, n=n_train, positive_only=True)
    tests = {}
    for i, snr in enumerate(SNRS):
        d = work / f"test_snr{snr}_n{n_test}"
        if not (d / "labels.csv").exists():
            synthesize(str(d), SynthConfig(), snr=str(snr), seed=11 + i, positive=POSITIVE, n=n_test)
        tests[snr] = d
    return train, tests


def main(argv=None) -> int:
    from lfkit.config import OneClassConfig
    from lfkit.data import load_dataset
    from lfkit.detectors import detector_names
    from lfkit.metrics import roc_auc
    from lfkit.oneclass import build_detector, calibration_negatives, extractor_names, fit_extractor

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="ocspeccnn and raw only")
    ap.add_argument("--extractors", default=None, help="comma-separated (default: every extractor)")
    ap.add_argument("--detectors", default=",".join(detector_names()) + ",ocsvm:scale",
                    help="comma-separated; ocsvm:scale is the one-class SVM with gamma='scale'")
    ap.add_argument("--epochs", type=int, default=OneClassConfig().epochs)
    ap.add_argument("--n-surrogate", type=int, default=OneClassConfig().n_surrogate)
    ap.add_argument("--n-train", type=int, default=200)
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=str(HERE / "out" / "oneclass.json"))
    args = ap.parse_args(argv)
    extractors = args.extractors.split(",") if args.extractors else (QUICK if args.quick else list(extractor_names()))
    detectors = args.detectors.split(",")
    work = HERE / "out" / "oneclass_work"
    work.mkdir(parents=True, exist_ok=True)
    train, tests = make_sets(work, args.n_train, args.n_test)
    ds = load_dataset(str(train))
    X_pos, rows = ds.X, ds.rows
    test_data = {}
    for snr, d in tests.items():
        t = load_dataset(str(d))
        test_data[snr] = (t.X, np.array([lab == "positive" for lab in t.labels], dtype=int))
    results = []
    for ext in extractors:
        cfg = OneClassConfig(extractor=ext, epochs=args.epochs, n_surrogate=args.n_surrogate, device=args.device)
        t0 = time.perf_counter()
        hook = {"on_epoch": lambda r: print(f"  {ext} epoch {r['epoch']} loss {r['loss']:.3f} "
                                            f"val_acc {r.get('val_accuracy', 0):.3f}", file=sys.stderr, flush=True)}
        fitted = fit_extractor(ds, X_pos, rows, cfg, hooks=hook)
        t_ext = time.perf_counter() - t0
        embed = fitted["embed"]
        Z = embed(X_pos)
        Z_test = {snr: embed(X) for snr, (X, _) in test_data.items()}
        Z_neg = embed(calibration_negatives(ds, X_pos, rows, cfg, fitted["info"]))
        np.savez(work / f"emb_{ext}.npz", Z=Z, Z_neg=Z_neg, **{f"Z_test{s}": z for s, z in Z_test.items()})
        for spec in detectors:
            det_name, _, gamma = spec.partition(":")  # "ocsvm:scale": another gamma
            det = build_detector(cfg.replace(detector=det_name, **({"gamma": gamma} if gamma else {})))
            t1 = time.perf_counter()
            det.fit(Z, X_neg=Z_neg if det_name == "gmm" else None)
            t_det = time.perf_counter() - t1
            aucs = {snr: float(roc_auc(y, det.score_samples(Z_test[snr]))) for snr, (_, y) in test_data.items()}
            rec = {"extractor": ext, "detector": spec, "auc": aucs, "fit_s": t_ext + t_det,
                   "extractor_s": t_ext, "detector_s": t_det, "epochs_run": len(fitted["history"]),
                   "embedding_dim": int(Z.shape[1]),
                   "train_below_threshold": float((det.score_samples(Z) < det.threshold_).mean())}
            results.append(rec)
            print(f"{ext:10s} {spec:12s} " + " ".join(f"{aucs[s]:.3f}" for s in SNRS) + f"  {rec['fit_s']:.1f}s",
                  flush=True)
    out = {"snrs_db": SNRS, "n_train": args.n_train, "n_test": args.n_test, "epochs": args.epochs,
           "n_surrogate": args.n_surrogate, "results": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print()
    print("| extractor | detector | " + " | ".join(f"AUC {s} dB" for s in SNRS) + " | fit s |")
    print("|---|---|" + "---:|" * (len(SNRS) + 1))
    for r in results:
        print(f"| {r['extractor']} | {r['detector']} | " + " | ".join(f"{r['auc'][s]:.3f}" for s in SNRS)
              + f" | {r['fit_s']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
