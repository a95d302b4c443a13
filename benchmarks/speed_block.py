"""Write the README's speed table from the speed benchmarks' committed results files.

Every number in the table under "Speed and the tool's own behaviour" comes from
``benchmarks/results/speed_<name>.json``, written by the benchmark that measured it::

    python benchmarks/bench_resume.py                # speed_resume.json
    python benchmarks/bench_autofront.py             # speed_autofront.json
    python benchmarks/bench_spectro.py --runs 3      # speed_spectro.json
    python benchmarks/bench_spectro.py --pipe        # speed_pipe.json
    python benchmarks/bench_scale.py                 # speed_scale.json
    python benchmarks/bench_score.py --breakdown     # speed_score.json
    python benchmarks/speed_block.py                 # rewrite the block in README.md
    python benchmarks/speed_block.py --check         # exit 1 if the README disagrees with the files

Each results file holds the numbers the row quotes, the command that made
them, the date, the git head, the 1/5/15-minute load average before and after
the run and the CPU count. The block lies between ``<!-- speed:begin -->`` and
``<!-- speed:end -->`` (each on a line of its own); the README is rewritten
under a temporary name and renamed, and nothing outside the block changes.
Aim verdicts (met / not met) are computed here from the numbers.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
BEGIN, END = "<!-- speed:begin -->", "<!-- speed:end -->"
#: Results files the block is rendered from, in the table's order.
NAMES = ("resume", "autofront", "spectro", "scale", "pipe", "score")


# ---- writing (called by the benchmarks) -----------------------------------------------------------------------
def start() -> dict:
    """What a benchmark notes before it starts: the load average and the wall-clock start."""
    return {"load": [round(x, 2) for x in os.getloadavg()], "t0": time.time()}


def _git_head() -> tuple:
    """``(commit, dirty)`` of this tree; ``dirty``: the code measured (lfkit/, cli/) differs from the commit."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "lfkit", "cli"], cwd=ROOT,
                                    capture_output=True, text=True, check=True).stdout.strip())
        return head, dirty
    except (OSError, subprocess.CalledProcessError):
        return None, None


def write_result(name: str, results: dict, started: dict, folder=None, argv=None) -> Path:
    """Write ``folder/speed_<name>.json`` (default ``benchmarks/results``) atomically; returns its path.

    Parameters
    ----------
    name : str
        The benchmark's short name, one of ``NAMES``.
    results : dict
        The numbers the README's row quotes (seconds, clips/s, ...), JSON types only.
    started : dict
        ``start()``'s note, taken before the benchmark began.
    folder : path, optional
        Where to write (a benchmark's ``--results DIR``).
    argv : list of str, optional
        The benchmark's arguments (default ``sys.argv[1:]``), recorded as the command.
    """
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import resultsfile

    script = Path(sys.argv[0]).name
    argv = sys.argv[1:] if argv is None else argv
    head, dirty = _git_head()
    doc = {"name": name, "command": shlex.join(["python", f"benchmarks/{script}", *argv]),
           "date": datetime.datetime.fromtimestamp(started["t0"], datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "wall_s": round(time.time() - started["t0"], 1), "git_head": head, "git_dirty": dirty,
           "cpu_count": os.cpu_count(), "load_avg_before": started["load"],
           "load_avg_after": [round(x, 2) for x in os.getloadavg()], "results": results}
    path = Path(folder if folder is not None else RESULTS) / f"speed_{name}.json"
    resultsfile.write_text(path, resultsfile.dumps(doc))
    return path
