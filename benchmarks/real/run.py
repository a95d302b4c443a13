"""Run lfkit's shipped commands on the real-recordings benchmark, beside simple baselines.

    python benchmarks/real/build.py --out /tmp/real && nice -n 10 python benchmarks/real/run.py /tmp/real --tag after

For each design (``main``: French horn on A3, full band; ``hum``: tuba on A2,
low-passed at 1 kHz) it trains, with no tuning flags:

* binary: ``lfkit train-binary DIR/train -o M`` (defaults), plus the variants
  in ``BINARY_VARIANTS``; scored with ``lfkit score``;
* one-class: ``lfkit train-oneclass DIR/oneclass -o M`` (defaults), plus
  ``--extractor raw``;
* siamese (``siamese`` sets only): ``lfkit train-siamese siamese/train -o M``
  (defaults), then ``lfkit score M --enroll siamese/enroll_<snr>
  siamese/test_<snr>``: closed-set top-1 (the identity of highest score).

Baselines (``benchmarks/baselines.py``, no lfkit code): ridge and logistic
regression on the time-averaged log spectrum (2048-point FFT, full band), the
log-mel spectrum (64 bands) and the log spectrum from 0 to 1 kHz (4096-point
FFT), regularisation by 5-fold cross-validation on the
training set only; PCA novelty on the same features (90 % of the positives'
variance); nearest centroid of the noise-floor-whitened mean spectrum (4096-point
FFT, full band, 31-bin running median).

AUC per SNR is computed here with scikit-learn from the score records joined
to ``labels.csv`` by path. Results: ``benchmarks/real/results/<tag>.json`` and
``<tag>.md`` (``--results`` to write elsewhere).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import baselines as B  # noqa: E402

SNRS = (0, -10, -20, -30)
SR = 22050
#: Named variants trained beside the defaults: (row name, extra flags).
BINARY_VARIANTS = (("train-binary --kind logmel --fmax nyquist", ["--kind", "logmel", "--fmax", "nyquist"]),)
#: Baseline features: full-band time-averaged log spectrum (2048-point FFT) and log-mel (64 bands), and the
#: log spectrum in lfkit's old default band (4096-point FFT, 0-1 kHz), which resolves semitones at 110 Hz.
FEATURES = ("log spectrum", "log-mel", "log spectrum 0-1 kHz")
ONECLASS_VARIANTS = (("train-oneclass --extractor raw", ["--extractor", "raw"]),)


class Runner:
    """Runs lfkit commands in a work folder, logging each with its wall time."""

    def __init__(self, work: Path, workers: int, log):
        self.work, self.workers, self.log = work, workers, log
        self.times = {}

    def lfkit(self, name: str, args: list) -> float:
        cmd = ["lfkit", *args]
        self.log("$ " + " ".join(cmd))
        t0 = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        secs = time.perf_counter() - t0
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
        self.times[name] = round(secs, 1)
        return secs


def read_scores(path: Path) -> dict:
    """Score records keyed by the clip's file name."""
    out = {}
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        out[Path(rec["path"]).name] = rec
    return out


def per_snr_auc(rows: list, scores) -> dict:
    """AUC per SNR (and over all clips) from label rows and aligned scores."""
    y = np.array([r["label"] == "positive" for r in rows], dtype=int)
    s = np.asarray(scores, dtype=float)
    snr = np.array([int(float(r["snr_db"])) for r in rows])
    res = {str(v): round(B.auc(y[snr == v], s[snr == v]), 3) for v in SNRS}
    res["mean"] = round(float(np.mean([res[str(v)] for v in SNRS])), 3)
    return res


def lfkit_scores(run: Runner, model: Path, test: Path, rows: list, tag: str) -> list:
    out = run.work / f"{tag}.jsonl"
    run.lfkit(f"score {tag}", ["score", str(model), str(test), "-o", str(out), "--workers", str(run.workers), "-q"])
    recs = read_scores(out)
    missing = [r["path"] for r in rows if "score" not in recs.get(Path(r["path"]).name, {})]
    if missing:
        raise SystemExit(f"{out}: no score for {len(missing)} clips, e.g. {missing[0]}")
    return [recs[Path(r["path"]).name]["score"] for r in rows]


def features(rows: list) -> dict:
    Y = [B.read_mono(r["file"], SR) for r in rows]
    return {"log spectrum": B.mean_log_spectrum(Y, SR), "log-mel": B.mean_logmel(Y, SR),
            "log spectrum 0-1 kHz": B.mean_log_spectrum(Y, SR, n_fft=4096, hop_length=1024, fmax=1000.0)}


def run_design(run: Runner, data: Path, design: str, regimes: set, with_lfkit: bool = True) -> list:
    train_rows, test_rows = B.read_labels(data / design / "train"), B.read_labels(data / design / "test")
    F_train, F_test = features(train_rows), features(test_rows)
    y_train = np.array([r["label"] == "positive" for r in train_rows], dtype=int)
    results = []

    def add(regime, method, aucs, **extra):
        results.append({"design": design, "regime": regime, "method": method, "auc": aucs, **extra})
        run.log(f"{design} {regime} {method}: {aucs}")

    if "binary" in regimes:
        for name, flags in (("train-binary (defaults)", []), *BINARY_VARIANTS) if with_lfkit else ():
            tag = f"{design}_bin_{len(results)}"
            model = run.work / f"{tag}.pt"
            secs = run.lfkit(f"train {tag}", ["train-binary", str(data / design / "train"), "-o", str(model), *flags,
                                              "--workers", str(run.workers), "-q"])
            add("binary", name, per_snr_auc(test_rows, lfkit_scores(run, model, data / design / "test",
                                                                     test_rows, tag)), train_s=round(secs, 1))
        for feat in FEATURES:
            s, alpha = B.ridge_scores(F_train[feat], y_train, F_test[feat])
            add("binary", f"ridge, mean {feat}", per_snr_auc(test_rows, s), alpha=alpha)
            s, C = B.logistic_scores(F_train[feat], y_train, F_test[feat])
            add("binary", f"logistic, mean {feat}", per_snr_auc(test_rows, s), C=C)
    if "oneclass" in regimes:
        for name, flags in (("train-oneclass (defaults)", []), *ONECLASS_VARIANTS) if with_lfkit else ():
            tag = f"{design}_oc_{len(results)}"
            model = run.work / f"{tag}.pt"
            secs = run.lfkit(f"train {tag}", ["train-oneclass", str(data / design / "oneclass"), "-o", str(model),
                                              *flags, "--workers", str(run.workers), "-q"])
            add("oneclass", name, per_snr_auc(test_rows, lfkit_scores(run, model, data / design / "test",
                                                                       test_rows, tag)), train_s=round(secs, 1))
        pos = y_train == 1
        for feat in FEATURES:
            s, k = B.pca_novelty_scores(F_train[feat][pos], F_test[feat])
            add("oneclass", f"PCA novelty, mean {feat}", per_snr_auc(test_rows, s), n_components=k)
    return results


def run_siamese(run: Runner, data: Path) -> list:
    d = data / "siamese"
    model = run.work / "siamese.pt"
    secs = run.lfkit("train siamese", ["train-siamese", str(d / "train"), "-o", str(model),
                                       "--workers", str(run.workers), "-q"])
    lf, nc = {}, {}
    for snr in SNRS:
        en_rows, te_rows = B.read_labels(d / f"enroll_{snr}"), B.read_labels(d / f"test_{snr}")
        out = run.work / f"siamese_{snr}.jsonl"
        run.lfkit(f"score siamese {snr}", ["score", str(model), "--enroll", str(d / f"enroll_{snr}"),
                                           str(d / f"test_{snr}"), "-o", str(out), "--workers", str(run.workers),
                                           "-q"])
        recs = read_scores(out)
        best = [max(recs[Path(r["path"]).name]["scores"].items(), key=lambda kv: kv[1])[0] for r in te_rows]
        truth = [r["label"] for r in te_rows]
        lf[str(snr)] = round(float(np.mean([b == t for b, t in zip(best, truth)])), 3)
        W = lambda rows: B.whitened_mean_spectrum([B.read_mono(r["file"], SR) for r in rows], SR)  # noqa: E731
        pred = B.nearest_centroid(W(en_rows), [r["label"] for r in en_rows], W(te_rows))
        nc[str(snr)] = round(float(np.mean([p == t for p, t in zip(pred, truth)])), 3)
    for res in (lf, nc):
        res["mean"] = round(float(np.mean([res[str(v)] for v in SNRS])), 3)
    run.log(f"siamese: lfkit {lf}, nearest centroid {nc}")
    return [{"design": "siamese", "regime": "siamese", "method": "train-siamese (defaults)", "top1": lf,
             "train_s": round(secs, 1)},
            {"design": "siamese", "regime": "siamese", "method": "nearest centroid, whitened mean spectrum",
             "top1": nc}]


def markdown(results: list) -> str:
    lines = []
    for design in ("main", "hum", "siamese"):
        for regime in ("binary", "oneclass", "siamese"):
            rows = [r for r in results if r["design"] == design and r["regime"] == regime]
            if not rows:
                continue
            metric = "top1" if regime == "siamese" else "auc"
            lines += ["", f"**{design}, {regime}** ({'top-1' if metric == 'top1' else 'AUC'} per SNR, dB)", "",
                      "| method | " + " | ".join(f"{v} dB" for v in SNRS) + " | mean | train s |",
                      "|---|" + "---:|" * (len(SNRS) + 2)]
            for r in rows:
                m = r[metric]
                lines.append(f"| {r['method']} | " + " | ".join(f"{m[str(v)]:.2f}" for v in SNRS)
                             + f" | {m['mean']:.3f} | {r.get('train_s', '')} |")
    return "\n".join(lines).strip() + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", help="the folder build.py wrote")
    ap.add_argument("--tag", default="latest", help="results name: results/<tag>.json and .md")
    ap.add_argument("--regimes", default="binary,oneclass,siamese")
    ap.add_argument("--designs", default="main,hum")
    ap.add_argument("--baselines-only", action="store_true", help="skip lfkit (binary and one-class baselines only)")
    ap.add_argument("--workers", type=int, default=2, help="--workers passed to lfkit (at most 2 here)")
    ap.add_argument("--results", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    data = Path(args.data)
    if not (data / "manifest.json").exists():
        raise SystemExit(f"{data}: no manifest.json; run benchmarks/real/build.py --out {data} first")
    regimes = set(args.regimes.split(","))

    def log(msg):
        print(f"[real/run {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    work = data / "work"
    work.mkdir(exist_ok=True)
    run = Runner(work, args.workers, log)
    t0 = time.perf_counter()
    argv = sys.argv[1:] if argv is None else list(argv)
    results = []

    def write(partial: bool) -> str:
        import lfkit

        head = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True)
        doc = {"command": " ".join(["python benchmarks/real/run.py", *argv]),
               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "partial": partial,
               "lfkit_version": lfkit.__version__, "lfkit_path": lfkit.__file__, "git_head": head.stdout.strip(),
               "manifest": json.loads((data / "manifest.json").read_text()),
               "seconds": round(time.perf_counter() - t0, 1), "command_seconds": run.times, "results": results}
        md = markdown(results)
        out = Path(args.results)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{args.tag}.json").write_text(json.dumps(doc, indent=2) + "\n")
        (out / f"{args.tag}.md").write_text(f"{doc['command']} ({doc['date']}, {doc['seconds']:.0f} s"
                                            f"{', partial' if partial else ''})\n\n{md}")
        return md

    for design in filter(None, args.designs.split(",")):
        results += run_design(run, data, design, regimes, not args.baselines_only)
        write(partial=True)
    if "siamese" in regimes and not args.baselines_only:
        results += run_siamese(run, data)
    print(write(partial=False))
    log(f"wrote {Path(args.results) / (args.tag + '.json')} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
