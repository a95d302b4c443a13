"""Benchmark: scaling ``lfkit score`` out, joblib ``--workers 2`` against Dask ``--scheduler local:2``.

Over 2,000 one-second clips made with ``lfkit synth`` and a tiny model
(``train-binary``, one epoch: speed only, not quality):

* the whole command, ``lfkit score model.pt DIR --workers 1`` and ``--workers 2``,
  and ``--scheduler local:2`` (its records must equal
  the ``--workers 2`` run's byte for byte);
* the stage that scales out, reading and transforming clips
  (``lfkit.segments``' per-batch reader over :func:`lfkit.segments.iter_segments`),
  in this process, in joblib's 2 processes (what ``--workers 2`` runs) and
  through :func:`lfkit.cluster.executor_for` on ``local:2`` (what
  ``--scheduler local:2`` hands to the parallel map), the same batches in the
  same order, the cluster's start-up timed apart;
* per-worker throughput (clips/s per worker), and from it what a 1,000-hour
  archive of one-second clips costs on N workers.

::

    python benchmarks/bench_scale.py            # 2,000 clips
    python benchmarks/bench_scale.py --quick    # 300 clips, one run

Aim (issue 13): ``local:2`` no slower than ``--workers 2`` (within 10 %).
Writes ``benchmarks/out/scale.json`` and ``benchmarks/results/speed_scale.json``
(``--results DIR``: there; ``speed_block.py`` renders it into the README) and
prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LFKIT = [shutil.which("lfkit")] if shutil.which("lfkit") else [sys.executable, "-m", "lfkit_cli.main"]
ARCHIVE_H = 1000
sys.path.insert(0, str(HERE))
import speed_block  # noqa: E402


def lfkit(*args) -> float:
    """Run ``lfkit ARGS``; return its wall-clock seconds (exit on failure)."""
    t0 = time.perf_counter()
    proc = subprocess.run([*LFKIT, *map(str, args)], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"lfkit {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}")
    return wall


def reading_setup(model: Path, clips: Path):
    """What ``score`` hands its readers: the clips, the views and the plan (as lfkit.scoring builds them)."""
    from lfkit import io
    from lfkit.scoring import load_scorers
    from lfkit.segments import ReadPlan, _target_sr, model_views

    scorers = load_scorers([str(model)])
    views = model_views(scorers)
    default_n = min((s.n_samples for s in scorers if s.n_samples), default=None)
    plan = ReadPlan(_target_sr(scorers), None, None, default_n, False)
    return io.find_inputs([str(clips)]), views, plan


def _map_batches():
    """lfkit's one parallel map."""
    from lfkit.parallel import map_batches

    return map_batches


def _warm(workers: int) -> None:
    """Start joblib's reusable pool first, as score does: its start-up is timed apart."""
    from lfkit.parallel import warm_workers

    t = warm_workers(workers)
    if hasattr(t, "join"):
        t.join()


def count_read(results, per_batch: bool) -> int:
    """Consume the results, checking each clip was read; returns the clips read."""
    n = 0
    for res in results:
        for blocks, _notes in (res if per_batch else [res]):
            if isinstance(blocks, Exception):
                raise blocks
            n += 1
    return n


def read_local(files, views, plan, workers: int) -> tuple[float, int]:
    """Read all clips in ``workers`` joblib processes (or here), as ``--workers`` does."""
    import functools

    from lfkit.segments import iter_segments

    if workers > 1:
        _warm(workers)
    mb = _map_batches()
    t0 = time.perf_counter()
    n = count_read(mb(functools.partial(iter_segments, views=views, plan=plan), files, workers=workers), False)
    return time.perf_counter() - t0, n


def read_dask(files, views, plan, scheduler: str, repeat: int):
    """The same reading through the cluster executor, ``repeat`` passes on one cluster (as joblib's pool is
    reused across passes), through lfkit.parallel.map_batches. Returns (walls, start-up s, workers)."""
    import functools

    from lfkit import cluster
    from lfkit.segments import iter_segments

    t0 = time.perf_counter()
    walls = []
    with cluster.executor_for(scheduler, inputs=[c["_file"] for c in files]) as ex:
        workers = cluster.cluster_workers(ex)
        started = time.perf_counter() - t0
        mb = _map_batches()
        for _ in range(repeat):
            t1 = time.perf_counter()
            fn = functools.partial(iter_segments, views=views, plan=plan)
            n = count_read(mb(fn, files, workers=workers, executor=ex), False)
            walls.append(time.perf_counter() - t1)
            assert n == len(files), (n, len(files))
    return walls, started, workers


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="one-second clips")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each; the best is reported")
    ap.add_argument("--quick", action="store_true", help="300 clips, one run")
    ap.add_argument("--work", default=str(HERE / "out" / "scale_work"))
    ap.add_argument("-o", "--output", default=str(HERE / "out" / "scale.json"))
    ap.add_argument("--results", type=Path, default=None, help="folder for speed_scale.json [benchmarks/results]")
    args = ap.parse_args(argv)
    speed_started = speed_block.start()
    n = 300 if args.quick else args.n
    repeat = 1 if args.quick else args.repeat
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    clips = work / f"clips_{n}"
    if not (clips / "labels.csv").exists():
        lfkit("synth", "-o", clips, "--positive", "120,340,777", "--n", n, "--duration", 1, "--snr", "-35:-20",
              "--seed", 0)
    train = work / "train"
    if not (train / "labels.csv").exists():
        lfkit("synth", "-o", train, "--positive", "120,340,777", "--n", 40, "--duration", 1, "--snr", "-20", "--seed", 1)
    model = work / "speccnn.pt"
    if not model.exists():
        lfkit("train-binary", train, "-o", model, "--arch", "speccnn", "--epochs", 1, "-q")

    one = work / "one.wav"
    if not one.exists():
        lfkit("synth", "-o", one, "--tones", "120,340,777", "--snr", "-20", "--seed", 2)
    startup = min(lfkit("score", model, one, "-o", work / "one.jsonl", "-q") for _ in range(2))
    command = []
    runs = {"--workers 1": ["--workers", 1], "--workers 2": ["--workers", 2]}
    runs["--scheduler local:2"] = ["--scheduler", "local:2"]
    for label, flags in runs.items():
        out = work / f"scores_{label.split()[-1].replace(':', '')}.jsonl"
        wall = min(lfkit("score", model, clips, "-o", out, "-q", *flags) for _ in range(repeat))
        command.append({"run": f"lfkit score model.pt DIR {label}", "clips": n, "wall_s": round(wall, 2),
                        "clips_per_s": round(n / wall, 1), "output": str(out),
                        "clips_per_s_after_startup": round(n / max(wall - startup, 1e-9), 1)})
        print(f"{label}: {wall:.1f} s", file=sys.stderr, flush=True)
    same = None
    if "--scheduler local:2" in runs:
        same = Path(command[2]["output"]).read_bytes() == Path(command[1]["output"]).read_bytes()

    files, views, plan = reading_setup(model, clips)
    reading = []
    for label, w in (("in this process", 1), ("joblib, 2 processes (--workers 2)", 2)):
        passes = [read_local(files, views, plan, w) for _ in range(repeat)]
        assert all(m == n for _, m in passes), passes
        best = min(t for t, _ in passes)
        reading.append({"how": label, "workers": w, "wall_s": round(best, 2), "clips_per_s": round(n / best, 1),
                        "per_worker": round(n / best / w, 1), "passes_s": [round(t, 2) for t, _ in passes]})
        print(f"read {label}: {best:.1f} s", file=sys.stderr, flush=True)
    walls, started, w = read_dask(files, views, plan, "local:2", repeat)
    wall = min(walls)
    reading.append({"how": f"Dask LocalCluster local:2 ({w} workers), start-up {started:.1f} s apart", "workers": w,
                    "wall_s": round(wall, 2), "clips_per_s": round(n / wall, 1), "per_worker": round(n / wall / w, 1),
                    "startup_s": round(started, 2), "passes_s": [round(x, 2) for x in walls]})
    print(f"read dask local:2: {wall:.1f} s (+{started:.1f} s start-up)", file=sys.stderr, flush=True)

    # a 1,000-hour archive of one-second clips. Per worker: the whole command on one worker after start-up
    # (reading + network); the network alone is what remains once reading (measured here, in one process)
    # is taken out. If the network stays in the client, it caps the throughput whatever N is.
    per_worker = command[0]["clips_per_s_after_startup"]
    read_1 = reading[0]["clips_per_s"]
    network = 1 / max(1 / per_worker - 1 / read_1, 1e-9)
    archive = []
    for k in (1, 2, 8, 32, 128):
        whole = ARCHIVE_H * 3600 / (per_worker * k)
        client_net = ARCHIVE_H * 3600 / min(read_1 * k, network)
        archive.append({"workers": k, "hours_network_on_workers": round(whole / 3600, 2),
                        "hours_network_on_client": round(client_net / 3600, 2)})
    result = {"cpus": os.cpu_count(), "load_avg": os.getloadavg(), "clips": n, "command": command,
              "startup_s": round(startup, 2), "records_equal": same, "reading": reading,
              "per_worker_clips_per_s": per_worker, "network_clips_per_s": round(network, 1), "archive": archive}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    kept = {**result, "load_avg": [round(x, 2) for x in result["load_avg"]],
            "command": [{k: v for k, v in r.items() if k != "output"} for r in command]}  # no paths of this machine
    print(f"written: {speed_block.write_result('scale', kept, speed_started, args.results, argv)}", file=sys.stderr)

    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {n} one-second clips\n")
    print(f"| whole command | wall s | clips/s | clips/s after the {startup:.1f} s start-up |\n|---|---:|---:|---:|")
    for r in command:
        print(f"| `{r['run']}` | {r['wall_s']:.1f} | {r['clips_per_s']:.0f} | {r['clips_per_s_after_startup']:.0f} |")
    if same is not None:
        print(f"\nrecords of `--scheduler local:2` equal `--workers 2`'s byte for byte: {same}")
    print("\n| reading + transforming (the stage that scales out) | workers | best wall s | clips/s | clips/s per worker "
          "| every pass, s |")
    print("|---|---:|---:|---:|---:|---|")
    for r in reading:
        print(f"| {r['how']} | {r['workers']} | {r['wall_s']:.2f} | {r['clips_per_s']:.0f} | {r['per_worker']:.0f} "
              f"| {', '.join(f'{x:.2f}' for x in r['passes_s'])} |")
    print(f"\n{ARCHIVE_H:,} hours of one-second clips: {per_worker:.0f} clips/s per worker for the whole pipeline "
          f"(one worker, after start-up), of which reading {read_1:.0f} clips/s and the network {network:.0f} clips/s:")
    print("\n| workers | hours, network on the workers | hours, network on the client (reading only scaled out) |")
    print("|---:|---:|---:|")
    for r in archive:
        print(f"| {r['workers']} | {r['hours_network_on_workers']:.2f} | {r['hours_network_on_client']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
