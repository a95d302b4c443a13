"""Benchmark: the README's first command (its lfkit part), timed, with the AUC and accuracy it ends with.

Reads the first ``sh`` block of the top-level README, drops the ``pip install``
steps (the environment is this one), and runs the rest with ``bash -e`` in a
fresh temporary folder: ``lfkit synth`` twice, ``train-binary``, ``score``,
``eval``. Reports the wall time, the CPU seconds of the commands
(``RUSAGE_CHILDREN``) and the AUC and accuracy ``lfkit eval`` prints::

    python benchmarks/bench_quickstart.py        # speed_quickstart.json

Writes ``benchmarks/results/speed_quickstart.json`` (``--results DIR``
elsewhere) for ``benchmarks/speed_block.py``.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import speed_block  # noqa: E402


def quickstart_steps(readme: str) -> list:
    """The ``&&``-joined steps of the README's first ``sh`` block, without its ``pip install`` steps."""
    m = re.search(r"```sh\n(.*?)\n```", readme, re.S)
    if m is None:
        raise SystemExit("bench_quickstart.py: README has no ```sh block")
    steps = [s.strip() for s in m.group(1).replace("\\\n", " ").split("&&")]
    return [s for s in steps if s and not s.startswith("pip ")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readme", default=str(HERE.parent / "README.md"))
    ap.add_argument("--results", default=None, help="folder for speed_quickstart.json [benchmarks/results]")
    args = ap.parse_args(argv)
    steps = quickstart_steps(Path(args.readme).read_text(encoding="utf-8"))
    started = speed_block.start()
    with tempfile.TemporaryDirectory(prefix="lfkit-quickstart-") as work:
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run(["bash", "-e", "-c", " && ".join(steps)], cwd=work, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"bench_quickstart.py: the README's command failed ({r.returncode}):\n{r.stderr[-2000:]}")
    try:
        metrics = json.loads(r.stdout)  # lfkit eval writes its metrics as one JSON document on standard output
    except json.JSONDecodeError:
        raise SystemExit(f"bench_quickstart.py: no JSON metrics on standard output:\n{r.stdout[-2000:]}") from None
    cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    n_test = int(re.search(r"synth -o \S*test \S+ \S+ --n (\d+)", " ".join(steps)).group(1))
    results = {"steps": steps, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "auc": metrics["auc"],
               "accuracy": metrics["accuracy"], "n_test": n_test}
    path = speed_block.write_result("quickstart", results, started, folder=args.results, argv=argv)
    print(f"{wall:.1f} s wall, {cpu:.1f} CPU-s, AUC {metrics['auc']:.4f}, accuracy {metrics['accuracy']:.3f} -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
