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
``<tag>.md`` (``--results`` to write elsewhere); with ``--seed S``,
``<tag>_seedS.json`` and ``.md``, every ``lfkit train-*`` run with ``--seed S``
and the baselines' cross-validation folds drawn with ``random_state=S`` (build
the sets with ``build.py --seed S`` too, so each seed has its own training and
test sets). The JSON holds every test clip's label and SNR (``clips``) and every
row's per-clip scores (``scores``, 6 significant decimals; siamese: ``correct``,
1 where the top-1 identity is right), so ``benchmarks/readme_block.py`` can
bootstrap over clips.

Re-running some regimes or designs into an existing results file of the same
sets (same ``manifest.json``) replaces only their rows, e.g. after a change
to the binary model::

    python benchmarks/real/run.py /tmp/s17real_s1 --tag s17 --seed 1 --regimes binary
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
import resultsfile as R  # noqa: E402

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

    def __init__(self, work: Path, workers: int, log, seed=None):
        self.work, self.workers, self.log = work, workers, log
        self.times = {}
        #: ``--seed S`` for every lfkit training command (none: lfkit's default), and the baselines' CV seed.
        self.seed_flags = [] if seed is None else ["--seed", str(seed)]
        self.seed = 0 if seed is None else seed

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


def clip_table(rows: list) -> dict:
    """Each test clip's name, label (1 = positive) and SNR, in ``labels.csv`` order."""
    return {"path": [Path(r["path"]).name for r in rows],
            "label": [int(r["label"] == "positive") for r in rows],
            "snr_db": [int(float(r["snr_db"])) for r in rows]}


def compact(scores) -> list:
    """Scores as a JSON-friendly list, rounded to 6 decimals."""
    return [round(float(s), 6) for s in scores]


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
    """Result rows of one design: AUC per SNR and per-clip scores of lfkit and the baselines."""
    train_rows, test_rows = B.read_labels(data / design / "train"), B.read_labels(data / design / "test")
    F_train, F_test = features(train_rows), features(test_rows)
    y_train = np.array([r["label"] == "positive" for r in train_rows], dtype=int)
    results = []

    def add(regime, method, scores, **extra):
        aucs = per_snr_auc(test_rows, scores)
        results.append({"design": design, "regime": regime, "method": method, "auc": aucs, **extra,
                        "scores": compact(scores)})
        run.log(f"{design} {regime} {method}: {aucs}")

    if "binary" in regimes:
        for name, flags in (("train-binary (defaults)", []), *BINARY_VARIANTS) if with_lfkit else ():
            tag = f"{design}_bin_{len(results)}"
            model = run.work / f"{tag}.pt"
            secs = run.lfkit(f"train {tag}", ["train-binary", str(data / design / "train"), "-o", str(model), *flags,
                                              *run.seed_flags, "--workers", str(run.workers), "-q"])
            add("binary", name, lfkit_scores(run, model, data / design / "test", test_rows, tag),
                train_s=round(secs, 1))
        for feat in FEATURES:
            s, alpha = B.ridge_scores(F_train[feat], y_train, F_test[feat], seed=run.seed)
            add("binary", f"ridge, mean {feat}", s, alpha=alpha)
            s, C = B.logistic_scores(F_train[feat], y_train, F_test[feat], seed=run.seed)
            add("binary", f"logistic, mean {feat}", s, C=C)
    if "oneclass" in regimes:
        for name, flags in (("train-oneclass (defaults)", []), *ONECLASS_VARIANTS) if with_lfkit else ():
            tag = f"{design}_oc_{len(results)}"
            model = run.work / f"{tag}.pt"
            secs = run.lfkit(f"train {tag}", ["train-oneclass", str(data / design / "oneclass"), "-o", str(model),
                                              *flags, *run.seed_flags, "--workers", str(run.workers), "-q"])
            add("oneclass", name, lfkit_scores(run, model, data / design / "test", test_rows, tag),
                train_s=round(secs, 1))
        pos = y_train == 1
        for feat in FEATURES:
            s, k = B.pca_novelty_scores(F_train[feat][pos], F_test[feat])
            add("oneclass", f"PCA novelty, mean {feat}", s, n_components=k)
    return results


def run_siamese(run: Runner, data: Path) -> list:
    d = data / "siamese"
    model = run.work / "siamese.pt"
    secs = run.lfkit("train siamese", ["train-siamese", str(d / "train"), "-o", str(model), *run.seed_flags,
                                       "--workers", str(run.workers), "-q"])
    lf, nc, lf_ok, nc_ok = {}, {}, {}, {}
    for snr in SNRS:
        en_rows, te_rows = B.read_labels(d / f"enroll_{snr}"), B.read_labels(d / f"test_{snr}")
        out = run.work / f"siamese_{snr}.jsonl"
        run.lfkit(f"score siamese {snr}", ["score", str(model), "--enroll", str(d / f"enroll_{snr}"),
                                           str(d / f"test_{snr}"), "-o", str(out), "--workers", str(run.workers),
                                           "-q"])
        recs = read_scores(out)
        best = [max(recs[Path(r["path"]).name]["scores"].items(), key=lambda kv: kv[1])[0] for r in te_rows]
        truth = [r["label"] for r in te_rows]
        lf_ok[str(snr)] = [int(b == t) for b, t in zip(best, truth)]
        lf[str(snr)] = round(float(np.mean(lf_ok[str(snr)])), 3)
        W = lambda rows: B.whitened_mean_spectrum([B.read_mono(r["file"], SR) for r in rows], SR)  # noqa: E731
        pred = B.nearest_centroid(W(en_rows), [r["label"] for r in en_rows], W(te_rows))
        nc_ok[str(snr)] = [int(p == t) for p, t in zip(pred, truth)]
        nc[str(snr)] = round(float(np.mean(nc_ok[str(snr)])), 3)
    for res in (lf, nc):
        res["mean"] = round(float(np.mean([res[str(v)] for v in SNRS])), 3)
    run.log(f"siamese: lfkit {lf}, nearest centroid {nc}")
    return [{"design": "siamese", "regime": "siamese", "method": "train-siamese (defaults)", "top1": lf,
             "train_s": round(secs, 1), "correct": lf_ok},
            {"design": "siamese", "regime": "siamese", "method": "nearest centroid, whitened mean spectrum",
             "top1": nc, "correct": nc_ok}]


def prior_results(path: Path, manifest: dict, planned: set, keep_lfkit: bool, log) -> tuple:
    """``(rows, runs)`` of an earlier results file of the same sets that this run does not redo.

    ``planned``: the ``(design, regime)`` pairs this run computes; their rows are
    dropped (``keep_lfkit``: except lfkit's own, for ``--baselines-only``). A
    file of other sets (another ``manifest.json``) is replaced, as before.
    """
    if not path.exists():
        return [], []
    old = json.loads(path.read_text())
    if old.get("manifest") != manifest or "clips" not in old:
        log(f"{path}: written for other sets (or before per-clip scores); replacing it")
        return [], []
    keep = [r for r in old["results"] if (r["design"], r["regime"]) not in planned
            or (keep_lfkit and r["method"].startswith("train-"))]
    return keep, old.get("runs", [])


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
    ap.add_argument("--seed", type=int, default=None,
                    help="--seed for every lfkit training and the baselines' CV folds; results/<tag>_seed<S>.json")
    ap.add_argument("--regimes", default="binary,oneclass,siamese")
    ap.add_argument("--designs", default="main,hum")
    ap.add_argument("--baselines-only", action="store_true", help="skip lfkit (binary and one-class baselines only)")
    ap.add_argument("--workers", type=int, default=2, help="--workers passed to lfkit (at most 2 here)")
    ap.add_argument("--results", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    data = Path(args.data)
    if not (data / "manifest.json").exists():
        raise SystemExit(f"{data}: no manifest.json; run benchmarks/real/build.py --out {data} first")
    manifest = json.loads((data / "manifest.json").read_text())
    regimes = set(args.regimes.split(","))
    designs = list(filter(None, args.designs.split(",")))
    name = args.tag if args.seed is None else f"{args.tag}_seed{args.seed}"

    def log(msg):
        print(f"[real/run {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    if args.seed is not None and manifest.get("seed") != args.seed:
        log(f"note: {data} was built with seed {manifest.get('seed')}, not {args.seed}")
    work = data / "work"
    work.mkdir(exist_ok=True)
    run = Runner(work, args.workers, log, args.seed)
    t0 = time.perf_counter()
    argv = sys.argv[1:] if argv is None else list(argv)
    out = Path(args.results)
    planned = {(d, r) for d in designs for r in regimes & {"binary", "oneclass"}}
    if "siamese" in regimes and not args.baselines_only:
        planned.add(("siamese", "siamese"))
    prior, runs = prior_results(out / f"{name}.json", manifest, planned, args.baselines_only, log)
    results, clips = [], {}
    old = json.loads((out / f"{name}.json").read_text()) if prior or runs else {}
    clips.update(old.get("clips", {}))
    head = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    this_run = {"command": " ".join(["python benchmarks/real/run.py", *argv]),
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "git_head": head.stdout.strip(),
                "regimes": sorted(regimes), "designs": designs}

    def write(partial: bool) -> str:
        import lfkit

        this_run["seconds"] = round(time.perf_counter() - t0, 1)
        for r in results:
            r.setdefault("git_head", this_run["git_head"])
        order = {k: i for i, k in enumerate(("main", "hum", "siamese", "binary", "oneclass"))}
        rows = sorted(prior + results, key=lambda r: (order.get(r["design"], 9), order[r["regime"]]))
        doc = {"command": this_run["command"], "date": this_run["date"], "partial": partial, "seed": args.seed,
               "lfkit_version": lfkit.__version__, "lfkit_path": lfkit.__file__, "git_head": this_run["git_head"],
               "manifest": manifest, "seconds": this_run["seconds"], "command_seconds": run.times,
               "runs": [*runs, this_run], "results": rows, "clips": clips}
        md = markdown(rows)
        R.write_text(out / f"{name}.json", R.dumps(doc))
        R.write_text(out / f"{name}.md", f"{doc['command']} ({doc['date']}, {doc['seconds']:.0f} s"
                                         f"{', partial' if partial else ''})\n\n{md}")
        return md

    for design in designs:
        clips[design] = clip_table(B.read_labels(data / design / "test"))
        results += run_design(run, data, design, regimes, not args.baselines_only)
        write(partial=True)
    if "siamese" in regimes and not args.baselines_only:
        clips["siamese"] = {str(snr): {"label": [r["label"] for r in B.read_labels(data / "siamese" / f"test_{snr}")]}
                            for snr in SNRS}
        results += run_siamese(run, data)
    print(write(partial=False))
    log(f"wrote {out / (name + '.json')} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
