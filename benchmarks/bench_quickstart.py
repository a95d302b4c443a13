"""Benchmark: the README's first command (its lfkit part), timed, with the AUC and accuracy it ends with.

Also times the README's one-class and siamese examples (the ``lfkit synth``
line and the ``lfkit train-oneclass pos -o oc.pt ...`` / ``lfkit
train-siamese multi -o si.pt ...`` line under it, as the README writes them):
issue 10 asks for each under 2 minutes on 2 cores.

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


#: The training lines of the README's one-class and siamese examples, found by their start.
EXAMPLES = {"oneclass": "lfkit train-oneclass pos -o oc.pt", "siamese": "lfkit train-siamese multi -o si.pt"}


def example_steps(readme: str, start: str) -> list:
    """``[synth line, training line]`` of the README example whose training line starts with ``start``."""
    lines = [ln.split("  #")[0].strip() for ln in readme.splitlines()]
    hits = [i for i, ln in enumerate(lines) if ln.startswith(start)]
    if not hits or not lines[hits[0] - 1].startswith("lfkit synth "):
        raise SystemExit(f"bench_quickstart.py: README has no `lfkit synth` line followed by `{start} ...`")
    return [lines[hits[0] - 1], lines[hits[0]]]


def run_steps(steps: list, work) -> dict:
    """Run ``steps`` one after another with ``bash -e`` in ``work``: each step's wall and CPU seconds, and stdout."""
    out = {"wall_s": [], "cpu_s": []}
    for step in steps:
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run(["bash", "-e", "-c", step], cwd=work, capture_output=True, text=True)
        out["wall_s"].append(round(time.perf_counter() - t0, 1))
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out["cpu_s"].append(round((c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime), 1))
        if r.returncode != 0:
            raise SystemExit(f"bench_quickstart.py: `{step}` failed ({r.returncode}):\n{r.stderr[-2000:]}")
        out["stdout"] = r.stdout
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readme", default=str(HERE.parent / "README.md"))
    ap.add_argument("--results", default=None, help="folder for speed_quickstart.json [benchmarks/results]")
    args = ap.parse_args(argv)
    readme = Path(args.readme).read_text(encoding="utf-8")
    steps = quickstart_steps(readme)
    started = speed_block.start()
    with tempfile.TemporaryDirectory(prefix="lfkit-quickstart-") as work:
        t = run_steps([" && ".join(steps)], work)  # the README's command as one shell line, as a user pastes it
    wall, cpu = t["wall_s"][0], t["cpu_s"][0]
    try:
        metrics = json.loads(t["stdout"])  # lfkit eval writes its metrics as one JSON document on standard output
    except json.JSONDecodeError:
        raise SystemExit(f"bench_quickstart.py: no JSON metrics on standard output:\n{t['stdout'][-2000:]}") from None
    n_test = int(re.search(r"synth -o \S*test \S+ \S+ --n (\d+)", " ".join(steps)).group(1))
    results = {"steps": steps, "wall_s": wall, "cpu_s": cpu, "auc": metrics["auc"],
               "accuracy": metrics["accuracy"], "n_test": n_test}
    for name, start in EXAMPLES.items():
        ex = example_steps(readme, start)
        with tempfile.TemporaryDirectory(prefix=f"lfkit-{name}-") as work:
            t = run_steps(ex, work)
        results[name] = {"steps": ex, "wall_s": t["wall_s"], "cpu_s": t["cpu_s"]}
        print(f"{name}: {' + '.join(map(str, t['wall_s']))} s wall, {' + '.join(map(str, t['cpu_s']))} CPU-s")
    path = speed_block.write_result("quickstart", results, started, folder=args.results, argv=argv)
    print(f"{wall:.1f} s wall, {cpu:.1f} CPU-s, AUC {metrics['auc']:.4f}, accuracy {metrics['accuracy']:.3f} -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
