"""Benchmark: AUC of one-class extractors x detectors per SNR, with fit time (the paper's Table 2).

::

    python benchmarks/bench_oneclass.py --quick    # train-oneclass defaults (joint), its two parts, raw
    python benchmarks/bench_oneclass.py            # also every extractor x ocsvm, gmm, iforest
    python benchmarks/bench_oneclass.py --quick --profile dev --surrogates tones   # the development set

``--profile own`` (the reported numbers): train ``lfkit synth -o DIR --positive 120,340,777
--positive-only --n 200 --snr -35:-20 --seed 0``; test ``lfkit synth -o T --positive 120,340,777 --n 200
--snr S --seed 11..14`` for S = -35, -30, -25, -20 dB (half negatives, half of which share one or two of the
target's tones). ``--profile dev`` is the development set the surrogate mix was chosen on (never the
reported one): target 150,410,905 Hz, pink noise, 1 Hz jitter, 2 dB gain spread, other seeds.

The ``ocspeccnn`` rows run :func:`lfkit.oneclass.train_oneclass` itself (defaults of ``OneClassConfig``
unless flags say otherwise) and score with the model file; ``joint`` is the model's score, ``learned part``
and ``classical part`` its two halves alone (:meth:`lfkit.joint.JointOneClass.parts`). ``raw`` is the plain
time-averaged spectrum under the same detector. ``fit s`` is the whole training (wall, this machine).
Prints a Markdown table and writes ``benchmarks/out/oneclass.json``.
Aim (issues 4 and 10): ocspeccnn + ocsvm AUC >= 0.95 at -30 dB, >= 0.99 at -25 dB and above; the joint
score never below its classical part.
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
PROFILES = {
    "own": {"positive": "120,340,777", "synth": {}, "seed": 0},
    "dev": {"positive": "150,410,905", "synth": {"noise": "pink", "jitter_hz": 1.0, "gain_spread_db": 2.0}, "seed": 100},
}


def make_sets(work: Path, n_train: int, n_test: int, profile: str = "own"):
    from lfkit.config import SynthConfig
    from lfkit.synth import synthesize

    prof = PROFILES[profile]
    cfg = SynthConfig(**prof["synth"])
    tag = "" if profile == "own" else f"{profile}_"
    train = work / f"{tag}train_pos_n{n_train}"
    if not (train / "labels.csv").exists():
        synthesize(str(train), cfg, snr="-35:-20", seed=prof["seed"], positive=prof["positive"], n=n_train,
                   positive_only=True)
    tests = {}
    for i, snr in enumerate(SNRS):
        d = work / f"{tag}test_snr{snr}_n{n_test}"
        if not (d / "labels.csv").exists():
            synthesize(str(d), cfg, snr=str(snr), seed=prof["seed"] + 11 + i, positive=prof["positive"], n=n_test)
        tests[snr] = d
    return train, tests


def joint_rows(train, test_data, args, log) -> list:
    """train-oneclass as the CLI runs it; AUC of the joint score and of each of its parts."""
    from lfkit.config import OneClassConfig
    from lfkit.metrics import roc_auc
    from lfkit.modelfile import load_model
    from lfkit.inference.scorers import OneClassScorer
    from lfkit.oneclass import train_oneclass

    changes = {k: v for k, v in (("epochs", args.epochs), ("n_surrogate", args.n_surrogate),
                                  ("surrogates", args.surrogates)) if v is not None}
    cfg = OneClassConfig(device=args.device, **changes)
    model = Path(args.out).with_suffix(".pt")
    hook = {"on_epoch": lambda r: log(f"epoch {r['epoch']} loss {r['loss']:.3f} "
                                      f"val_acc {r.get('val_accuracy', 0):.3f} eta {r.get('eta_s', 0):.0f}s")}
    t0, c0 = time.perf_counter(), time.process_time()
    summary = train_oneclass(str(train), str(model), cfg=cfg, hooks=hook, notice=log)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    log(f"train_oneclass: {secs:.0f} s wall, {cpu:.0f} s CPU")
    scorer = OneClassScorer(load_model(str(model)))
    aucs = {"joint": {}, "learned part": {}, "classical part": {}}
    for snr, (X, y) in test_data.items():
        Z = scorer.embed_batch(X)
        s_learned = scorer.detector.score_samples(Z)
        s_c, s_l = scorer.joint.parts(X, s_learned)
        aucs["joint"][snr] = float(roc_auc(y, scorer.joint.score(X, s_learned)))
        aucs["learned part"][snr] = float(roc_auc(y, s_l))
        aucs["classical part"][snr] = float(roc_auc(y, s_c))
    return [{"extractor": f"{cfg.extractor} ({part})", "detector": cfg.detector, "auc": a, "fit_s": secs, "cpu_s": cpu,
             "epochs_run": summary["epochs_run"], "joint_weight": summary["joint_weight"],
             "joint_dev_auc": summary["joint_dev_auc"], "surrogates": cfg.surrogates, "epochs": cfg.epochs}
            for part, a in aucs.items()]


def main(argv=None) -> int:
    from lfkit.config import OneClassConfig
    from lfkit.data import load_dataset
    from lfkit.detectors import detector_names
    from lfkit.metrics import roc_auc
    from lfkit.oneclass import build_detector, calibration_negatives, extractor_names, fit_extractor

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="train-oneclass defaults (joint and parts) and raw only")
    ap.add_argument("--profile", choices=sorted(PROFILES), default="own", help="own: reported; dev: development set")
    ap.add_argument("--extractors", default=None, help="comma-separated extra extractors (default: every one; quick: raw)")
    ap.add_argument("--detectors", default=",".join(detector_names()) + ",ocsvm:scale",
                    help="comma-separated; ocsvm:scale is the one-class SVM with gamma='scale'")
    ap.add_argument("--epochs", type=int, default=None, help=f"[default: OneClassConfig's {OneClassConfig().epochs}]")
    ap.add_argument("--n-surrogate", type=int, default=None)
    ap.add_argument("--surrogates", default=None, help=f"[default: {OneClassConfig().surrogates}]")
    ap.add_argument("--n-train", type=int, default=200)
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=str(HERE / "out" / "oneclass.json"))
    args = ap.parse_args(argv)

    def log(msg):
        print(f"[bench_oneclass {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    extractors = args.extractors.split(",") if args.extractors else (["raw"] if args.quick else list(extractor_names()))
    detectors = args.detectors.split(",") if not args.quick else ["ocsvm"]
    work = HERE / "out" / "oneclass_work"
    work.mkdir(parents=True, exist_ok=True)
    train, tests = make_sets(work, args.n_train, args.n_test, args.profile)
    ds = load_dataset(str(train))
    X_pos, rows = ds.X, ds.rows
    test_data = {}
    for snr, d in tests.items():
        t = load_dataset(str(d))
        test_data[snr] = (t.X, np.array([lab == "positive" for lab in t.labels], dtype=int))
    from lfkit.oneclass_sets import positive_waves

    Y_pos = positive_waves(ds, rows)
    results = joint_rows(train, test_data, args, log)  # kept: the JSON holds the defaults' rows too
    for rec in results:
        print(f"{rec['extractor']:26s} {rec['detector']:8s} " + " ".join(f"{rec['auc'][s]:.3f}" for s in SNRS)
              + f"  {rec['fit_s']:.1f}s  w={rec['joint_weight']}", flush=True)
    base = {k: v for k, v in (("epochs", args.epochs), ("n_surrogate", args.n_surrogate),
                               ("surrogates", args.surrogates)) if v is not None}
    for ext in extractors:
        cfg = OneClassConfig(extractor=ext, device=args.device, **base)
        t0 = time.perf_counter()
        hook = {"on_epoch": lambda r: print(f"  {ext} epoch {r['epoch']} loss {r['loss']:.3f} "
                                            f"val_acc {r.get('val_accuracy', 0):.3f}", file=sys.stderr, flush=True)}
        fitted = fit_extractor(ds, X_pos, rows, cfg, hooks=hook, Y_pos=Y_pos)
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
    argv = sys.argv[1:] if argv is None else list(argv)
    out = {"command": " ".join(["python benchmarks/bench_oneclass.py", *argv]), "profile": args.profile,
           "snrs_db": SNRS, "n_train": args.n_train, "n_test": args.n_test, "results": results}
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
