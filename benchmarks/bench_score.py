"""Benchmark: ``lfkit score`` throughput, clips per second, wall clock.

Times the command users run, ``lfkit score model.pt DIR --workers 2``, over
2,000 one-second clips: reading, decoding, the front end and the network.
The start-up of the command (importing torch, loading the model) is timed
separately on one clip and reported, and included in the headline number;
the CPU seconds of the command and its workers are reported too (less
sensitive to other load on a shared machine than wall-clock time)::

    python benchmarks/bench_score.py                 # speccnn
    python benchmarks/bench_score.py --archs speccnn,wave1d --workers 2
    python benchmarks/bench_score.py --quick         # 500 clips
    git archive BASE | tar -x -C /tmp/base && python benchmarks/bench_score.py --against /tmp/base

Aims: issue 3, >= 500 clips/s for speccnn on 2 CPU cores; issue 12, >= 1,000
clips/s including start-up. Every timed run is reported (``--repeat``), with
the load average around it. ``--breakdown`` adds where the time goes, in this
process, one step after another over the same clips: the start-up (``import
torch`` in a fresh process, then loading the model), decode (lfkit's reader),
the front end (FFT and the rest of the spectrogram), the network (forward
passes of ``NET_BATCH`` rows) and writing the records. Writes
``benchmarks/out/score.json`` and ``benchmarks/results/speed_score.json``
(``--results DIR``: there; ``speed_block.py`` renders it into the README)
and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import speed_block  # noqa: E402

LFKIT = [shutil.which("lfkit")] if shutil.which("lfkit") else [sys.executable, "-m", "lfkit_cli.main"]


def lfkit(*args, cpu: bool = False, against: str | None = None):
    """Run ``lfkit ARGS``; return its wall-clock seconds (and CPU seconds of it and its workers).

    ``against``: a source tree (e.g. ``git archive BASE | tar -x -C DIR``) whose
    ``lfkit`` package is run instead of the installed one (``PYTHONPATH``; the
    ``lfkit_cli`` shell stays the installed one).
    """
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = None
    if against:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([against, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    t0 = time.perf_counter()
    proc = subprocess.run([*(LFKIT if not against else [sys.executable, "-m", "lfkit_cli.main"]), *map(str, args)],
                          capture_output=True, text=True, env=env, cwd="/" if against else None)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"lfkit {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}")
    cpu_s = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return (wall, cpu_s) if cpu else wall


def breakdown(model: Path, clips: Path) -> dict:
    """Seconds per step for all clips, one after another in this process (see the module docstring)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    t = {"python_import_torch_s": time.perf_counter() - t0}
    t0 = time.perf_counter()
    import torch

    t["import_torch_here_s"] = time.perf_counter() - t0
    from lfkit import features, io
    from lfkit.inference.scorers import load_scorers
    from lfkit.parallel import net_batches
    from lfkit.segments import ReadPlan, read_clip

    t0 = time.perf_counter()
    scorer = load_scorers([str(model)])[0]
    t["load_model_s"] = time.perf_counter() - t0
    files = sorted(clips.glob("*.wav"))
    t0 = time.perf_counter()
    audio = [read_clip(str(f), ReadPlan()) for f in files]
    t["decode_s"] = time.perf_counter() - t0
    cfg = scorer.frontend
    features.spectrogram(audio[0][0], audio[0][1], cfg)
    t0 = time.perf_counter()
    X = np.stack([scorer.fit_input(features.spectrogram(y, sr, cfg)) for y, sr in audio])
    t["frontend_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    scores = net_batches(scorer.score_batch, X)
    t["network_s"] = time.perf_counter() - t0
    records = [{"path": str(f), "score": r["score"]} for f, r in zip(files, scores)]
    t0 = time.perf_counter()
    io.write_jsonl(records, clips.parent / "breakdown.jsonl")
    t["write_s"] = time.perf_counter() - t0
    out = {k: round(v, 3) for k, v in t.items()}
    out["torch_threads"] = torch.get_num_threads()
    out["input_shape"] = list(X.shape[1:])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", default="speccnn", help="comma-separated architectures (e.g. speccnn,wave1d)")
    ap.add_argument("--n", type=int, default=2000, help="clips to score")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs, all reported; the best is the headline")
    ap.add_argument("--breakdown", action="store_true", help="also time each step in this process")
    ap.add_argument("--quick", action="store_true", help="500 clips, one run")
    ap.add_argument("--work", default=str(HERE / "out" / "score_work"))
    ap.add_argument("-o", "--output", default=str(HERE / "out" / "score.json"))
    ap.add_argument("--against", default=None,
                    help="a source tree of another lfkit version (git archive BASE | tar -x -C DIR): its score runs "
                         "alternate with this one's, both reported, and their records are compared byte for byte")
    ap.add_argument("--results", type=Path, default=None, help="folder for speed_score.json [benchmarks/results]")
    args = ap.parse_args(argv)
    started = speed_block.start()
    n = 500 if args.quick else args.n
    repeat = 1 if args.quick else args.repeat
    work = Path(args.work).resolve()  # absolute: --against runs from another folder
    work.mkdir(parents=True, exist_ok=True)
    clips = work / f"clips_{n}"
    if not (clips / "labels.csv").exists():
        lfkit("synth", "-o", clips, "--positive", "120,340,777", "--n", n, "--duration", 1, "--snr", "-35:-20", "--seed", 0)
    train = work / "train"
    if not (train / "labels.csv").exists():
        lfkit("synth", "-o", train, "--positive", "120,340,777", "--n", 40, "--duration", 1, "--snr", "-20", "--seed", 1)
    one = work / "one.wav"
    if not one.exists():
        lfkit("synth", "-o", one, "--tones", "120,340,777", "--snr", "-20", "--seed", 2)
    rows = []
    for arch in [a.strip() for a in args.archs.split(",") if a.strip()]:
        model = work / f"{arch}.pt"
        lfkit("train-binary", train, "-o", model, "--arch", arch, "--epochs", 1, "-q")  # speed only, not quality
        startup = min(lfkit("score", model, one, "-o", work / "one.jsonl", "-q") for _ in range(2))
        runs, loads, base_runs = [], [], []
        for _ in range(repeat):
            if args.against:  # alternate: the other version first, then this one, under the same load
                base_runs.append(lfkit("score", model, clips, "--workers", args.workers, "-o",
                                       work / "scores_against.jsonl", "-q", cpu=True, against=args.against))
            load0 = os.getloadavg()[0]
            runs.append(lfkit("score", model, clips, "--workers", args.workers, "-o", work / "scores.jsonl", "-q",
                              cpu=True))
            loads.append([round(load0, 2), round(os.getloadavg()[0], 2)])
        against = {}
        if args.against:
            same = (work / "scores_against.jsonl").read_bytes() == (work / "scores.jsonl").read_bytes()
            against = {"against": args.against, "against_runs_s": [round(r, 2) for r, _ in base_runs],
                       "against_runs_cpu_s": [round(c, 2) for _, c in base_runs], "records_identical": same}
        wall, cpu_s = min(runs)
        n_out = sum(1 for _ in open(work / "scores.jsonl"))
        assert n_out == n, (n_out, n)
        rows.append({"arch": arch, "clips": n, "workers": args.workers, "wall_s": round(wall, 2),
                     "clips_per_s": round(n / wall, 1), "startup_s": round(startup, 2),
                     "clips_per_s_after_startup": round(n / max(wall - startup, 1e-9), 1), "cpu_s": round(cpu_s, 2),
                     "runs_s": [round(r, 2) for r, _ in runs], "runs_clips_per_s": [round(n / r) for r, _ in runs],
                     "runs_cpu_s": [round(c, 2) for _, c in runs], "runs_load_avg_1min": loads,
                     **against,
                     **({"breakdown": breakdown(model, clips)} if args.breakdown else {})})
        print(f"{arch}: {n / wall:.0f} clips/s ({wall:.1f} s for {n}, start-up {startup:.1f} s)", file=sys.stderr, flush=True)
    result = {"cpus": os.cpu_count(), "load_avg": [round(x, 2) for x in os.getloadavg()], "rows": rows}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {speed_block.write_result('score', result, started, args.results, argv)}", file=sys.stderr)
    print("| arch | clips | workers | wall s | clips/s | start-up s | clips/s after start-up | CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['arch']} | {r['clips']} | {r['workers']} | {r['wall_s']:.1f} | {r['clips_per_s']:.0f} | "
              f"{r['startup_s']:.1f} | {r['clips_per_s_after_startup']:.0f} | {r['cpu_s']:.1f} |")
    for r in rows:
        print(f"\n{r['arch']}, every run: " + ", ".join(
            f"{s} s = {c} clips/s (CPU {u} s, load {a} -> {b})"
            for s, c, u, (a, b) in zip(r["runs_s"], r["runs_clips_per_s"], r["runs_cpu_s"], r["runs_load_avg_1min"])))
        if r.get("against"):
            print(f"against {r['against']} (alternating): " + ", ".join(
                f"{s} s (CPU {u} s)" for s, u in zip(r["against_runs_s"], r["against_runs_cpu_s"]))
                + f"; records byte-identical: {r['records_identical']}")
        b = r.get("breakdown")
        if b:
            print(f"\nwhere the time goes ({r['arch']}, {r['clips']} clips, one process, one step after another; "
                  f"torch threads {b['torch_threads']}, input {b['input_shape']}):\n")
            print("| step | seconds | ms/clip |\n|---|---:|---:|")
            for k in ("python_import_torch_s", "import_torch_here_s", "load_model_s", "decode_s", "frontend_s",
                      "network_s", "write_s"):
                per = "" if k in ("python_import_torch_s", "import_torch_here_s", "load_model_s") else \
                    f"{1000 * b[k] / r['clips']:.2f}"
                print(f"| {k[:-2].replace('_', ' ')} | {b[k]:.2f} | {per} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
