"""Benchmark: ``lfkit score`` killed halfway and finished with ``--resume`` gives the uninterrupted file.

The issue's "done when": a ``score`` over 2,000 files, killed with SIGKILL
once its ``scores.jsonl.partial`` holds about half the records, then rerun
with ``--resume``, must write the same bytes as an uninterrupted run. Also
reports how many inputs the kill cost (records lost with the last
unflushed batch and redone)::

    python benchmarks/bench_resume.py              # 2,000 clips of 0.5 s
    python benchmarks/bench_resume.py --n 600      # quicker

Writes ``benchmarks/out/resume.json``.
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
LFKIT = [shutil.which("lfkit")] if shutil.which("lfkit") else [sys.executable, "-m", "lfkit_cli.main"]


def run(*args):
    proc = subprocess.run([*LFKIT, *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"lfkit {' '.join(map(str, args))} failed: {proc.stderr.strip()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="clips to score")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", help="work in this folder and keep it (default: a temporary one)")
    args = ap.parse_args()
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
        partial = Path(f"{cut}.partial")
        proc = subprocess.Popen([*LFKIT, "score", str(model), str(test), "-o", str(cut), "--workers",
                                 str(args.workers), "-q"], stderr=subprocess.DEVNULL)
        lines = 0
        while proc.poll() is None:
            lines = partial.read_bytes().count(b"\n") if partial.exists() else 0
            if lines >= args.n // 2:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.02)
        proc.wait()
        if proc.returncode != -signal.SIGKILL:
            raise SystemExit(f"the run ended before it could be killed (exit {proc.returncode}); raise --n")
        kept = partial.read_bytes().count(b"\n")
        t0 = time.perf_counter()
        run("score", model, test, "-o", cut, "--workers", args.workers, "--resume", "-q")
        t_resume = time.perf_counter() - t0
        same = cut.read_bytes() == whole.read_bytes()
        result = {"n": args.n, "killed_at_records": kept, "identical": same, "seconds_whole": round(t_whole, 2),
                  "seconds_resume": round(t_resume, 2), "partial_left": partial.exists()}
        (HERE / "out").mkdir(exist_ok=True)
        (HERE / "out" / "resume.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result))
        if not same:
            raise SystemExit("the resumed file differs from the uninterrupted one")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
