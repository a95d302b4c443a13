"""Write the README's benchmark tables (real recordings, robustness suite, lfkit's own generator) from results files.

The tables in the README's "Audio lfkit did not make" section are generated,
never pasted::

    python benchmarks/readme_block.py               # rewrite both blocks in README.md
    python benchmarks/readme_block.py --check       # exit 1 if the README disagrees with the results files

Inputs, one file per seed (``--tag T``, default ``s17``):

* ``benchmarks/real/results/T_seed<S>.json`` (``benchmarks/real/run.py DIR --tag T --seed S``);
* ``benchmarks/results/robust_T_seed<S>.json`` (``benchmarks/bench_robust.py --tag T --seed S``), and,
  where present, ``robust_Tband_seed<S>.json`` (the same with ``--snr-ref band --tag Tband``);
* ``benchmarks/results/robust_O_seed<S>.json`` (``--own-tag O``, default ``s18own``: ``bench_robust.py
  --generator lfkit --tag O --seed S``, the same models tested on ``lfkit synth`` clips).

Each file holds every test clip's label and SNR and every row's per-clip
scores. A cell is the mean over seeds of the per-seed value, with a 95%
interval from a two-level bootstrap (seeds drawn with replacement, then each
drawn seed's clips, targets and others apart): single-method AUC cells go
through ``examples/paper/tables.py``'s ``bootstrap``; the cells that combine
rows (best baseline at each SNR, the mean over SNRs, differences, top-1) use
``bootstrap_stat`` here, the same design on the same resampled clips for every
row of a cell. "Best simple baseline at each SNR" is the highest AUC of the
baselines (``benchmarks/baselines.py``, no lfkit code) at that SNR in each
seed (and in each bootstrap replicate), then averaged over seeds.

The blocks lie between ``<!-- real:begin -->`` / ``<!-- real:end -->``,
``<!-- robust:begin -->`` / ``<!-- robust:end -->`` and ``<!-- own:begin -->``
/ ``<!-- own:end -->`` (each on a line of its own). The README is rewritten under a temporary name and renamed; nothing
outside the blocks changes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import statistics
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import markdown_blocks as MB  # noqa: E402

TAG = "s17"
OWN_TAG = "s18own"
MARKERS = {name: MB.markers(name) for name in ("real", "robust", "own")}
REAL_SNRS = ("0", "-10", "-20", "-30")
ROBUST_SNRS = ("-35", "-30", "-25", "-20")
SIAMESE_ROBUST_SNRS = ("-35", "-32")


def _paper_tables():
    """``examples/paper/tables.py`` as a module (its ``bootstrap`` and ``auc_rows``)."""
    spec = importlib.util.spec_from_file_location("paper_tables", ROOT / "examples" / "paper" / "tables.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


T = _paper_tables()


# ---- reading ------------------------------------------------------------------------------------------------
def read_seeds(folder: Path, prefix: str) -> list:
    """The results documents ``folder/<prefix>_seed<S>.json``, in order of S; [] when there are none.

    A file written by a run still in progress (``partial``) is refused.
    """
    docs = []
    for p in Path(folder).glob(f"{prefix}_seed*.json"):
        m = re.fullmatch(re.escape(prefix) + r"_seed(\d+)\.json", p.name)
        if not m:
            continue
        doc = json.loads(p.read_text())
        if doc.get("partial"):
            raise SystemExit(f"readme_block.py: {p} is partial (a run in progress or stopped); finish it first")
        if "clips" not in doc:
            raise SystemExit(f"readme_block.py: {p} has no per-clip scores; rerun it with this tree's scripts")
        docs.append((int(m.group(1)), p, doc))
    return [(s, p, d) for s, p, d in sorted(docs, key=lambda x: x[0])]


def _row(path: Path, doc: dict, pred) -> dict:
    rows = [r for r in doc["results"] if pred(r)]
    if len(rows) != 1:
        raise SystemExit(f"readme_block.py: {path}: expected one matching result row, found {len(rows)}")
    return rows[0]


# ---- bootstrap ----------------------------------------------------------------------------------------------
def two_level(reps: list, points: list, n_boot: int, rng) -> dict:
    """Mean of ``points`` (one per seed) and the 95% interval of seeds drawn over per-seed replicates ``reps``."""
    k = len(reps)
    pick, rep = rng.integers(0, k, (n_boot, k)), rng.integers(0, n_boot, (n_boot, k))
    boots = np.stack(reps)[pick, rep].mean(axis=1)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return {"mean": round(statistics.fmean(points), 4), "lo": round(float(lo), 4), "hi": round(float(hi), 4),
            "per_seed": [round(float(p), 4) for p in points]}


def auc_replicates(per_seed: list, n_boot: int = T.BOOT, seed: int = 0) -> list:
    """Per seed, the AUCs of every row and SNR on ``n_boot`` resampled test sets, and on the test set itself.

    Parameters
    ----------
    per_seed : list of (y, S, snr, snrs)
        Per seed: labels ``y`` (n_clips,) of 0/1, scores ``S`` (n_rows, n_clips),
        each clip's SNR ``snr`` (n_clips,) and the SNRs ``snrs`` to use.

    Returns
    -------
    list of (A, P)
        ``A`` shape (n_boot, n_rows, n_snrs): each replicate draws, at each
        SNR, the targets and the others with replacement, the same clips for
        every row, so a difference or a maximum over rows is resampled as one
        statistic; ``P`` shape (1, n_rows, n_snrs): the AUCs of the clips as they are.
    """
    rng = np.random.default_rng(seed)
    out = []
    for y, S, snr, snrs in per_seed:
        y, S, snr = np.asarray(y, int), np.asarray(S, float), np.asarray(snr)
        A = np.empty((n_boot, len(S), len(snrs)))
        P = np.empty((1, len(S), len(snrs)))
        for j, v in enumerate(snrs):
            m = np.flatnonzero(snr == v)
            pos, neg = m[y[m] == 1], m[y[m] == 0]
            idx = np.concatenate([rng.choice(pos, (n_boot, len(pos))), rng.choice(neg, (n_boot, len(neg)))], axis=1)
            yy = np.concatenate([np.ones(len(pos), int), np.zeros(len(neg), int)])
            for i in range(len(S)):
                A[:, i, j] = T.auc_rows(yy, S[i][idx])
                P[0, i, j] = T.auc_rows(y[m], S[i][m][None])[0]
        out.append((A, P))
    return out


def bootstrap_stat(reps: list, stat, seed: int = 0) -> dict:
    """Mean over seeds and 95% interval of ``stat``, which maps AUCs (n, n_rows, n_snrs) to (n,).

    ``reps``: ``auc_replicates``'s list; the seeds are drawn with replacement over each seed's replicates.
    """
    return two_level([stat(A) for A, _ in reps], [float(stat(P)[0]) for _, P in reps], len(reps[0][0]),
                     np.random.default_rng(seed))


def bootstrap_rate(per_seed: list, n_boot: int = T.BOOT, seed: int = 0) -> dict:
    """Two-level bootstrap of a proportion (top-1): ``per_seed`` holds each seed's 0/1 outcomes per clip."""
    rng = np.random.default_rng(seed)
    reps, points = [], []
    for ok in per_seed:
        ok = np.asarray(ok, float)
        reps.append(ok[rng.integers(0, len(ok), (n_boot, len(ok)))].mean(axis=1))
        points.append(float(ok.mean()))
    return two_level(reps, points, n_boot, rng)


def auc_cell(per_seed: list) -> dict:
    """Mean AUC over seeds and its interval, by ``examples/paper/tables.py``'s ``bootstrap``.

    ``per_seed``: one ``(y, score)`` per seed, the clips of one SNR.
    """
    b = T.bootstrap([(np.asarray(y, int), np.asarray(s, float), np.zeros(len(y), bool)) for y, s in per_seed])
    return b["auc"]


# ---- cells --------------------------------------------------------------------------------------------------
def _fmt(c: dict, signed: bool = False) -> str:
    f = "{:+.2f}" if signed else "{:.2f}"
    return f"{f.format(c['mean'])} [{f.format(c['lo'])}, {f.format(c['hi'])}]"


def _fmt_mean(c: dict, signed: bool = False) -> str:
    f = "{:+.3f}" if signed else "{:.3f}"
    return f"{f.format(c['mean'])} [{f.format(c['lo'])}, {f.format(c['hi'])}]"


def _single(A: np.ndarray) -> np.ndarray:
    """(n, n_snrs): in each replicate, the AUCs of the one baseline (rows 1:) with the highest mean over SNRs."""
    k = A[:, 1:, :].mean(axis=2).argmax(axis=1)
    return A[:, 1:, :][np.arange(len(A)), k]


def _stats(per_seed_y_S_snr: list, snrs: tuple) -> dict:
    """Cells of the first row, the best of the others and their difference, per SNR and for the mean over SNRs.

    ``per_seed_y_S_snr``: per seed ``(y, S, snr)``, ``S[0]`` the lfkit row, ``S[1:]`` the baselines.
    """
    vals = [int(v) for v in snrs]
    reps = auc_replicates([(y, S, snr, vals) for y, S, snr in per_seed_y_S_snr])
    out = {"lfkit": {}, "best": {}, "diff": {}}
    for j, v in enumerate(snrs):
        out["lfkit"][v] = auc_cell([(np.asarray(y)[np.asarray(snr) == vals[j]], np.asarray(S[0])[np.asarray(snr) == vals[j]])
                                    for y, S, snr in per_seed_y_S_snr])
        out["best"][v] = bootstrap_stat(reps, lambda A, j=j: A[:, 1:, j].max(axis=1))
        out["diff"][v] = bootstrap_stat(reps, lambda A, j=j: A[:, 0, j] - A[:, 1:, j].max(axis=1))
    for j, v in enumerate(snrs):
        out.setdefault("single", {})[v] = bootstrap_stat(reps, lambda A, j=j: A[:, 0, j] - _single(A)[:, j])
    out["single"]["mean"] = bootstrap_stat(reps, lambda A: (A[:, 0, :] - _single(A)).mean(axis=1))
    out["lfkit"]["mean"] = bootstrap_stat(reps, lambda A: A[:, 0, :].mean(axis=1))
    out["best"]["mean"] = bootstrap_stat(reps, lambda A: A[:, 1:, :].max(axis=1).mean(axis=1))
    out["diff"]["mean"] = bootstrap_stat(reps, lambda A: (A[:, 0, :] - A[:, 1:, :].max(axis=1)).mean(axis=1))
    return out


def _table_rows(label: str, names: tuple, st: dict, snrs: tuple) -> list:
    lines = []
    for key, name in zip(("lfkit", "best", "diff", "single"), names):
        signed = key in ("diff", "single")
        lines.append(f"| {label} | {name} | " + " | ".join(_fmt(st[key][v], signed) for v in snrs)
                     + f" | {_fmt_mean(st[key]['mean'], signed)} |")
    return lines


def _below(label: str, st: dict, snrs: tuple) -> str:
    """Where the interval of lfkit's difference to the best baseline lies wholly below 0, or wholly above."""
    worse = [v for v in snrs if st["diff"][v]["hi"] < 0]
    better = [v for v in snrs if st["diff"][v]["lo"] > 0]
    part = lambda vs: f"at {' / '.join(vs)} dB" if vs else "at no SNR"  # noqa: E731
    side = lambda m: "above" if m["lo"] > 0 else "below" if m["hi"] < 0 else "neither (its interval holds 0)"  # noqa
    return (f"{label} below {part(worse)}, above {part(better)}, mean over SNRs {side(st['diff']['mean'])}; "
            f"against the best single baseline, mean over SNRs {side(st['single']['mean'])}")


def _count(n: list) -> str:
    """Clips per cell: ``n`` holds one count per seed."""
    if len(set(n)) == 1:
        return f"{n[0]} per seed, {sum(n)} in all"
    return f"{'+'.join(map(str, n))} = {sum(n)}"


def _seeds_phrase(seeds: list) -> str:
    return f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''} ({', '.join(map(str, seeds))})"


def render_real(docs: list, tag: str) -> str:
    """The real-recordings block (without markers) from ``read_seeds`` documents."""
    if not docs:
        raise SystemExit(f"readme_block.py: no benchmarks/real/results/{tag}_seed*.json")
    seeds = [s for s, _, _ in docs]
    lines = [f"Mean over {_seeds_phrase(seeds)}, each with its own training and test sets and lfkit `--seed`, "
             "and [95% bootstrap interval over seeds and clips]. "
             "**Best simple baseline at each SNR**: the highest AUC of the baselines at that SNR in each seed, "
             "then averaged over seeds (the interval takes the best in every bootstrap replicate); "
             "**difference**: lfkit's defaults minus that best baseline, per seed, then averaged; "
             "**difference to the best single baseline**: minus the one baseline with the highest mean over the "
             "four SNRs in each seed (and replicate), the baseline a user would have had to pick. "
             "Mean column: the mean over the four SNRs.", "",
             "| set | row | " + " | ".join(f"{v} dB" for v in REAL_SNRS) + " | mean |",
             "|---|---|" + "---:|" * (len(REAL_SNRS) + 1)]
    notes, counts = [], []
    for design, regime, lf_method, base_prefix, base_name in (
            ("main", "binary", "train-binary (defaults)", ("ridge", "logistic"), "ridge / logistic regression"),
            ("hum", "binary", "train-binary (defaults)", ("ridge", "logistic"), "ridge / logistic regression"),
            ("main", "oneclass", "train-oneclass (defaults)", ("PCA novelty",), "PCA novelty"),
            ("hum", "oneclass", "train-oneclass (defaults)", ("PCA novelty",), "PCA novelty")):
        per_seed = []
        for _, p, d in docs:
            lf = _row(p, d, lambda r: (r["design"], r["regime"], r["method"]) == (design, regime, lf_method))
            base = [r for r in d["results"] if (r["design"], r["regime"]) == (design, regime)
                    and r["method"].startswith(base_prefix)]
            if not base:
                raise SystemExit(f"readme_block.py: {p}: no {base_name} rows for {design} {regime}")
            c = d["clips"][design]
            per_seed.append((c["label"], [lf["scores"], *[b["scores"] for b in base]], c["snr_db"]))
        st = _stats(per_seed, REAL_SNRS)
        label = f"{design}, {'one-class' if regime == 'oneclass' else regime}"
        cmd = "train-oneclass" if regime == "oneclass" else "train-binary"
        lines += _table_rows(label, (f"`{cmd}` defaults", f"best simple baseline ({base_name})", "difference",
                                     "difference to the best single baseline"), st, REAL_SNRS)
        notes.append(_below(label, st, REAL_SNRS))
        n = [int(np.sum(np.asarray(d["clips"][design]["snr_db"]) == int(REAL_SNRS[0]))) for _, _, d in docs]
        counts.append(f"{label} {_count(n)}")
    sia = [(p, d) for _, p, d in docs if "siamese" in d["clips"]]
    if sia:
        for method, name in (("train-siamese (defaults)", "`train-siamese` defaults"),
                             ("nearest centroid, whitened mean spectrum", "nearest centroid, whitened mean spectrum")):
            ok = [_row(p, d, lambda r: r["method"] == method)["correct"] for p, d in sia]
            cells = [bootstrap_rate([o[v] for o in ok]) for v in REAL_SNRS]
            mean = bootstrap_rate([sum((o[v] for v in REAL_SNRS), []) for o in ok])
            lines.append(f"| siamese, top-1 | {name} | " + " | ".join(_fmt(c) for c in cells)
                         + f" | {_fmt_mean(mean)} |")
        labels = [d["clips"]["siamese"][REAL_SNRS[0]]["label"] for _, d in sia]
        counts.append(f"siamese {_count([len(x) for x in labels])} "
                      f"({len(set(labels[0]))} identities never seen in training)")
    lines += ["", "Test clips per SNR cell: " + "; ".join(counts) + ". "
              "Where the 95% interval of the difference lies wholly below or above 0: " + "; ".join(notes) + ".",
              "",
              f"Written by `python benchmarks/readme_block.py --tag {tag}` from "
              f"`benchmarks/real/results/{tag}_seed*.json`, made by `python benchmarks/real/build.py --out D "
              f"--seed S && python benchmarks/real/run.py D --tag {tag} --seed S` for S in "
              f"{' '.join(map(str, seeds))}."]
    return "\n".join(lines) + "\n"


def _robust_table(docs: list, title: str, clips_note: str = "all three noise colours, 44.1 and 48 kHz") -> list:
    methods = (("train-binary (defaults)", "`train-binary` defaults"),
               ("train-binary --arch knowntone --tones 120,340,777", "known-tone detector (`--arch knowntone`)"),
               ("train-oneclass (defaults)", "`train-oneclass` defaults"))
    snrs = [int(v) for v in ROBUST_SNRS]
    data = []
    for _, p, d in docs:
        c = d["clips"]["test"]
        S = [_row(p, d, lambda r: r["method"] == m)["scores"] for m, _ in methods]
        data.append((np.asarray(c["label"], int), np.asarray(S, float), np.asarray(c["snr_db"], int), snrs))
    reps = auc_replicates(data)
    lines = [f"**{title}**", "", "| model | " + " | ".join(f"{v} dB" for v in ROBUST_SNRS) + " | mean |",
             "|---|" + "---:|" * (len(ROBUST_SNRS) + 1)]
    for i, (_, name) in enumerate(methods):
        cells = [auc_cell([(y[snr == v], S[i][snr == v]) for y, S, snr, _ in data]) for v in snrs]
        mean = bootstrap_stat(reps, lambda A, i=i: A[:, i, :].mean(axis=1))
        lines.append(f"| {name} | " + " | ".join(_fmt(c) for c in cells) + f" | {_fmt_mean(mean)} |")
    for i, name in ((0, "`train-binary` minus known-tone"), (2, "`train-oneclass` minus known-tone")):
        cells = [bootstrap_stat(reps, lambda A, i=i, j=j: A[:, i, j] - A[:, 1, j]) for j in range(len(snrs))]
        mean = bootstrap_stat(reps, lambda A, i=i: (A[:, i, :] - A[:, 1, :]).mean(axis=1))
        lines.append(f"| {name} | " + " | ".join(_fmt(c, True) for c in cells) + f" | {_fmt_mean(mean, True)} |")
    n = [int(np.sum(np.asarray(d["clips"]["test"]["snr_db"]) == snrs[0])) for _, _, d in docs]
    lines += ["", f"Test clips per SNR cell: {_count(n)} (half targets; {clips_note}), "
              f"{_seeds_phrase([s for s, _, _ in docs])}."]
    return lines


def _siamese_table(docs: list, title: str = "**Siamese**: top-1 of 12 unseen signatures, 5-shot") -> list:
    """Top-1 of lfkit's siamese defaults and nearest centroid, and issue 10's aim at -32 dB; [] without siamese rows."""
    lines = []
    sia = [(p, d) for _, p, d in docs if any(r["regime"] == "siamese" for r in d["results"])]
    if sia:
        lines += ["", title, "",
                  "| model | " + " | ".join(f"{v} dB" for v in SIAMESE_ROBUST_SNRS) + " |",
                  "|---|" + "---:|" * len(SIAMESE_ROBUST_SNRS)]
        for method, name in (("train-siamese (defaults)", "`train-siamese` defaults"),
                             ("nearest centroid, whitened mean spectrum 0-1 kHz",
                              "nearest centroid, whitened mean spectrum 0-1 kHz")):
            cells = [bootstrap_rate([_row(p, d, lambda r: r["method"] == method)["correct"][v] for p, d in sia])
                     for v in SIAMESE_ROBUST_SNRS]
            lines.append(f"| {name} | " + " | ".join(_fmt(c) for c in cells) + " |")
            if method.startswith("train-siamese"):
                aim = cells[SIAMESE_ROBUST_SNRS.index("-32")]
        n = [len(d["clips"][f"siamese_{SIAMESE_ROBUST_SNRS[0]}"]["label"]) for _, d in sia]
        lines += ["", f"Test clips per SNR cell: {_count(n)}. Issue 10's aim, top-1 of at least 0.90 at -32 dB: "
                  f"{'met' if aim['mean'] >= 0.90 else 'not met'} ({aim['mean']:.3f})."]
    return lines


def render_robust(docs: list, band: list, tag: str) -> str:
    """The robustness block (without markers) from ``read_seeds`` documents (``band``: the ``--snr-ref band`` runs)."""
    if not docs:
        raise SystemExit(f"readme_block.py: no benchmarks/results/robust_{tag}_seed*.json")
    seeds = [s for s, _, _ in docs]
    lines = [f"Mean over {_seeds_phrase(seeds)}, each with its own `lfkit synth` training sets, lfkit `--seed`, test "
             "clips and signatures, and [95% bootstrap interval over seeds and clips]; AUC per per-tone SNR, "
             "mean column over the four SNRs.", ""]
    lines += _robust_table(docs, "SNR over the full band (lfkit's definition)")
    if band:
        lines += [""] + _robust_table(band, "SNR at the tones (`--snr-ref band`)")
    lines += _siamese_table(docs)
    if band:
        lines += _siamese_table(band, "**Siamese, SNR at the tones** (`--snr-ref band`): top-1 of 12 unseen "
                                      "signatures, 5-shot")
    cmd = f"`python benchmarks/bench_robust.py --tag {tag} --seed S`"
    if band:
        regimes = "" if all(any(r["regime"] == "siamese" for r in d["results"]) for _, _, d in band) \
            else " --regimes binary,oneclass"
        cmd += f" and `--snr-ref band{regimes} --tag {tag}band --seed S`"
    lines += ["", f"Written by `python benchmarks/readme_block.py --tag {tag}` from "
              f"`benchmarks/results/robust_{tag}{'{,band}' if band else ''}_seed*.json`, made by {cmd} for S in "
              f"{' '.join(map(str, seeds))}."]
    return "\n".join(lines) + "\n"


def _aim(docs: list, method: str, snr: int, floor: float) -> str:
    """``"met (0.97)"`` or ``"not met (0.93)"``: the mean over seeds of ``method``'s AUC at ``snr`` against ``floor``."""
    per_seed = []
    for _, p, d in docs:
        c = d["clips"]["test"]
        m = np.asarray(c["snr_db"], int) == snr
        per_seed.append((np.asarray(c["label"], int)[m], np.asarray(_row(p, d, lambda r: r["method"] == method)["scores"])[m]))
    mean = auc_cell(per_seed)["mean"]
    return f"{'met' if mean >= floor else 'not met'} ({mean:.3f})"


def render_own(docs: list, tag: str) -> str:
    """The block of lfkit's own generator (without markers) from ``bench_robust.py --generator lfkit`` documents."""
    if not docs:
        raise SystemExit(f"readme_block.py: no benchmarks/results/robust_{tag}_seed*.json")
    bad = [str(p) for _, p, d in docs if d.get("generator") != "lfkit"]
    if bad:
        raise SystemExit(f"readme_block.py: {', '.join(bad)}: not a --generator lfkit run")
    seeds = [s for s, _, _ in docs]
    binary = "train-binary (defaults)"
    lines = [f"The robustness suite's models (the same `lfkit synth` training sets, seeds and commands) tested on "
             f"`lfkit synth` clips, the setting the paper reports. Mean over {_seeds_phrase(seeds)} and [95% "
             "bootstrap interval over seeds and clips]; AUC per per-tone SNR, mean column over the four SNRs.", ""]
    lines += _robust_table(docs, "Binary and one-class", "white noise, 44.1 kHz, 1 s; half the negatives share one "
                           "or two of the target's tones")
    lines += ["", f"Aims (issues 3, 4): `train-binary` AUC at least 0.95 at -30 dB: {_aim(docs, binary, -30, 0.95)}; "
              f"at least 0.99 at -25 dB: {_aim(docs, binary, -25, 0.99)} and at -20 dB: "
              f"{_aim(docs, binary, -20, 0.99)}; `train-oneclass` at least 0.95 at -30 dB: "
              f"{_aim(docs, 'train-oneclass (defaults)', -30, 0.95)}."]
    lines += _siamese_table(docs)
    lines += ["", f"Written by `python benchmarks/readme_block.py --own-tag {tag}` from "
              f"`benchmarks/results/robust_{tag}_seed*.json`, made by `python benchmarks/bench_robust.py "
              f"--generator lfkit --tag {tag} --seed S` for S in {' '.join(map(str, seeds))}."]
    return "\n".join(lines) + "\n"


# ---- README -------------------------------------------------------------------------------------------------
def split_readme(text: str, which: str, where: str = "README") -> tuple:
    """``(before, block, after)`` of ``text`` around block ``which``; SystemExit if its markers are off."""
    return MB.split_block(text, *MARKERS[which], where, "readme_block.py")


def render_all(tag: str, real_dir: Path, robust_dir: Path, own_tag: str = OWN_TAG) -> dict:
    """``{"real": block, "robust": block, "own": block}`` from the results files of ``tag`` (``own_tag``: own)."""
    return {"real": render_real(read_seeds(real_dir, tag), tag),
            "robust": render_robust(read_seeds(robust_dir, f"robust_{tag}"),
                                    read_seeds(robust_dir, f"robust_{tag}band"), tag),
            "own": render_own(read_seeds(robust_dir, f"robust_{own_tag}"), own_tag)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tag", default=TAG, help="results tag: real/results/<tag>_seed*.json, results/robust_<tag>_...")
    ap.add_argument("--own-tag", default=OWN_TAG, help="results/robust_<own-tag>_seed*.json: lfkit's own generator")
    ap.add_argument("--readme", default=str(ROOT / "README.md"))
    ap.add_argument("--real-results", default=str(HERE / "real" / "results"))
    ap.add_argument("--robust-results", default=str(HERE / "results"))
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 when the README differs")
    args = ap.parse_args(argv)
    readme = Path(args.readme)
    text = readme.read_text(encoding="utf-8")
    for which in MARKERS:
        split_readme(text, which, str(readme))
    want = render_all(args.tag, Path(args.real_results), Path(args.robust_results), args.own_tag)
    new = text
    for which, block in want.items():
        before, _, after = split_readme(new, which, str(readme))
        new = before + block + after
    if args.check:
        if new != text:
            stale = [w for w in MARKERS if split_readme(text, w)[1] != want[w]]
            print(f"{readme}: the benchmark block(s) {', '.join(stale)} differ from the results files of tag "
                  f"{args.tag} (own: {args.own_tag}); run python benchmarks/readme_block.py --tag {args.tag} "
                  f"--own-tag {args.own_tag}")
            return 1
        return 0
    MB.rewrite(readme, text, new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
