"""Two-view front end study (issue 9, 0 dB losses on real recordings): development renderings only.

    python benchmarks/real/build.py --out /tmp/rdev8 --seed 8     # not the reported seeds 0-2
    nice -n 10 python benchmarks/dev_dual.py /tmp/rdev8 /tmp/rdev9 --work /tmp/dual

For each rendering and design (``main``, ``hum``) it asks ``lfkit spectro
--kind auto`` for the front end training would choose on ``train/`` (view
*a*: ``log`` in the chosen band), computes it and a coarse full-band view
(*b*: ``logmel``, ``--n-mels`` bands to Nyquist, same ``--n-fft`` and
``--hop-length`` so the frame counts match), both with ``--norm none``, and
writes ``.npy`` datasets (``labels.csv`` copied) of:

* ``a``: view a, standardised per clip (the default model's input);
* ``b``: view b, standardised per clip (the coarse view alone; speccnn's mean branch is on by default);
* ``abp``: a and b each standardised per clip, stacked along frequency;
* ``abw``: a and b stacked, then standardised per clip as a whole.

Each is trained with ``lfkit train-binary --augment none`` (spectrogram
training has no waveform augmentation) and scored with ``lfkit score``;
``--wav`` also trains on the audio: defaults (``wavdef``) and ``--kind logmel
--fmax nyquist`` (``wavlm``). Prints AUC per SNR and the training time and
writes ``WORK/dev_dual.json``; ``--seeds 0,1`` repeats each training with
another seed. Baselines: ``benchmarks/real/run.py DATA --baselines-only
--regimes binary``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

SNRS = ("0", "-10", "-20", "-30")
VIEWS = ("a", "b", "abp", "abw")


def lfkit(*args: str) -> str:
    """Run one lfkit command (nice 10, one worker), return its standard output."""
    r = subprocess.run(["nice", "-n", "10", "lfkit", *args], capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"lfkit {' '.join(args)} failed ({r.returncode}): {r.stderr[-2000:]}")
    return r.stdout


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-8)


def build_views(data: Path, spec: Path, views: Path, n_mels: int) -> list[str]:
    """Spectrogram views a and b of ``data/{train,test}``, stacked into ``views/{split}-{view}``."""
    auto = lfkit("spectro", str(data / "train"), "--kind", "auto", "-q").split()
    fft = ["--n-fft", auto[auto.index("--n-fft") + 1], "--hop-length", auto[auto.index("--hop-length") + 1]]
    for split in ("train", "test"):
        a, b = spec / f"{split}-a", spec / f"{split}-b"
        if not a.exists():
            lfkit("spectro", str(data / split), "-o", str(a), *auto, "--norm", "none", "-q")
        if not b.exists():
            lfkit("spectro", str(data / split), "-o", str(b), "--kind", "logmel", *fft, "--fmin", "0",
                  "--fmax", "nyquist", "--n-mels", str(n_mels), "--norm", "none", "-q")
        for v in VIEWS:
            (views / f"{split}-{v}").mkdir(parents=True, exist_ok=True)
            shutil.copy(a / "labels.csv", views / f"{split}-{v}" / "labels.csv")
        for f in sorted(a.glob("*.npy")):
            xa, xb = np.load(f), np.load(b / f.name)
            out = {"a": _z(xa), "b": _z(xb), "abp": np.concatenate([_z(xa), _z(xb)]),
                   "abw": _z(np.concatenate([xa, xb]))}
            for v, x in out.items():
                np.save(views / f"{split}-{v}" / f.name, x.astype(np.float32))
    return auto


def auc_per_snr(test: Path, scores: Path) -> dict:
    """AUC per SNR of ``lfkit score`` records joined to ``test/labels.csv`` by file name."""
    with open(test / "labels.csv", newline="") as fh:
        lab = {r["path"]: r for r in csv.DictReader(fh)}
    sc = {}
    for line in scores.read_text().splitlines():
        rec = json.loads(line)
        sc[Path(rec["path"]).name] = rec["score"]
    out = {}
    for snr in SNRS:
        ps = [p for p, r in lab.items() if r["snr_db"] == snr]
        out[snr] = round(float(roc_auc_score([lab[p]["label"] == "positive" for p in ps], [sc[p] for p in ps])), 3)
    out["mean"] = round(float(np.mean([out[s] for s in SNRS])), 3)
    return out


def train_score(name: str, train: Path, test: Path, models: Path, flags: list[str]) -> dict:
    """Train one binary model, score the test set, return AUC per SNR and the training time."""
    pt, js = models / f"{name}.pt", models / f"{name}.jsonl"
    t0 = time.time()
    lfkit("train-binary", str(train), "-o", str(pt), "--workers", "1", "-q", *flags)
    t = time.time() - t0
    lfkit("score", str(pt), str(test), "-o", str(js), "--workers", "1", "-q")
    return {**auc_per_snr(test, js), "train_s": round(t)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="+", type=Path, help="folders build.py wrote (development seeds)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/dual"))
    ap.add_argument("--designs", default="main,hum")
    ap.add_argument("--views", default=",".join(VIEWS))
    ap.add_argument("--n-mels", type=int, default=48, help="bands of the coarse full-band view")
    ap.add_argument("--seeds", default="0", help="train-binary --seed values, e.g. 0,1 (training noise)")
    ap.add_argument("--wav", action="store_true", help="also train on the audio: defaults and logmel/nyquist")
    args = ap.parse_args()
    models = args.work / "models"
    models.mkdir(parents=True, exist_ok=True)
    res = {}
    for data in args.data:
        for d in args.designs.split(","):
            key = f"{data.name}/{d}"
            w = args.work / data.name / d
            res[key] = {"auto": build_views(data / d, w / "spec", w / "views", args.n_mels)}
            runs = [(v, w / "views" / f"train-{v}", w / "views" / f"test-{v}", ["--augment", "none"])
                    for v in args.views.split(",")]
            if args.wav:
                runs += [("wavdef", data / d / "train", data / d / "test", []),
                         ("wavlm", data / d / "train", data / d / "test", ["--kind", "logmel", "--fmax", "nyquist"])]
            for (v, tr, te, flags), seed in ((r, s) for r in runs for s in args.seeds.split(",")):
                name = f"{v}-seed{seed}"
                r = res[key][name] = train_score(f"{data.name}-{d}-{name}", tr, te, models, [*flags, "--seed", seed])
                print(f"{key:14s} {name:13s}", " ".join(f"{r[s]:.3f}" for s in SNRS), f"mean {r['mean']:.3f}",
                      f"train {r['train_s']} s", flush=True)
            (args.work / "dev_dual.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
