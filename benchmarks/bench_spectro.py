"""Benchmark ``lfkit spectro`` against librosa, and time the single-clip pipe.

Run from the repository root (librosa is a test-only dependency)::

    python benchmarks/bench_spectro.py                 # 2,000 clips, as the issue asks
    python benchmarks/bench_spectro.py --n 200         # a quicker look

It generates N one-second 44.1 kHz clips with ``lfkit synth`` (reused when
already there with the same N), then times, wall clock, in the same run:

(a) ``lfkit spectro DIR -o OUT --kind logmel --n-fft 2048 --hop-length 512
    --fmax nyquist --n-mels 128 --norm none --workers W`` (the whole command);
(b) librosa computing the same log-mel one clip at a time on the same files
    (``soundfile.read`` + ``librosa.power_to_db(librosa.feature.melspectrogram(
    y=y, sr=sr, n_fft=2048, hop_length=512, center=False, n_mels=128))``);
(c) the default settings, ``lfkit spectro DIR -o OUT2 --workers W``;
(d) the pipe ``lfkit synth --tones 120,340,777 --snr -30 | lfkit spectro - > x.npy``,
    median of 10 runs.

It also checks that (a)'s arrays equal librosa's on a few files (max abs dB
difference). Prints a Markdown table and writes it as JSON to
``benchmarks/out/spectro.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LFKIT = [shutil.which("lfkit")] if shutil.which("lfkit") else [sys.executable, "-m", "lfkit_cli.main"]
LOGMEL = ["--kind", "logmel", "--n-fft", "2048", "--hop-length", "512", "--fmax", "nyquist",
          "--n-mels", "128", "--norm", "none"]


def sh(*args) -> float:
    """Run ``lfkit ARGS``; return its wall time in seconds (raises on failure)."""
    t0 = time.perf_counter()
    subprocess.run([*LFKIT, *map(str, args)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def make_clips(data: Path, n: int) -> float:
    """Generate the clips unless an identical set is already there; returns seconds spent (0 if reused)."""
    meta = data / "synth.json"
    if meta.exists() and sum(1 for _ in data.glob("*.wav")) == n:
        return 0.0
    return sh("synth", "-o", data, "--positive", "120,340,777", "--n", n, "--seed", "0")


def librosa_logmel(path):
    import librosa
    import soundfile as sf

    y, sr = sf.read(str(path), dtype="float32")
    return librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=512,
                                                              center=False, n_mels=128))


def time_librosa(files) -> float:
    librosa_logmel(files[0])  # warm up: imports, numba/filterbank caches
    t0 = time.perf_counter()
    for f in files:
        librosa_logmel(f)
    return time.perf_counter() - t0


def time_pipe(out: Path, runs: int = 10) -> list[float]:
    times = []
    synth = " ".join(LFKIT + ["synth", "--tones", "120,340,777", "--snr", "-30"])
    spectro = " ".join(LFKIT + ["spectro", "-"])
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(f"{synth} | {spectro} > {out}", shell=True, check=True)
        times.append(time.perf_counter() - t0)
    shape = np.load(out).shape
    if shape != (93, 40):
        raise SystemExit(f"pipe gave shape {shape}, expected (93, 40)")
    return times


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="number of 1 s clips [2000]")
    ap.add_argument("--workers", type=int, default=2, help="lfkit spectro --workers [2]")
    ap.add_argument("--out", type=Path, default=HERE / "out", help="working folder [benchmarks/out]")
    ap.add_argument("--check", type=int, default=5, help="files compared with librosa [5]")
    args = ap.parse_args(argv)

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    data = out / f"clips{args.n}"
    t_synth = make_clips(data, args.n)
    files = sorted(data.glob("*.wav"))
    n = len(files)

    t_logmel = sh("spectro", data, "-o", out / "logmel", *LOGMEL, "--workers", args.workers, "-q")
    t_librosa = time_librosa(files)
    t_default = sh("spectro", data, "-o", out / "default", "--workers", args.workers, "-q")
    pipe = time_pipe(out / "pipe.npy")

    diffs = []
    for f in files[: args.check]:
        ours = np.load(out / "logmel" / f.with_suffix(".npy").name)
        ref = librosa_logmel(f)
        if ours.shape != ref.shape:
            raise SystemExit(f"{f.name}: lfkit shape {ours.shape} != librosa {ref.shape}")
        diffs.append(float(np.max(np.abs(ours - ref))))

    import librosa

    result = {
        "clips": n,
        "workers": args.workers,
        "cpu_count": os.cpu_count(),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "librosa": librosa.__version__,
        "synth_s": round(t_synth, 2),
        "lfkit_logmel_s": round(t_logmel, 2),
        "lfkit_logmel_clips_per_s": round(n / t_logmel, 1),
        "librosa_logmel_s": round(t_librosa, 2),
        "librosa_logmel_clips_per_s": round(n / t_librosa, 1),
        "speedup_vs_librosa": round(t_librosa / t_logmel, 2),
        "lfkit_default_s": round(t_default, 2),
        "lfkit_default_clips_per_s": round(n / t_default, 1),
        "pipe_median_s": round(statistics.median(pipe), 3),
        "pipe_min_s": round(min(pipe), 3),
        "logmel_max_abs_db_diff": max(diffs),
        "logmel_files_compared": len(diffs),
        "load_avg_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)],  # before, after: busy machine?
    }
    (out / "spectro.json").write_text(json.dumps(result, indent=2) + "\n")

    print(f"{n} one-second 44.1 kHz clips, --workers {args.workers}, {os.cpu_count()} CPUs, "
          f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}\n")
    print("| what | wall time (s) | clips/s | speed-up vs librosa |")
    print("|---|---:|---:|---:|")
    print(f"| lfkit spectro, log-mel 2048/512/128 (whole command) | {t_logmel:.2f} | {n / t_logmel:.1f} "
          f"| {t_librosa / t_logmel:.2f}x |")
    print(f"| librosa log-mel, one clip at a time (same files) | {t_librosa:.2f} | {n / t_librosa:.1f} | 1.00x |")
    print(f"| lfkit spectro, defaults (log, 4096/1024, 0-1 kHz) | {t_default:.2f} | {n / t_default:.1f} "
          f"| {t_librosa / t_default:.2f}x |")
    print(f"| `lfkit synth ... \\| lfkit spectro - > x.npy` (median of {len(pipe)}) | {statistics.median(pipe):.3f} "
          "| | |")
    print(f"\nlog-mel vs librosa on {len(diffs)} files: max abs difference {max(diffs):.2e} dB")
    print(f"written: {out / 'spectro.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
