"""Benchmark of the siamese (few-shot) regime on signatures never seen in training.

Train on 20 random signatures (``lfkit synth --classes 20 --n 40 --snr
-38:-25 --seed 0``); enroll 12 new signatures (drawn with another seed and
checked to share no tone set with the training ones) with 5 clips each and
test 10 more clips of each, at fixed SNRs of -35, -32 and -30 dB.

* identification: top-1 of each test clip against the 12 enrolled centroids;
* verification: every (test clip, enrolled identity) trial, same = 1 when the
  identity is the clip's own: AUC and EER of the similarity.

Rows: every backbone (``sispeccnn``, ``lenet``, ``speccnn``) with each loss
(contrastive, triplet with batch-hard mining), and the classical baseline:
nearest enrolled centroid of the time-averaged, noise-floor-normalised
spectrum (linear power averaged over time, divided by its median over
frequency, in dB; Euclidean distance). A model trained with ``joint`` (the
default) gives two rows: its joint embedding (weight ``w`` chosen on the
validation identities, :mod:`lfkit.siamese_joint`) with the open-set
false-accept rate at the model's threshold, and its learned part alone.

    python benchmarks/bench_siamese.py            # the full run (4 to 7 min on 2 shared cores at 30 epochs)
    python benchmarks/bench_siamese.py --quick    # a few minutes, for development
    python benchmarks/bench_siamese.py --backbones sispeccnn --losses contrastive --augment shift \
        --arch-kwargs '{"hidden_channels": 32}' --out /tmp/x.json   # one variant, its own model files

Prints a Markdown table and writes ``benchmarks/out/siamese.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SNRS = (-35, -32, -30)
BACKBONES = ("sispeccnn", "lenet", "speccnn")
LOSSES = ("contrastive", "triplet")
N_ENROLL, N_TEST, N_NEW = 5, 10, 12


def baseline_signature(S_power: np.ndarray) -> np.ndarray:
    """Time-averaged, noise-floor-normalised spectrum in dB: (N, F, T) linear power -> (N, F)."""
    m = S_power.mean(axis=-1)
    floor = np.median(m, axis=-1, keepdims=True)
    return 10.0 * np.log10(np.maximum(m / np.maximum(floor, 1e-30), 1e-10))


def centroid_metrics(E_enroll, y_enroll, E_test, y_test, normalize: bool, threshold=None) -> dict:
    """Top-1 against centroids and verification AUC/EER over (test, identity) trials; with ``threshold``,
    the open-set false-accept rate (impostor trials at or above it) and false-reject rate."""
    from lfkit import metrics as M
    from lfkit.siamese import similarity

    names = sorted(set(y_enroll))
    C = np.stack([E_enroll[np.asarray(y_enroll) == n].mean(0) for n in names])
    if normalize:
        C = C / np.linalg.norm(C, axis=1, keepdims=True)
    S = similarity(np.linalg.norm(E_test[:, None] - C[None], axis=2))
    truth = np.array([[t == n for n in names] for t in y_test], dtype=int)
    top1 = float(np.mean([names[i] == t for i, t in zip(S.argmax(1), y_test)]))
    e, _ = M.eer(truth.ravel(), S.ravel())
    out = {"top1": top1, "auc": M.roc_auc(truth.ravel(), S.ravel()), "eer": e}
    if threshold is not None:
        out["far"] = float(np.mean(S[truth == 0] >= threshold))
        out["frr"] = float(np.mean(S[truth == 1] < threshold))
    return out


def make_data(work: Path, quick: bool, log) -> dict:
    from lfkit.config import SynthConfig
    from lfkit.synth import random_signatures, synthesize

    cfg = SynthConfig()
    train = work / "train"
    n_train = 16 if quick else 40
    if not (train / "labels.csv").exists():
        synthesize(str(train), cfg, snr="-38:-25", seed=0, classes=20, n=n_train)
    old = {tuple(v) for v in json.loads((train / "signatures.json").read_text()).values()}
    new = random_signatures(N_NEW, cfg, seed=12345, prefix="new")
    clash = [k for k, v in new.items() if tuple(v) in old]
    if clash:
        raise SystemExit(f"new signatures {clash} repeat training ones; change the seed")
    (work / "new_signatures.json").write_text(json.dumps(new))
    sets = {}
    for i, snr in enumerate(SNRS):
        d = work / f"new_{snr}"
        if not (d / "labels.csv").exists():
            synthesize(str(d), cfg, snr=str(snr), seed=1000 + i, signatures=str(work / "new_signatures.json"),
                       n=N_ENROLL + N_TEST)
        sets[snr] = d
    log(f"data ready in {work}")
    return {"train": train, "sets": sets}


def shipped_top1(model: Path, d: Path, work: Path, snr) -> float:
    """Top-1 through the shipped path: ``lfkit score MODEL --enroll ENROLL TEST`` on the same split.

    The enrolment and test folders hold only a ``labels.csv`` naming the
    clips of ``d`` by absolute path; closed-set top-1 is the identity of the
    highest score in each record.
    """
    import csv
    import subprocess

    with open(d / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    seen, parts = {}, {"enroll": [], "test": []}
    for r in rows:
        seen[r["label"]] = seen.get(r["label"], 0) + 1
        parts["enroll" if seen[r["label"]] <= N_ENROLL else "test"].append(r)
    folders = {}
    for part, rs in parts.items():
        folder = work / f"{model.stem}_{part}_{snr}"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "labels.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["path", "label"])
            w.writerows([str((d / r["path"]).resolve()), r["label"]] for r in rs)
        folders[part] = folder
    out = work / f"{model.stem}_shipped_{snr}.jsonl"
    out.unlink(missing_ok=True)
    subprocess.run(["lfkit", "score", str(model), "--enroll", str(folders["enroll"]), str(folders["test"]),
                    "-o", str(out), "-q"], check=True)
    truth = {str((d / r["path"]).resolve()): r["label"] for r in parts["test"]}
    recs = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    hits = [max(r["scores"].items(), key=lambda kv: kv[1])[0] == truth[str(Path(r["path"]).resolve())]
            for r in recs if "scores" in r]
    if len(hits) != len(truth):
        raise SystemExit(f"{out}: {len(hits)} scored records for {len(truth)} test clips")
    return float(np.mean(hits))


def split_set(ds):
    """First N_ENROLL clips of each identity enroll, the rest test."""
    seen, enroll, test = {}, [], []
    for i, lab in enumerate(ds.labels):
        seen[lab] = seen.get(lab, 0) + 1
        (enroll if seen[lab] <= N_ENROLL else test).append(i)
    return np.array(enroll), np.array(test)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="16 clips per class, 3 epochs: a smoke run")
    ap.add_argument("--epochs", type=int, default=None, help="training epochs [default: SiameseConfig's, quick 3]")
    ap.add_argument("--backbones", default=",".join(BACKBONES))
    ap.add_argument("--losses", default=",".join(LOSSES))
    ap.add_argument("--augment", default=None, help="identity augmentation: shift|twins|vary|none [default: SiameseConfig's]")
    ap.add_argument("--arch-kwargs", default=None, help="JSON backbone arguments added to every backbone's defaults")
    ap.add_argument("--workers", type=int, default=2, help="processes reading the data")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1: these small networks lose more to thread spinning than they gain)")
    ap.add_argument("--out", default=str(HERE / "out" / "siamese.json"))
    args = ap.parse_args(argv)

    import torch

    from lfkit.config import FrontendConfig, SiameseConfig
    from lfkit.data import load_dataset
    from lfkit.modelfile import load_model
    from lfkit.inference.scorers import make_scorer
    from lfkit.siamese_train import train_siamese

    torch.set_num_threads(args.threads)

    def log(msg):
        print(f"[bench_siamese {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    work = HERE / "out" / ("siamese_work_quick" if args.quick else "siamese_work")
    work.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    data = make_data(work, args.quick, log)
    epochs = args.epochs or (3 if args.quick else SiameseConfig().epochs)
    tests = {snr: load_dataset(str(d), workers=args.workers) for snr, d in data["sets"].items()}
    results = []

    # classical baseline: linear power, no per-clip normalisation
    lin = FrontendConfig(kind="linear", norm="none")
    for snr, d in data["sets"].items():
        ds = load_dataset(str(d), workers=args.workers, base=lin)
        V = baseline_signature(ds.X)
        en, te = split_set(ds)
        lab = np.array(ds.labels)
        m = centroid_metrics(V[en], list(lab[en]), V[te], list(lab[te]), normalize=False)
        results.append({"method": "baseline (mean spectrum, nearest centroid)", "backbone": "-", "loss": "-",
                        "snr_db": snr, **m})

    for arch in args.backbones.split(","):
        for loss in args.losses.split(","):
            cfg = SiameseConfig(arch=arch, loss=loss, epochs=epochs,
                                **({"augment": args.augment} if args.augment else {}))
            model = work / f"{Path(args.out).stem}_{arch}_{loss}.pt"
            t0, c0 = time.perf_counter(), time.process_time()
            summary = train_siamese(str(data["train"]), str(model), cfg, workers=args.workers,
                                    arch_kwargs=json.loads(args.arch_kwargs) if args.arch_kwargs else None)
            secs, cpu = time.perf_counter() - t0, time.process_time() - c0
            best = summary["best"]
            log(f"{arch}/{loss}: {secs:.0f} s ({cpu:.0f} s CPU), best epoch {best['epoch']} val_auc {best['val_auc']:.3f}")
            scorer = make_scorer(load_model(str(model)))
            w = scorer.joint_weight
            for snr, ds in tests.items():
                en, te = split_set(ds)
                lab = np.array(ds.labels)
                variants = [(f"{arch} + {loss}" + (f" (joint, w={w:g})" if w is not None else ""), scorer.threshold)]
                if w is not None:
                    variants.append((f"{arch} + {loss} (learned part)", None))
                for method, threshold in variants:
                    scorer.joint_weight = w if threshold is not None else None
                    E = np.concatenate([scorer.embed_batch(ds.X[i : i + 128]) for i in range(0, len(ds.X), 128)])
                    m = centroid_metrics(E[en], list(lab[en]), E[te], list(lab[te]), scorer.normalize, threshold)
                    results.append({"method": method, "backbone": arch, "loss": loss, "snr_db": snr, **m,
                                    "joint_weight": w, "train_seconds": round(secs, 1),
                                    "train_cpu_seconds": round(cpu, 1), "best_epoch": best["epoch"],
                                    "val_auc": best["val_auc"], "open_set_val": summary.get("open_set")})
                scorer.joint_weight = w
                results[-len(variants)]["top1_lfkit_score"] = shipped_top1(model, data["sets"][snr], work, snr)
                log(f"{arch}/{loss} {snr} dB: top-1 {results[-len(variants)]['top1']:.3f} here, "
                    f"{results[-len(variants)]['top1_lfkit_score']:.3f} through lfkit score --enroll")
            partial = Path(args.out).with_name("siamese_partial.json")
            partial.write_text(json.dumps({"epochs": epochs, "results": results}, indent=2) + "\n")

    lines = ["| method | SNR dB | top-1 | top-1 via `lfkit score --enroll` | AUC | EER | open-set FAR |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        far = f"{r['far']:.3f}" if r.get("far") is not None else ""
        shipped = f"{r['top1_lfkit_score']:.3f}" if r.get("top1_lfkit_score") is not None else ""
        lines.append(f"| {r['method']} | {r['snr_db']} | {r['top1']:.3f} | {shipped} | {r['auc']:.3f} | "
                     f"{r['eer']:.3f} | {far} |")
    table = "\n".join(lines)
    print(table)
    argv = sys.argv[1:] if argv is None else list(argv)
    doc = {"command": " ".join(["python benchmarks/bench_siamese.py", *argv]), "augment": SiameseConfig().augment
           if not args.augment else args.augment,
           "epochs": epochs, "n_train_per_class": 16 if args.quick else 40, "n_new": N_NEW,
           "n_enroll": N_ENROLL, "n_test": N_TEST, "snrs_db": list(SNRS),
           "seconds": round(time.perf_counter() - t_all, 1), "results": results, "table": table}
    out = Path(args.out if not args.quick else str(Path(args.out).with_name("siamese_quick.json")))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    log(f"wrote {out} ({doc['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
