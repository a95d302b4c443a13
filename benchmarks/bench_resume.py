"""Benchmark: ``lfkit score`` killed halfway and finished with ``--resume`` gives the uninterrupted file.

The issue's "done when": a ``score`` over 2,000 files, killed with SIGKILL
once its ``scores.jsonl.partial`` holds about half the records, then rerun
with ``--resume``, must write the same bytes as an uninterrupted run. Also
reports how many inputs the kill cost (records lost with the last
unflushed batch and redone). The kill and resume are repeated ``--repeat``
times against one uninterrupted run::

    python benchmarks/bench_resume.py              # 2,000 clips of 0.5 s, 3 kills
    python benchmarks/bench_resume.py --n 600      # quicker

Writes ``benchmarks/results/speed_resume.json`` (``--results DIR``: there),
which ``speed_block.py`` renders into the README.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import speed_block  # noqa: E402

LFKIT = [shutil.which("lfkit")] if shutil.which("lfkit") else [sys.executable, "-m", "lfkit_cli.main"]


def run(*args):
    proc = subprocess.run([*LFKIT, *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"lfkit {' '.join(map(str, args))} failed: {proc.stderr.strip()}")


def kill_and_resume(model: Path, test: Path, cut: Path, n: int, workers: int) -> dict:
    """One ``score`` killed once ``cut.partial`` holds ``n // 2`` records, then rerun with ``--resume``."""
    partial = Path(f"{cut}.partial")
    for p in (cut, partial):
        p.unlink(missing_ok=True)
    proc = subprocess.Popen([*LFKIT, "score", str(model), str(test), "-o", str(cut), "--workers",
                             str(workers), "-q"], stderr=subprocess.DEVNULL)
    while proc.poll() is None:
        lines = partial.read_bytes().count(b"\n") if partial.exists() else 0
        if lines >= n // 2:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait()
    if proc.returncode != -signal.SIGKILL:
        raise SystemExit(f"the run ended before it could be killed (exit {proc.returncode}); raise --n")
    kept = partial.read_bytes().count(b"\n")
    t0 = time.perf_counter()
    run("score", model, test, "-o", cut, "--workers", workers, "--resume", "-q")
    return {"killed_at_records": kept, "seconds_resume": round(time.perf_counter() - t0, 2),
            "partial_left": partial.exists()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="clips to score")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="kills and resumes, each compared with the whole run [3]")
    ap.add_argument("--keep", help="work in this folder and keep it (default: a temporary one)")
    ap.add_argument("--results", type=Path, default=None, help="folder for speed_resume.json [benchmarks/results]")
    args = ap.parse_args()
    started = speed_block.start()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="lfkit-resume-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        train, test, model = root / "train", root / "test", root / "m.pt"
        run("synth", "-o", train, "--positive", "120,340,777", "--n", 40, "--duration", 0.5, "--snr", -10, "--seed", 0)
        run("synth", "-o", test, "--positive", "120,340,777", "--n", args.n, "--duration", 0.5, "--snr", -20, "--seed", 1)
        run("train-binary", train, "-o", model, "--epochs", 2, "--kind", "log", "-q")
        whole, cut = root / "whole.jsonl", root / "cut.jsonl"
        t0 = time.perf_counter()
        run("score", model, test, "-o", whole, "--workers", args.workers, "-q")
        t_whole = time.perf_counter() - t0
        kills = []
        for _ in range(args.repeat):
            k = kill_and_resume(model, test, cut, args.n, args.workers)
            k["identical"] = cut.read_bytes() == whole.read_bytes()
            kills.append(k)
            print(json.dumps(k), flush=True)
        result = {"n": args.n, "workers": args.workers, "clip_duration_s": 0.5, "seconds_whole": round(t_whole, 2),
                  "kills": kills, "identical": sum(k["identical"] for k in kills), "repeat": args.repeat}
        print(f"written: {speed_block.write_result('resume', result, started, args.results)}")
        if not all(k["identical"] for k in kills):
            raise SystemExit("a resumed file differs from the uninterrupted one")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
