"""Benchmark: what choosing the front end from the data costs, and what it chooses.

Runs the README's binary example (``lfkit synth -o train --positive
120,340,777 --n 200 --snr -30:-20 --seed 0``; ``lfkit train-binary train -o
m.pt --epochs 8``) twice: with no spectrogram flag (the front end is chosen
from the clips) and with ``--kind log`` (today's defaults, no choice). Prints
the wall time of each, the selection's own seconds (timed again in this
process: model files keep no timings) and its choice::

    python benchmarks/bench_autofront.py
    python benchmarks/bench_autofront.py --n 400 --epochs 20

Aim (issue 9): the selection adds at most 20% to training time.
Writes ``benchmarks/results/speed_autofront.json`` (``--results DIR``:
there), which ``speed_block.py`` renders into the README.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import speed_block  # noqa: E402

LFKIT = [shutil.which("lfkit")] if shutil.which("lfkit") else [sys.executable, "-m", "lfkit_cli.main"]


def lfkit(*args) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([*LFKIT, *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"lfkit {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}")
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="training clips (README: 200)")
    ap.add_argument("--epochs", type=int, default=8, help="most epochs (README: 8)")
    ap.add_argument("--repeats", type=int, default=2, help="runs of each command (the fastest counts)")
    ap.add_argument("--results", type=Path, default=None, help="folder for speed_autofront.json [benchmarks/results]")
    args = ap.parse_args(argv)
    started = speed_block.start()
    from lfkit.inference.modelfile import load_model

    with tempfile.TemporaryDirectory(prefix="bench_autofront_") as tmp:
        work = Path(tmp)
        lfkit("synth", "-o", work / "train", "--positive", "120,340,777", "--n", args.n, "--snr", "-30:-20",
              "--seed", 0)
        common = ["train-binary", work / "train", "--epochs", args.epochs, "-q"]
        auto = min(lfkit(*common, "-o", work / "auto.pt") for _ in range(args.repeats))
        fixed = min(lfkit(*common, "-o", work / "fixed.pt", "--kind", "log") for _ in range(args.repeats))
        doc = load_model(work / "auto.pt")  # format 2 (zip of .npy): torch.load cannot read it
        sel = doc["training"]["frontend_selection"]
        # the selection alone, in this process (model files keep no timings): waveforms in, choice out
        from lfkit.autofront import select_frontend
        from lfkit.data import load_dataset

        ds = load_dataset(str(work / "train"), {}, kind="waveform")
        t0 = time.perf_counter()
        select_frontend(ds.X, ds.sr, [lab == "positive" for lab in ds.labels])
        sel_s = time.perf_counter() - t0
    chosen = sel["candidates"][sel["chosen"]] if sel.get("chosen") is not None else {}
    print(f"train-binary, {args.n} clips, {args.epochs} epochs (fastest of {args.repeats}):")
    print(f"  no spectrogram flag (chosen from the data): {auto:.1f} s")
    print(f"  --kind log (today's defaults, no choice):   {fixed:.1f} s")
    print(f"  difference: {auto - fixed:+.1f} s ({100 * (auto - fixed) / fixed:+.0f}%); "
          f"the selection itself: {sel_s:.2f} s ({100 * sel_s / fixed:.0f}%)")
    print(f"  chosen: {doc['frontend']}")
    for c in sel["candidates"]:
        print(f"    {c['kind']:7s} {c['fmin']:g}-{'nyquist' if c['fmax'] is None else format(c['fmax'], 'g')} Hz: "
              f"probe AUC {c['score']:.3f}" + ("  <- chosen" if c is chosen else ""))
    result = {"n": args.n, "epochs": args.epochs, "repeats": args.repeats, "auto_s": round(auto, 2),
              "fixed_s": round(fixed, 2), "selection_s": round(sel_s, 2),
              "selection_share_of_fixed": round(sel_s / fixed, 4), "chosen": getattr(doc["frontend"], "kind", None)}
    print(f"written: {speed_block.write_result('autofront', result, started, args.results, argv)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
