"""Robustness suite: models trained on ``lfkit synth`` defaults, tested on clips from another generator.

    nice -n 10 python benchmarks/bench_robust.py [--quick] [--tag after]

Training (lfkit's shipped commands, no tuning flags)::

    lfkit synth -o train --positive 120,340,777 --n 400 --snr -35:-20 --seed 0
    lfkit train-binary train -o binary.pt
    lfkit train-binary train -o knowntone.pt --arch knowntone --tones 120,340,777
    lfkit synth -o pos --positive 120,340,777 --positive-only --n 200 --snr -35:-20 --seed 0
    lfkit train-oneclass pos -o oneclass.pt
    lfkit synth -o multi --classes 20 --n 40 --snr -38:-25 --seed 0
    lfkit train-siamese multi -o siamese.pt

Test clips come from the generator in this file, not from ``lfkit.synth``:

* tones from a phase accumulator (cumulative sum of the instantaneous
  frequency, random start phase), each tone's frequency jittered per clip by
  up to +-1.5 Hz (uniform) and its gain by up to +-3 dB (uniform);
* white, pink (white noise through Julius O. Smith's 3-pole/3-zero 1/f
  filter) or brown noise (white noise through a leaky integrator, pole 0.999),
  in turn;
* 44.1 kHz and 48 kHz in turn; 1 s; 24-bit FLAC, stereo: both channels carry
  the same tones, their noise is 80 % common and 20 % independent power;
* per-tone SNR as lfkit defines it, ``10*log10((A**2/2)/sigma**2)``, sigma**2
  the full-band variance of the noise of the channel average (what a mono
  reader sees);
* negatives: 1-10 tones in 20-1000 Hz, each at least 15 Hz from every target
  tone; half of them also carry one or two of the target's tones.

Reported: AUC per SNR (-35/-30/-25/-20 dB) and per noise colour for the
default binary model, the known-tone detector and the default one-class
model, and the loss of each against the known-tone detector; the siamese
check of issue 10: 12 unseen signatures from this generator, 5 enrolment and
10 test clips each, closed-set top-1 at -35/-32 dB, beside nearest centroid of
the noise-floor-whitened mean spectrum (0-1000 Hz, 4096-point FFT at 44.1 kHz).
Results: ``benchmarks/results/robust_<tag>.json`` and ``.md``.

``--generator lfkit`` keeps the training and swaps the test clips for lfkit's
own generator (the README's "lfkit's own generator" table): ``lfkit synth
--positive 120,340,777 --n 200 --snr S --seed T+i`` per SNR (``test_<S>``,
T the test seed), and for the siamese check 12 signatures drawn as ``lfkit
synth --classes`` draws them (seed 77 + S, ``new_signatures.json``),
rendered by ``lfkit synth --signatures`` into enrolment (seed + 1) and test
clips (seed + 2); white noise, 44.1 kHz, 1 s, ``lfkit synth``'s defaults.
Results ``robust_<tag>_seedS.json`` as above (settings ``generator: lfkit``).

``--seed S`` (results ``robust_<tag>_seedS.json``) draws a new experiment:
the three ``lfkit synth`` training sets with ``--seed S``, every ``lfkit
train-*`` with ``--seed S``, the test clips with seed ``2024 + S`` and the
siamese signatures and clips with seed ``77 + S``; without it the seeds are
those above (0, lfkit's default, 2024 and 77), as before. The JSON holds each
test clip's label, SNR and colour (``clips``) and each row's per-clip scores
(``scores``, 6 decimals; siamese: ``correct``), for
``benchmarks/readme_block.py``'s intervals. A run of some regimes into an
existing results file of the same seed and settings replaces only their rows::

    python benchmarks/bench_robust.py --tag s17 --seed 1 --regimes binary
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import baselines as B  # noqa: E402
import resultsfile as R  # noqa: E402

TARGET_HZ = (120.0, 340.0, 777.0)
SNRS = (-35, -30, -25, -20)
SIAMESE_SNRS = (-35, -32)
NOISES = ("white", "pink", "brown")
RATES = (44100, 48000)
DURATION_S = 1.0
JITTER_HZ, GAIN_DB = 1.5, 3.0
COMMON_NOISE = 0.8
#: Julius O. Smith's pink-noise filter (-3 dB/octave within 0.3 dB over the audio band).
PINK_B = (0.049922035, -0.095993537, 0.050612699, -0.004408786)
PINK_A = (1.0, -2.494956002, 2.017265875, -0.522189400)


def colored_noise(kind: str, n: int, rng) -> np.ndarray:
    """Unit-variance noise of colour ``kind`` (white, pink or brown), made by filtering white noise.

    Returns
    -------
    np.ndarray, shape (n,)
    """
    from scipy.signal import lfilter

    pad = 4096
    w = rng.standard_normal(n + pad)
    if kind == "pink":
        w = lfilter(PINK_B, PINK_A, w)
    elif kind == "brown":
        w = lfilter([1.0], [1.0, -0.999], w)
    elif kind != "white":
        raise ValueError(f"noise={kind!r} must be one of {NOISES}")
    w = w[pad:] - w[pad:].mean()
    return w / w.std()


def band_gain(kind: str, sr: int, fmin_hz: float = 20.0, fmax_hz: float = 1000.0) -> float:
    """Mean power spectral density of unit-variance ``kind`` noise in [fmin_hz, fmax_hz], over white's.

    Pink noise of the same full-band variance is 5-14 dB louder than white at
    120-777 Hz, so a per-tone SNR against the full-band variance is a much
    lower local SNR; dividing the noise by ``sqrt(band_gain)`` makes the
    colours equal in the tones' band (``--snr-ref band``).
    """
    from scipy.signal import welch

    key = (kind, sr, fmin_hz, fmax_hz)
    if key not in _BAND_GAIN:
        f, P = welch(colored_noise(kind, 2**20, np.random.default_rng(12345)), fs=sr, nperseg=8192)
        sel = (f >= fmin_hz) & (f <= fmax_hz)
        _BAND_GAIN[key] = float(P[sel].mean() / (2.0 / sr))
    return _BAND_GAIN[key]


_BAND_GAIN: dict = {}


def tone_clip(tones_hz, snr_db: float, sr: int, noise: str, rng, duration_s: float = DURATION_S,
              jitter_hz: float = JITTER_HZ, gain_db: float = GAIN_DB, snr_ref: str = "full") -> np.ndarray:
    """A stereo clip of phase-accumulator tones in noise at per-tone SNR ``snr_db``.

    Each tone's frequency is offset by U(-jitter_hz, jitter_hz) and its gain
    by U(-gain_db, gain_db) dB around the requested SNR. The SNR is against
    the variance of the channel average's noise (``snr_ref="full"``, lfkit's
    definition), or against white noise of that variance in 20-1000 Hz
    (``snr_ref="band"``: the coloured noise is scaled to white's mean
    density there).

    Returns
    -------
    np.ndarray, shape (n_samples, 2), float64, unscaled (noise of the channel average has variance 1)
    """
    n = int(round(sr * duration_s))
    s = np.zeros(n)
    for f in tones_hz:
        f = f + rng.uniform(-jitter_hz, jitter_hz)
        a = np.sqrt(2 * 10 ** ((snr_db + rng.uniform(-gain_db, gain_db)) / 10))
        phase = rng.uniform(0, 2 * np.pi) + np.cumsum(np.full(n, 2 * np.pi * f / sr))
        s += a * np.sin(phase)
    common = colored_noise(noise, n, rng)
    own = [colored_noise(noise, n, rng) for _ in range(2)]
    if snr_ref == "band":
        g = np.sqrt(band_gain(noise, sr))
        common, own = common / g, [o / g for o in own]
    elif snr_ref != "full":
        raise ValueError(f"snr_ref={snr_ref!r} must be 'full' or 'band'")
    # channel noise c*common + d*own_i; the average has variance c**2 + d**2/2 = 1, with c**2 : d**2 = 0.8 : 0.2
    c2 = 1.0 / (1.0 + (1 - COMMON_NOISE) / COMMON_NOISE / 2)
    c, d = np.sqrt(c2), np.sqrt(c2 * (1 - COMMON_NOISE) / COMMON_NOISE)
    return np.stack([s + c * common + d * own[0], s + c * common + d * own[1]], axis=1)


def negative_tones(rng, target=TARGET_HZ, min_gap_hz: float = 15.0) -> tuple:
    """1-10 random tones in 20-1000 Hz, clear of ``target`` by ``min_gap_hz``; half also share 1-2 target tones."""
    k = int(rng.integers(1, 11))
    out = []
    while len(out) < k:
        f = rng.uniform(20, 1000)
        if min(abs(f - t) for t in target) >= min_gap_hz:
            out.append(round(float(f), 1))
    shared = 0
    if rng.random() < 0.5:
        shared = int(rng.integers(1, 3))
        out += [float(t) for t in rng.choice(target, shared, replace=False)]
    return tuple(sorted(out)), shared


def write_clips(folder: Path, clips: list) -> None:
    """24-bit stereo FLAC clips (dicts with ``x``, ``sr`` and label columns) and ``labels.csv``, atomically."""
    import soundfile as sf

    tmp = folder.with_name(folder.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cols = [k for k in clips[0] if k not in ("x", "sr")]
    with open(tmp / "labels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["path", *cols, "sr"])
        w.writeheader()
        for i, c in enumerate(clips):
            name = f"r{i:05d}.flac"
            x = c["x"] * (0.9 / np.max(np.abs(c["x"])))
            sf.write(tmp / name, x, c["sr"], subtype="PCM_24", format="FLAC")
            w.writerow({"path": name, **{k: c[k] for k in cols}, "sr": c["sr"]})
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)


def binary_test_set(n_per_class: int, seed: int, snr_ref: str = "full") -> list:
    """Positives and negatives at every SNR, noise colours and sample rates in turn."""
    rng = np.random.default_rng(seed)
    clips = []
    for snr in SNRS:
        for i in range(2 * n_per_class):
            noise, sr = NOISES[i % 3], RATES[(i // 3) % 2]
            if i % 2 == 0:
                tones, label, shared = TARGET_HZ, "positive", 0
            else:
                (tones, shared), label = negative_tones(rng), "negative"
            x = tone_clip(tones, snr, sr, noise, rng, snr_ref=snr_ref)
            clips.append({"x": x, "sr": sr, "label": label, "snr_db": snr,
                          "noise": noise, "shared": shared, "tones": ";".join(f"{t:g}" for t in tones)})
    return clips


def identity_sets(n_ids: int, n_enroll: int, n_test: int, seed: int, snr_ref: str = "full") -> dict:
    """``{(part, snr): clips}`` for ``n_ids`` random signatures (3-10 tones), enrol and test parts."""
    rng = np.random.default_rng(seed)
    sigs = {}
    while len(sigs) < n_ids:
        tones = tuple(sorted(round(float(f), 1) for f in rng.uniform(20, 1000, int(rng.integers(3, 11)))))
        if min(np.diff(tones), default=99) >= 15:
            sigs[f"new{len(sigs):02d}"] = tones
    sets = {}
    for snr in SIAMESE_SNRS:
        for part, n in (("enroll", n_enroll), ("test", n_test)):
            clips = []
            for name, tones in sigs.items():
                for i in range(n):
                    noise, sr = NOISES[i % 3], RATES[(i // 3) % 2]
                    clips.append({"x": tone_clip(tones, snr, sr, noise, rng, snr_ref=snr_ref), "sr": sr, "label": name,
                                  "snr_db": snr, "noise": noise, "shared": 0,
                                  "tones": ";".join(f"{t:g}" for t in tones)})
            sets[(part, snr)] = clips
    return sets


class Runner:
    def __init__(self, work: Path, workers: int, log):
        self.work, self.workers, self.log, self.times = work, workers, log, {}

    def lfkit(self, name: str, args: list) -> float:
        cmd = ["lfkit", *args]
        self.log("$ " + " ".join(cmd))
        t0 = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=self.work)
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
        self.times[name] = round(time.perf_counter() - t0, 1)
        return self.times[name]


def clip_key(path) -> str:
    """``folder/name`` of a clip: unique across the test folders of one run."""
    p = Path(path)
    return f"{p.parent.name}/{p.name}"


def scores_by_name(path: Path) -> dict:
    return {clip_key(r["path"]): r for r in map(json.loads, path.read_text().splitlines())}


def lfkit_test_sets(run: "Runner", tones: str, n_per_class: int, seed: int) -> list:
    """``lfkit synth`` one binary test set per SNR (``test_<SNR>``, seed ``seed + i``); the test folders' names."""
    folders = []
    for i, snr in enumerate(SNRS):
        folders.append(f"test_{snr}")
        run.lfkit(f"synth test {snr}", ["synth", "-o", folders[-1], "--positive", tones, "--n", str(2 * n_per_class),
                                        "--snr", str(snr), "--seed", str(seed + i)])
    return folders


def lfkit_identity_sets(run: "Runner", n_ids: int, n_enroll: int, n_test: int, seed: int) -> None:
    """``n_ids`` signatures drawn as ``lfkit synth --classes`` draws them (seed ``seed``, named ``new00``..), written
    to ``new_signatures.json``; ``lfkit synth --signatures`` renders ``enroll_<SNR>`` (seed ``seed + 1``) and
    ``id_test_<SNR>`` (seed ``seed + 2``) at every siamese SNR."""
    from lfkit.config import SynthConfig
    from lfkit.synth import random_signatures

    sigs = random_signatures(n_ids, SynthConfig(), seed, prefix="new")
    (run.work / "new_signatures.json").write_text(json.dumps(sigs, indent=1) + "\n")
    for snr in SIAMESE_SNRS:
        for part, n, k in (("enroll", n_enroll, 1), ("id_test", n_test, 2)):
            run.lfkit(f"synth {part} {snr}", ["synth", "-o", f"{part}_{snr}", "--signatures", "new_signatures.json",
                                              "--n", str(n), "--snr", str(snr), "--seed", str(seed + k)])


def auc_table(rows: list, scores: list) -> dict:
    """AUC per SNR, its mean, and per (SNR, noise colour)."""
    y = np.array([r["label"] == "positive" for r in rows], dtype=int)
    s = np.asarray(scores, float)
    snr = np.array([int(r["snr_db"]) for r in rows])
    noise = np.array([r["noise"] for r in rows])
    out = {str(v): round(B.auc(y[snr == v], s[snr == v]), 3) for v in SNRS}
    out["mean"] = round(float(np.mean([out[str(v)] for v in SNRS])), 3)
    for nz in [c for c in NOISES if c in set(noise)]:
        out[nz] = {str(v): round(B.auc(y[(snr == v) & (noise == nz)], s[(snr == v) & (noise == nz)]), 3)
                   for v in SNRS}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="smaller sets: 200 training clips, 100 positives, 20 clips per siamese class, "
                         "40+40 test clips per SNR")
    ap.add_argument("--tag", default="latest", help="results name: benchmarks/results/robust_<tag>.json/.md")
    ap.add_argument("--seed", type=int, default=None,
                    help="experiment seed S: synth and training --seed S, test clips 2024+S, signatures 77+S; "
                         "results robust_<tag>_seed<S>.json")
    ap.add_argument("--regimes", default="binary,oneclass,siamese")
    ap.add_argument("--snr-ref", default="full", choices=("full", "band"),
                    help="full: lfkit's per-tone SNR against the full-band noise variance; band: coloured noise "
                         "scaled to white's density in 20-1000 Hz, so colours are equally hard at the tones")
    ap.add_argument("--generator", default="robust", choices=("robust", "lfkit"),
                    help="robust: test clips from this file's generator; lfkit: from `lfkit synth` (white noise, "
                         "lfkit's own generator; --snr-ref does not apply)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--work", default=str(HERE / "out" / "robust"), help="scratch folder (replaced)")
    ap.add_argument("--results", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    regimes = set(args.regimes.split(","))
    s = 0 if args.seed is None else args.seed
    seeds = {"synth": s, "test": 2024 + s, "siamese": 77 + s}
    train_seed = [] if args.seed is None else ["--seed", str(args.seed)]
    name = f"robust_{args.tag}" if args.seed is None else f"robust_{args.tag}_seed{args.seed}"

    def log(msg):
        print(f"[bench_robust {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    work = Path(args.work) / ("quick" if args.quick else "full")
    work.mkdir(parents=True, exist_ok=True)
    run = Runner(work, args.workers, log)
    w = ["--workers", str(args.workers), "-q", *train_seed]
    ws = ["--workers", str(args.workers), "-q"]
    n_train, n_pos, n_multi, n_test = (200, 100, 20, 40) if args.quick else (400, 200, 40, 100)
    t0 = time.perf_counter()
    results, clips, tones = [], {}, ",".join(f"{t:g}" for t in TARGET_HZ)

    if regimes & {"binary", "oneclass"}:
        if args.generator == "lfkit":
            test_dirs = lfkit_test_sets(run, tones, n_test, seeds["test"])
        else:
            test_dirs = ["test"]
            write_clips(work / "test", binary_test_set(n_test, seed=seeds["test"], snr_ref=args.snr_ref))
        rows = [{**r, "path": f"{d}/{r['path']}"} for d in test_dirs for r in B.read_labels(work / d)]
        clips["test"] = {"path": [r["path"] for r in rows], "label": [int(r["label"] == "positive") for r in rows],
                         "snr_db": [int(r["snr_db"]) for r in rows], "noise": [r["noise"] for r in rows]}
        log(f"test set: {len(rows)} clips")
        models = []
        if "binary" in regimes:
            run.lfkit("synth train", ["synth", "-o", "train", "--positive", tones, "--n", str(n_train), "--snr",
                                      "-35:-20", "--seed", str(seeds["synth"])])
            run.lfkit("train binary", ["train-binary", "train", "-o", "binary.pt", *w])
            run.lfkit("train knowntone", ["train-binary", "train", "-o", "knowntone.pt", "--arch", "knowntone",
                                          "--tones", tones, *w])
            models += [("train-binary (defaults)", "binary.pt", "train binary"),
                       (f"train-binary --arch knowntone --tones {tones}", "knowntone.pt", "train knowntone")]
        if "oneclass" in regimes:
            run.lfkit("synth pos", ["synth", "-o", "pos", "--positive", tones, "--positive-only", "--n", str(n_pos),
                                    "--snr", "-35:-20", "--seed", str(seeds["synth"])])
            run.lfkit("train oneclass", ["train-oneclass", "pos", "-o", "oneclass.pt", *w])
            models.append(("train-oneclass (defaults)", "oneclass.pt", "train oneclass"))
        for method, model, train_key in models:
            run.lfkit(f"score {model}", ["score", model, *test_dirs, "-o", f"{model}.jsonl", *ws])
            recs = scores_by_name(work / f"{model}.jsonl")
            scores = [recs[clip_key(r["path"])]["score"] for r in rows]
            aucs = auc_table(rows, scores)
            results.append({"regime": "binary" if "binary" in method else "oneclass", "method": method, "auc": aucs,
                            "train_s": run.times[train_key], "scores": [round(float(x), 6) for x in scores]})
            log(f"{method}: {aucs}")

    if "siamese" in regimes:
        run.lfkit("synth multi", ["synth", "-o", "multi", "--classes", "20", "--n", str(n_multi), "--snr", "-38:-25",
                                  "--seed", str(seeds["synth"])])
        run.lfkit("train siamese", ["train-siamese", "multi", "-o", "siamese.pt", *w])
        if args.generator == "lfkit":
            lfkit_identity_sets(run, 12, 5, 10, seed=seeds["siamese"])
        else:
            sets = identity_sets(12, 5, 10, seed=seeds["siamese"], snr_ref=args.snr_ref)
        lf, nc, lf_ok, nc_ok = {}, {}, {}, {}
        for snr in SIAMESE_SNRS:
            if args.generator != "lfkit":
                write_clips(work / f"enroll_{snr}", sets[("enroll", snr)])
                write_clips(work / f"id_test_{snr}", sets[("test", snr)])
            run.lfkit(f"score siamese {snr}", ["score", "siamese.pt", "--enroll", f"enroll_{snr}", f"id_test_{snr}",
                                               "-o", f"siamese_{snr}.jsonl", *ws])
            recs = scores_by_name(work / f"siamese_{snr}.jsonl")
            te, en = B.read_labels(work / f"id_test_{snr}"), B.read_labels(work / f"enroll_{snr}")
            truth = [r["label"] for r in te]
            best = [max(recs[clip_key(r["file"])]["scores"].items(), key=lambda kv: kv[1])[0] for r in te]
            clips[f"siamese_{snr}"] = {"label": truth}
            lf_ok[str(snr)] = [int(b == t) for b, t in zip(best, truth)]
            lf[str(snr)] = round(float(np.mean(lf_ok[str(snr)])), 3)
            W = lambda rows: B.whitened_mean_spectrum([B.read_mono(r["file"], 44100) for r in rows], 44100,  # noqa
                                                      fmax=1000.0)
            pred = B.nearest_centroid(W(en), [r["label"] for r in en], W(te))
            nc_ok[str(snr)] = [int(p == t) for p, t in zip(pred, truth)]
            nc[str(snr)] = round(float(np.mean(nc_ok[str(snr)])), 3)
        results += [{"regime": "siamese", "method": "train-siamese (defaults)", "top1": lf,
                     "train_s": run.times["train siamese"], "correct": lf_ok},
                    {"regime": "siamese", "method": "nearest centroid, whitened mean spectrum 0-1 kHz", "top1": nc,
                     "correct": nc_ok}]
        log(f"siamese top-1: lfkit {lf}, nearest centroid {nc}")

    argv = sys.argv[1:] if argv is None else list(argv)
    import lfkit

    head = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    settings = {"quick": args.quick, **({"generator": "lfkit"} if args.generator == "lfkit" else {}), "snr_ref": args.snr_ref, "seed": args.seed, "seeds": seeds,
                "n_train": n_train, "n_test_per_class_per_snr": n_test}
    this_run = {"command": " ".join(["python benchmarks/bench_robust.py", *argv]),
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "git_head": head.stdout.strip(),
                "regimes": sorted(regimes), "seconds": round(time.perf_counter() - t0, 1)}
    for r in results:
        r["git_head"] = this_run["git_head"]
    out = Path(args.results)
    prior, runs = [], []
    if (out / f"{name}.json").exists():
        old = json.loads((out / f"{name}.json").read_text())
        if all(old.get(k) == v for k, v in settings.items()) and "clips" in old:
            prior = [r for r in old["results"] if r["regime"] not in regimes]
            runs, clips = old.get("runs", []), {**old["clips"], **clips}
        else:
            log(f"{out / f'{name}.json'}: other settings (or no per-clip scores); replacing it")
    order = {"binary": 0, "oneclass": 1, "siamese": 2}
    results = sorted(prior + results, key=lambda r: order[r["regime"]])
    kt = next((r for r in results if "knowntone" in r["method"]), None)
    for r in results:
        r.pop("loss_vs_knowntone", None)
        if kt is not None and "auc" in r:
            r["loss_vs_knowntone"] = {k: round(kt["auc"][k] - r["auc"][k], 3) for k in [*map(str, SNRS), "mean"]}
    md = markdown(results)
    doc = {"command": this_run["command"], "date": this_run["date"], "lfkit_path": lfkit.__file__,
           "git_head": this_run["git_head"], **settings, "seconds": this_run["seconds"],
           "command_seconds": run.times, "runs": [*runs, this_run], "results": results, "clips": clips}
    R.write_text(out / f"{name}.json", R.dumps(doc))
    R.write_text(out / f"{name}.md", f"{doc['command']} ({doc['date']}, {doc['seconds']:.0f} s)\n\n{md}")
    print(md)
    log(f"wrote {out / f'{name}.json'} ({doc['seconds']:.0f} s)")
    return 0


def markdown(results: list) -> str:
    lines = []
    auc_rows = [r for r in results if "auc" in r]
    if auc_rows:
        lines += ["AUC per per-tone SNR (all noise colours), and the loss against the known-tone detector", "",
                  "| method | " + " | ".join(f"{v} dB" for v in SNRS)
                  + " | mean | loss vs known-tone (mean) | train s |",
                  "|---|" + "---:|" * (len(SNRS) + 3)]
        for r in auc_rows:
            a = r["auc"]
            loss = r.get("loss_vs_knowntone", {}).get("mean", "")
            lines.append(f"| {r['method']} | " + " | ".join(f"{a[str(v)]:.3f}" for v in SNRS)
                         + f" | {a['mean']:.3f} | {loss} | {r['train_s']} |")
        colours = [nz for nz in NOISES if nz in auc_rows[0]["auc"]]
        lines += ["", "AUC per noise colour (-35 / -30 / -25 / -20 dB)", "",
                  "| method | " + " | ".join(colours) + " |", "|---|" + "---|" * len(colours)]
        for r in auc_rows:
            lines.append(f"| {r['method']} | " + " | ".join(" / ".join(f"{r['auc'][nz][str(v)]:.2f}" for v in SNRS)
                                                           for nz in colours) + " |")
    sia = [r for r in results if "top1" in r]
    if sia:
        lines += ["", "Siamese: top-1 of 12 unseen signatures (5-shot)", "",
                  "| method | " + " | ".join(f"{v} dB" for v in SIAMESE_SNRS) + " | train s |",
                  "|---|" + "---:|" * (len(SIAMESE_SNRS) + 1)]
        for r in sia:
            lines.append(f"| {r['method']} | " + " | ".join(f"{r['top1'][str(v)]:.3f}" for v in SIAMESE_SNRS)
                         + f" | {r.get('train_s', '')} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
