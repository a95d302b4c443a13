"""Benchmark ``lfkit spectro DIR -o OUT`` against librosa, with where the time goes (issue 12).

Run from the repository root (librosa is a test-only dependency)::

    python benchmarks/bench_spectro.py                 # 2,000 clips, as the issue asks
    python benchmarks/bench_spectro.py --n 200         # a quicker look
    python benchmarks/bench_spectro.py --runs 3        # three runs, all reported

It generates N one-second 44.1 kHz clips with ``lfkit synth`` (reused when
already there with the same N), then times, wall clock, in the same run:

(a) the whole command, start-up included:
    ``lfkit spectro DIR -o OUT --kind logmel --n-fft 2048 --hop-length 512
    --n-mels 64 --norm none --workers W`` (W = 2 and 1);
(b) librosa computing *and saving* the same clips one by one, in a fresh
    process (start-up included; the loop alone is reported too, and the
    speed-up is given against the loop alone, the harder comparison), once as
    installed and once with one BLAS thread (OpenBLAS's threads spinning on a
    busy 2-core machine slow librosa's mel product 6-9x; the fair baseline):
    ``soundfile.read`` -> ``librosa.power_to_db(librosa.feature.melspectrogram(
    y, sr, n_fft=2048, hop_length=512, center=False, n_mels=64, fmin=0,
    fmax=1000))`` -> ``np.save``; fmin/fmax are lfkit's default band;
(c) where lfkit's time goes, one process, one clip after another: start-up
    (``lfkit spectro one.wav -o x.npy``, one clip), decode (lfkit's reader),
    the front end (framing, FFT, mel, dB), write (``.npy`` into a folder the
    way ``spectro`` writes it: no fsync per file, one flush per batch), and
    beside it the FFT-only limit on the same clips (``numpy.fft.rfft`` of the
    windowed frames, nothing else) and the old write with a fsync per file.

Every array lfkit wrote is compared with librosa's (max abs dB difference).
Prints a Markdown table per run and writes all runs as JSON to
``OUT/spectro.json`` and to ``benchmarks/results/speed_spectro.json``
(``--results DIR``: there), which ``speed_block.py`` renders into the README.

``--pipe`` times only the pipe ``lfkit synth --tones 120,340,777 --snr -30 |
lfkit spectro - > x.npy`` (``--pipe-runs`` times, 7 by default; start-up
of both commands included) and writes ``speed_pipe.json`` instead.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
LOGMEL = ["--kind", "logmel", "--n-fft", "2048", "--hop-length", "512", "--n-mels", "64", "--norm", "none"]
LIBROSA_KW = dict(n_fft=2048, hop_length=512, center=False, n_mels=64, fmin=0.0, fmax=1000.0)

#: librosa's side, run in a fresh process so that its start-up counts as lfkit's does.
LIBROSA_SCRIPT = """
import sys, time
t0 = time.perf_counter()
from pathlib import Path
import numpy as np, soundfile as sf, librosa
kw = {kw!r}
files, out = sorted(Path(sys.argv[1]).glob("*.wav")), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
y, sr = sf.read(str(files[0]), dtype="float32")
librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, **kw))  # numba and filter caches
t1 = time.perf_counter()
for f in files:
    y, sr = sf.read(str(f), dtype="float32")
    np.save(out / (f.stem + ".npy"), librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, **kw)))
print(t1 - t0, time.perf_counter() - t1)
""".format(kw=LIBROSA_KW)


def sh(*args) -> float:
    """Run ``lfkit ARGS``; return its wall time in seconds (raises on failure)."""
    t0 = time.perf_counter()
    subprocess.run([*LFKIT, *map(str, args)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def make_clips(data: Path, n: int) -> None:
    """Generate the clips unless an identical set is already there."""
    if (data / "synth.json").exists() and sum(1 for _ in data.glob("*.wav")) == n:
        return
    shutil.rmtree(data, ignore_errors=True)
    sh("synth", "-o", data, "--positive", "120,340,777", "--n", n, "--seed", "0")


#: One BLAS thread: librosa's mel product is a BLAS call, and OpenBLAS's threads spinning on a busy
#: 2-core machine made it 6-9x slower (15-20 ms/clip instead of 2.3) in our measurements.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def time_librosa(data: Path, out: Path, env=None) -> tuple[float, float, float]:
    """librosa in a fresh process (``env`` added to the environment): (whole wall s, start-up s, loop s)."""
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", LIBROSA_SCRIPT, str(data), str(out)], check=True,
                         capture_output=True, text=True, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - t0
    startup, loop = map(float, res.stdout.split())
    return wall, startup, loop


def breakdown(files, work: Path) -> dict:
    """Where lfkit's time goes, one clip after another in this process (seconds for all clips)."""
    from numpy.lib.stride_tricks import sliding_window_view

    from lfkit import features, io
    from lfkit.config import FrontendConfig
    from lfkit.io_files import deferred_sync, sync_folder
    from lfkit.parallel import batch_size_for
    from lfkit.segments import ReadPlan, read_clip

    cfg = FrontendConfig(kind="logmel", n_fft=2048, hop_length=512, n_mels=64, norm="none")
    t = {}
    t0 = time.perf_counter()
    audio = [read_clip(str(f), ReadPlan()) for f in files]
    t["decode_s"] = time.perf_counter() - t0
    features.spectrogram(audio[0][0], audio[0][1], cfg)  # filter bank cache, as the command's first clip builds it
    t0 = time.perf_counter()
    specs = [features.spectrogram(y, sr, cfg) for y, sr in audio]
    t["frontend_s"] = time.perf_counter() - t0
    # the same FFT the front end runs (float64 rfft into a reused buffer, in the same groups of frames), on
    # frames windowed beforehand: what is left when framing, power, mel and dB cost nothing
    group = max(1, features._GROUP_SAMPLES // 2048)
    window = features.hann_window(2048)
    frames = [sliding_window_view(y, 2048)[::512] * window for y, _ in audio]
    X = np.empty((group, 2048 // 2 + 1), dtype=np.complex128)
    t0 = time.perf_counter()
    for fr in frames:
        for j in range(0, len(fr), group):
            m = min(group, len(fr) - j)
            np.fft.rfft(fr[j : j + m], axis=-1, out=X[:m])
    t["fft_only_limit_s"] = time.perf_counter() - t0
    del frames
    for name, defer in (("write_s", True), ("write_fsync_each_s", False)):
        folder = work / f"write_{name}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        size = batch_size_for(len(specs), 1)
        t0 = time.perf_counter()
        for i, S in enumerate(specs):
            with deferred_sync(defer):
                io.write_npy(S, folder / f"{i:05d}.npy")
            if defer and (i + 1) % size == 0:
                sync_folder(folder)
        if defer:
            sync_folder(folder)
        t[name] = time.perf_counter() - t0
        shutil.rmtree(folder, ignore_errors=True)
    return t


def compare(lf: Path, ref: Path, files) -> float:
    """Max abs difference (dB) between lfkit's arrays and librosa's, over every clip."""
    worst = 0.0
    for f in files:
        a, b = np.load(lf / (f.stem + ".npy")), np.load(ref / (f.stem + ".npy"))
        if a.shape != b.shape:
            raise SystemExit(f"{f.name}: lfkit shape {a.shape} != librosa {b.shape}")
        worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b))))
    return worst


def one_run(data: Path, out: Path, files, workers: int) -> dict:
    load0 = os.getloadavg()[0]
    one = files[0]
    startup = min(sh("spectro", one, "-o", out / "one.npy", *LOGMEL) for _ in range(3))
    t_w = {}
    for w in (workers, 1) if workers != 1 else (1,):
        shutil.rmtree(out / f"lfkit_w{w}", ignore_errors=True)
        t_w[w] = sh("spectro", data, "-o", out / f"lfkit_w{w}", *LOGMEL, "--workers", w, "-q")
    lib_wall, lib_start, lib_loop = time_librosa(data, out / "librosa")
    one_wall, _, one_loop = time_librosa(data, out / "librosa", ONE_THREAD)
    diff = compare(out / f"lfkit_w{workers}", out / "librosa", files)
    b = breakdown(files, out)
    n = len(files)
    best = t_w[workers]
    return {
        "clips": n, "workers": workers,
        "lfkit_s": {str(w): round(v, 2) for w, v in t_w.items()},
        "lfkit_clips_per_s": round(n / best, 1),
        "librosa_whole_s": round(lib_wall, 2), "librosa_startup_s": round(lib_start, 2),
        "librosa_loop_s": round(lib_loop, 2),
        "speedup_vs_librosa_loop": round(lib_loop / best, 2),
        "speedup_vs_librosa_whole": round(lib_wall / best, 2),
        "librosa_1blas_whole_s": round(one_wall, 2), "librosa_1blas_loop_s": round(one_loop, 2),
        "speedup_vs_librosa_1blas_loop": round(one_loop / best, 2),
        "startup_s": round(startup, 3),
        **{k: round(v, 3) for k, v in b.items()},
        "max_abs_db_diff_vs_librosa": diff,
        "load_avg_1min": [round(load0, 2), round(os.getloadavg()[0], 2)],
    }


def table(r: dict) -> str:
    n = r["clips"]
    lines = [f"{n} one-second 44.1 kHz clips, log-mel 2048/512/64, norm none; load average "
             f"{r['load_avg_1min'][0]} -> {r['load_avg_1min'][1]} on {os.cpu_count()} CPUs", "",
             "| what | seconds | clips/s | vs librosa loop | vs librosa loop, 1 BLAS thread |",
             "|---|---:|---:|---:|---:|"]
    for ww, s in r["lfkit_s"].items():
        lines.append(f"| lfkit spectro --workers {ww} (whole command) | {s:.2f} | {n / s:.0f} "
                     f"| {r['librosa_loop_s'] / s:.2f}x | {r['librosa_1blas_loop_s'] / s:.2f}x |")
    lines += [f"| librosa, compute + np.save one by one (loop) | {r['librosa_loop_s']:.2f} | "
              f"{n / r['librosa_loop_s']:.0f} | 1.00x | |",
              f"| librosa, same, whole process (start-up {r['librosa_startup_s']:.2f} s) | "
              f"{r['librosa_whole_s']:.2f} | {n / r['librosa_whole_s']:.0f} | | |",
              f"| librosa loop, OPENBLAS/OMP/MKL_NUM_THREADS=1 | {r['librosa_1blas_loop_s']:.2f} | "
              f"{n / r['librosa_1blas_loop_s']:.0f} | | 1.00x |",
              "", "Where lfkit's time goes (one process, all clips one after another):", "",
              "| part | seconds | ms/clip |", "|---|---:|---:|",
              f"| start-up (one-clip command, best of 3) | {r['startup_s']:.2f} | |"]
    for k, label in (("decode_s", "decode (lfkit reader)"), ("frontend_s", "front end: frames, FFT, mel, dB"),
                     ("write_s", "write .npy, one flush per batch"), ("fft_only_limit_s", "FFT-only limit (rfft)"),
                     ("write_fsync_each_s", "(old) write with a fsync per file")):
        lines.append(f"| {label} | {r[k]:.2f} | {1000 * r[k] / n:.2f} |")
    lines.append(f"\nmax abs difference from librosa over all {n} clips: {r['max_abs_db_diff_vs_librosa']:.2e} dB")
    return "\n".join(lines)


PIPE = "lfkit synth --tones 120,340,777 --snr -30 | lfkit spectro - > x.npy"


def time_pipe(out: Path, runs: int) -> dict:
    """Wall seconds of ``PIPE`` (run by bash with pipefail in ``out``), ``runs`` times; the array is checked."""
    lf = " ".join(LFKIT)
    cmd = "set -o pipefail; " + PIPE.replace("lfkit ", lf + " ")
    times = []
    for _ in range(runs):
        (out / "x.npy").unlink(missing_ok=True)
        t0 = time.perf_counter()
        subprocess.run(["bash", "-c", cmd], check=True, cwd=out)
        times.append(time.perf_counter() - t0)
        if np.load(out / "x.npy").ndim != 2:
            raise SystemExit(f"{out / 'x.npy'}: not a spectrogram")
    return {"command": PIPE, "runs": runs, "runs_s": [round(t, 3) for t in times],
            "median_s": round(float(np.median(times)), 3), "min_s": round(min(times), 3),
            "max_s": round(max(times), 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="number of 1 s clips [2000]")
    ap.add_argument("--workers", type=int, default=2, help="lfkit spectro --workers [2]; 1 is timed as well")
    ap.add_argument("--runs", type=int, default=1, help="repeat the whole comparison [1]")
    ap.add_argument("--out", type=Path, default=HERE / "out", help="working folder [benchmarks/out]")
    ap.add_argument("--pipe", action="store_true", help="time only the synth | spectro pipe; speed_pipe.json")
    ap.add_argument("--pipe-runs", type=int, default=7, help="runs of the pipe, --pipe [7]")
    ap.add_argument("--results", type=Path, default=None, help="folder for speed_spectro.json / speed_pipe.json "
                    "[benchmarks/results]")
    args = ap.parse_args(argv)
    started = speed_block.start()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.pipe:
        r = time_pipe(out, args.pipe_runs)
        print(f"{PIPE}: median {r['median_s']:.2f} s over {r['runs']} runs ({r['min_s']:.2f}-{r['max_s']:.2f})")
        print(f"written: {speed_block.write_result('pipe', r, started, args.results, argv)}")
        return 0
    data = out / f"clips{args.n}"
    make_clips(data, args.n)
    files = sorted(data.glob("*.wav"))
    import librosa

    runs = []
    for i in range(args.runs):
        r = one_run(data, out, files, args.workers)
        runs.append(r)
        print(f"## run {i + 1} of {args.runs}\n\n{table(r)}\n", flush=True)
    result = {"machine": platform.platform(), "cpu_count": os.cpu_count(), "python": platform.python_version(),
              "librosa": librosa.__version__, "numpy": np.__version__, "runs": runs}
    (out / "spectro.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {out / 'spectro.json'}")
    print(f"written: {speed_block.write_result('spectro', result, started, args.results, argv)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
