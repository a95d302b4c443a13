"""Write the README's speed table from the speed benchmarks' committed results files.

Every number in the table under "Speed and the tool's own behaviour" comes from
``benchmarks/results/speed_<name>.json``, written by the benchmark that measured it::

    python benchmarks/bench_quickstart.py            # speed_quickstart.json
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
NAMES = ("quickstart", "resume", "autofront", "spectro", "scale", "pipe", "score")


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


# ---- reading ------------------------------------------------------------------------------------------------
def read_results(folder=None) -> dict:
    """``{name: document}`` of every ``speed_<name>.json`` in ``NAMES``; SystemExit naming a missing one."""
    folder = Path(folder if folder is not None else RESULTS)
    docs = {}
    for name in NAMES:
        path = folder / f"speed_{name}.json"
        if not path.is_file():
            script = "bench_spectro.py --pipe" if name == "pipe" else f"bench_{name}.py"
            raise SystemExit(f"speed_block.py: {path} is missing; run python benchmarks/{script}")
        docs[name] = json.loads(path.read_text())
    return docs


# ---- cells --------------------------------------------------------------------------------------------------
def _span(values, fmt: str = "{:.2f}") -> str:
    """``"a-b"`` of the smallest and largest of ``values`` as ``fmt`` writes them (one value when they agree)."""
    lo, hi = fmt.format(min(values)), fmt.format(max(values))
    return lo if lo == hi else f"{lo}-{hi}"


def _verdict(ok: list) -> str:
    """"met" when every run meets the aim, "**not met**" when none does, else "met in k of n runs"."""
    k = sum(bool(x) for x in ok)
    return "met" if k == len(ok) else "**not met**" if k == 0 else f"met in {k} of {len(ok)} runs"


def _source(doc: dict) -> str:
    """Where a row's numbers come from: the command, the date and the 1-minute load before and after."""
    b, a = doc["load_avg_before"][0], doc["load_avg_after"][0]
    return f"`{doc['command']}`, {doc['date']}, load {b:.1f} before, {a:.1f} after"


def _n(k: int, word: str) -> str:
    """``k`` and ``word``, plural unless ``k`` is 1."""
    return f"{k} {word}{'' if k == 1 else 's'}"


def _ms(seconds: float, n: int) -> str:
    return f"{1000 * seconds / n:.2f} ms"


def row_quickstart(doc: dict) -> str:
    r = doc["results"]
    return (f"| the README's first command, its lfkit part (`{' && '.join(r['steps'])}`) ({_source(doc)}) "
            f"| {r['wall_s']:.0f} s wall, {r['cpu_s']:.0f} CPU-seconds; it ends with AUC {r['auc']:.4f} and "
            f"accuracy {r['accuracy']:.2f} on its {r['n_test']} test clips "
            f"| under a minute on 2 cores (the README's promise): {_verdict([r['wall_s'] < 60])} |"
            + "".join(_example_row(r[k], k) for k in ("oneclass", "siamese") if k in r))


def _example_row(ex: dict, name: str) -> str:
    """A row for the README's one-class or siamese example (its synth line and its training line)."""
    what = {"oneclass": "one-class", "siamese": "siamese"}[name]
    train_wall, train_cpu = ex["wall_s"][-1], ex["cpu_s"][-1]
    return (f"\n| the README's {what} example (`{' && '.join(ex['steps'])}`, same run) "
            f"| training {train_wall:.0f} s wall, {train_cpu:.0f} CPU-seconds (the `synth` line before it "
            f"{ex['wall_s'][0]:.1f} s) "
            f"| training under 2 minutes on 2 cores (issue 10): {_verdict([train_wall <= 120])} |")


def row_resume(doc: dict) -> str:
    r = doc["results"]
    kills = r["kills"]
    at = ", ".join(f"{k['killed_at_records']:,}" for k in kills)
    return (f"| `lfkit score` over {r['n']:,} files of {r['clip_duration_s']:g} s killed with SIGKILL halfway "
            f"(at {at} records written), rerun with `--resume` ({_source(doc)}) "
            f"| identical to an uninterrupted run {r['identical']} of {r['repeat']}; the resumed runs "
            f"{_span([k['seconds_resume'] for k in kills], '{:.1f}')} s, the uninterrupted one "
            f"{r['seconds_whole']:.1f} s "
            f"| byte-identical: {_verdict([k['identical'] for k in kills])} |")


def row_autofront(doc: dict) -> str:
    r = doc["results"]
    share = r["selection_share_of_fixed"]
    return (f"| front-end selection cost, the README's binary example: `train-binary` on {r['n']} clips, "
            f"{_n(r['epochs'], 'epoch')}, fastest of {r['repeats']} ({_source(doc)}) "
            f"| the selection {r['selection_s']:.2f} s, {100 * share:.1f}% of training with `--kind log` "
            f"({r['fixed_s']:.1f} s); the whole command with the selection {r['auto_s']:.1f} s "
            f"(chose `{r['chosen']}`) "
            f"| <= 20% of training: {_verdict([share <= 0.20])} |")


def row_spectro(doc: dict) -> str:
    res = doc["results"]
    runs = res["runs"]
    n, w = runs[0]["clips"], runs[0]["workers"]
    cpus = doc["cpu_count"]
    sp = lambda k: _span([r[k] for r in runs])  # noqa: E731
    ms = lambda k: _span([1000 * r[k] / r["clips"] for r in runs])  # noqa: E731
    lf = [r["lfkit_s"][str(w)] for r in runs]
    fast = [r["speedup_vs_librosa_loop"] for r in runs]
    fair = [r["speedup_vs_librosa_1blas_loop"] for r in runs]
    # librosa as installed slower than with one BLAS thread: its mel product's threads spun on busy cores
    spin = (f": its mel product's OpenBLAS threads spin on a busy {cpus}-core box"
            if statistics.median(fast) > statistics.median(fair) else "")
    return (f"| `lfkit spectro DIR -o OUT --workers {w}` over {n:,} one-second 44.1 kHz clips, log-mel "
            f"`--n-fft 2048 --hop-length 512 --n-mels 64 --norm none`, start-up included, vs librosa computing and "
            f"saving the same clips one by one, its loop timed without its start-up ({_n(len(runs), 'run')}, "
            f"{_source(doc)}) "
            f"| {_span(lf)} s; librosa as installed {sp('librosa_loop_s')} s (**{_span(fast)}x**{spin}), "
            f"librosa with one BLAS thread, the fair baseline, {sp('librosa_1blas_loop_s')} s "
            f"(**{_span(fair)}x**); equal to librosa within "
            f"{max(r['max_abs_db_diff_vs_librosa'] for r in runs):.1e} dB. Per clip: decode {ms('decode_s')} ms, "
            f"front end {ms('frontend_s')} ms, write {ms('write_s')} ms (with an fsync per file, as it was: "
            f"{ms('write_fsync_each_s')} ms), FFT alone {ms('fft_only_limit_s')} ms; start-up "
            f"{_span([r['startup_s'] for r in runs])} s "
            f"| >= 4x librosa: {_verdict([x >= 4 for x in fast])} against librosa as installed, "
            f"{_verdict([x >= 4 for x in fair])} against its one-thread time ({w} workers against one thread "
            f"give at most {w}x from parallelism alone) |")


def row_scale(doc: dict) -> str:
    r = doc["results"]
    cmd = {c["run"].split("DIR ")[-1]: c for c in r["command"]}
    w1, w2, dk = cmd["--workers 1"], cmd["--workers 2"], cmd["--scheduler local:2"]
    dask_read = r["reading"][-1]
    same = {True: "equal byte for byte", False: "**not equal**", None: "not compared"}[r["records_equal"]]
    repeat = len(r["reading"][0]["passes_s"])
    return (f"| `lfkit score --scheduler local:2` against `--workers 2` on {r['clips']:,} one-second clips, "
            f"per-worker throughput and the cost of a 1,000-hour archive (best of {repeat}, {_source(doc)}) "
            f"| `--workers 2` {w2['wall_s']:.1f} s, `local:2` {dk['wall_s']:.1f} s (the cluster's start-up, timed "
            f"apart on the reading stage: {dask_read['startup_s']:.1f} s), `--workers 1` {w1['wall_s']:.1f} s; "
            f"records {same}; per worker: reading {r['reading'][0]['clips_per_s']:,.0f} clips/s, network "
            f"{r['network_clips_per_s']:,.0f} clips/s (see the Dask section for the archive's cost) "
            f"| `local:2` within 10 % of `--workers 2`: {_verdict([dk['wall_s'] <= 1.10 * w2['wall_s']])} on "
            f"{doc['cpu_count']} cores |")


def row_pipe(doc: dict) -> str:
    r = doc["results"]
    cmd = r["command"].replace("|", "\\|")
    return (f"| `{cmd}` ({_source(doc)}) "
            f"| median {r['median_s']:.2f} s over {_n(r['runs'], 'run')} ({r['min_s']:.2f}-{r['max_s']:.2f} s) "
            f"| < 0.6 s: {_verdict([r['median_s'] < 0.6])} |")


def row_score(doc: dict) -> str:
    r = doc["results"]["rows"][0]
    n, cpus = r["clips"], doc["cpu_count"]
    loads = ", ".join(f"{a:.1f} -> {b:.1f}" for a, b in r["runs_load_avg_1min"])
    text = (f"| `lfkit score` over {n:,} one-second clips, `--workers {r['workers']}`, {r['arch']} model, "
            f"{_n(len(r['runs_s']), 'run')} (load per run {loads}; the `--against OLD_TREE` comparison not run; "
            f"{_source(doc)}) "
            f"| **{_span(r['runs_clips_per_s'], '{:,.0f}')} clips/s** wall, start-up included (the start-up "
            f"alone, one clip: {r['startup_s']:.1f} s). Model files are read without torch and the readers start "
            f"before the networks are built, so the torch import")
    b = r.get("breakdown")
    if b:
        text += (f" ({b['python_import_torch_s']:.1f} s in a fresh process) overlaps reading. Per clip in one "
                 f"process: decode {_ms(b['decode_s'], n)}, front end {_ms(b['frontend_s'], n)}, network "
                 f"{_ms(b['network_s'], n)}, write {_ms(b['write_s'], n)}.")
    else:
        text += " overlaps reading."
    cap = cpus * n / statistics.median(r["runs_cpu_s"])
    text += (f" The command spends {_span(r['runs_cpu_s'], '{:.1f}')} CPU-seconds, so {cpus} cores cap it near "
             f"{round(cap, -1):,.0f} clips/s "
             f"| >= 1,000 clips/s: {_verdict([c >= 1000 for c in r['runs_clips_per_s']])} |")
    return text


ROWS = {"quickstart": row_quickstart, "resume": row_resume, "autofront": row_autofront, "spectro": row_spectro,
        "scale": row_scale,
        "pipe": row_pipe, "score": row_score}


def render(docs: dict) -> str:
    """The block (without markers) from ``read_results``'s documents."""
    cpus = sorted({d["cpu_count"] for d in docs.values()})
    lines = [f"Each row is one invocation of the script it names on this project's shared "
             f"{'/'.join(map(str, cpus))}-CPU machine, with the 1-minute load average before and after it: other "
             "jobs share the cores, so absolute times grow with the load; ratios measured in the same run "
             "are the numbers to trust.", "",
             "| what | result | aim |", "|---|---|---|"]
    lines += [ROWS[name](docs[name]) for name in NAMES]
    files = ",".join(NAMES)
    lines += ["", f"Written by `python benchmarks/speed_block.py` from `benchmarks/results/speed_{{{files}}}.json`; "
              "each file names the command that made it, its date and git commit."]
    return "\n".join(lines) + "\n"


# ---- README -------------------------------------------------------------------------------------------------
def _blocks():
    """``benchmarks/markdown_blocks.py``, the marker and atomic-rewrite rules every README block writer shares."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import markdown_blocks

    return markdown_blocks


def split_readme(text: str, where: str = "README") -> tuple:
    """``(before, block, after)`` of ``text`` around the speed block; SystemExit if its markers are off."""
    return _blocks().split_block(text, BEGIN, END, where, "speed_block.py")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readme", default=str(ROOT / "README.md"))
    ap.add_argument("--results", default=str(RESULTS), help="folder of the speed_<name>.json files")
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 when the README differs")
    args = ap.parse_args(argv)
    readme = Path(args.readme)
    text = readme.read_text(encoding="utf-8")
    before, block, after = split_readme(text, str(readme))
    want = render(read_results(args.results))
    if args.check:
        if block != want:
            print(f"{readme}: the speed block differs from {args.results}/speed_*.json; "
                  "run python benchmarks/speed_block.py")
            return 1
        return 0
    _blocks().rewrite(readme, text, before + want + after)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
