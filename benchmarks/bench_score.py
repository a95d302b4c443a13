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

Aim (issue 3): >= 500 clips/s for speccnn on 2 CPU cores. Writes
``benchmarks/out/score.json`` and prints a Markdown table.
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

HERE = Path(__file__).resolve().parent
LFKIT = [shutil.which("lfkit")] if shutil.which("lfkit") else [sys.executable, "-m", "lfkit_cli.main"]


def lfkit(*args, cpu: bool = False):
    """Run ``lfkit ARGS``; return its wall-clock seconds (and CPU seconds of it and its workers)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([*LFKIT, *map(str, args)], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"lfkit {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}")
    cpu_s = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return (wall, cpu_s) if cpu else wall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", default="speccnn", help="comma-separated architectures (e.g. speccnn,wave1d)")
    ap.add_argument("--n", type=int, default=2000, help="clips to score")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2, help="timed runs; the best is reported")
    ap.add_argument("--quick", action="store_true", help="500 clips, one run")
    ap.add_argument("--work", default=str(HERE / "out" / "score_work"))
    ap.add_argument("-o", "--output", default=str(HERE / "out" / "score.json"))
    args = ap.parse_args(argv)
    n = 500 if args.quick else args.n
    repeat = 1 if args.quick else args.repeat
    work = Path(args.work)
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
        runs = [lfkit("score", model, clips, "--workers", args.workers, "-o", work / "scores.jsonl", "-q", cpu=True)
                for _ in range(repeat)]
        wall, cpu_s = min(runs)
        n_out = sum(1 for _ in open(work / "scores.jsonl"))
        assert n_out == n, (n_out, n)
        rows.append({"arch": arch, "clips": n, "workers": args.workers, "wall_s": round(wall, 2),
                     "clips_per_s": round(n / wall, 1), "startup_s": round(startup, 2),
                     "clips_per_s_after_startup": round(n / max(wall - startup, 1e-9), 1), "cpu_s": round(cpu_s, 2),
                     "runs_s": [round(r, 2) for r, _ in runs]})
        print(f"{arch}: {n / wall:.0f} clips/s ({wall:.1f} s for {n}, start-up {startup:.1f} s)", file=sys.stderr, flush=True)
    result = {"cpus": os.cpu_count(), "load_avg": os.getloadavg(), "rows": rows}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print("| arch | clips | workers | wall s | clips/s | start-up s | clips/s after start-up | CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['arch']} | {r['clips']} | {r['workers']} | {r['wall_s']:.1f} | {r['clips_per_s']:.0f} | "
              f"{r['startup_s']:.1f} | {r['clips_per_s_after_startup']:.0f} | {r['cpu_s']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
