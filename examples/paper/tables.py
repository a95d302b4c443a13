"""Write the paper's Tables 1-3 (Markdown, PNG plot, JSON summary) from the score records and eval JSON.

Called by the Makefile::

    python tables.py table1 --build build/quick --rows "speccnn lenet ... knowntone logreg" \\
        --seeds "1 2 3" --snrs "-35 -30 -25 -20 -10" -o results

Reads, for every row and seed,

- Tables 1 and 2: ``BUILD/t1|t2/ROW/sSEED.eval.json`` (``lfkit eval --by snr_db``:
  pooled metrics at the top, per-SNR metrics under ``by.snr_db``);
- Table 3: ``BUILD/t3/ROW/sSEED.TAG.eval.json`` (``lfkit eval --pairs``), TAG
  ``all`` (every SNR's pairs) or ``snr-35`` ...

and writes ``OUT/tableN.md``, ``OUT/tableN.png`` (AUC against SNR, one line
per row, bars = 95% intervals) and ``OUT/tableN.json`` (per row and SNR: mean
over seeds, 95% bootstrap interval over seeds and clips, per-seed values,
clips per cell, best-threshold accuracy; per row and seed, the learning-rate
search stored in the model file, see :func:`read_lr`). Each file is written
under a temporary name and renamed.

The cells come from the score records ``BUILD/t1|t2/ROW/sSEED.scores.jsonl``
(``lfkit score``; Table 3: ``BUILD/t3/ROW/sSEED.scores.jsonl`` with the
pairs file ``BUILD/data/multitest-sSEED/pairs-all.csv``): every clip's truth,
score and decision at the model's stored threshold. Each AUC is checked
against the eval JSON, so the table and ``lfkit eval`` cannot disagree.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
from pathlib import Path

import numpy as np

#: Bootstrap replicates per cell.
BOOT = 2000

# ---- the paper's numbers (accuracy, AUC) -------------------------------------
PAPER1 = {  # Table 1: binary classification
    "speccnn": (0.96, 1.0), "lenet": (0.92, 0.91), "vgg16": (0.89, 0.87), "alexnet": (0.88, 0.84),
    "inception": (0.84, 0.77), "basiccnn": (0.78, 0.71), "resnet": (0.6, 0.5),
}
# Table 2: accuracy per extractor-detector; one "Avg AUC" per extractor (over its three detectors).
# The paper's detectors are SVM, RF (a one-class random forest) and GMM: lfkit's ocsvm, iforest, gmm.
_PAPER2_ACC = {
    "basiccnn": (0.72, 0.58, 0.74), "resnet": (0.33, 0.7, 0.72), "vgg16": (0.85, 0.75, 0.83),
    "inception": (0.81, 0.71, 0.79), "alexnet": (0.82, 0.64, 0.71), "lenet": (0.9, 0.77, 0.87),
    "ocspeccnn": (0.95, 0.89, 0.92),
}
PAPER2_AVG_AUC = {"basiccnn": 0.48, "resnet": 0.29, "vgg16": 0.68, "inception": 0.52, "alexnet": 0.5,
                  "lenet": 0.81, "ocspeccnn": 0.93}
PAPER2 = {f"{e}-{d}": (acc[i], PAPER2_AVG_AUC[e]) for e, acc in _PAPER2_ACC.items()
          for i, d in enumerate(("ocsvm", "iforest", "gmm"))}
PAPER3 = {  # Table 3: siamese verification
    "basiccnn-contrastive": (0.72, 0.61), "basiccnn-triplet": (0.7, 0.61),
    "resnet-contrastive": (0.67, 0.45), "resnet-triplet": (0.56, 0.48),
    "vgg16-contrastive": (0.83, 0.73), "vgg16-triplet": (0.76, 0.67),
    "inception-contrastive": (0.76, 0.65), "inception-triplet": (0.7, 0.6),
    "alexnet-contrastive": (0.8, 0.7), "alexnet-triplet": (0.72, 0.59),
    "lenet-contrastive": (0.89, 0.84), "lenet-triplet": (0.81, 0.8),
    "sispeccnn-contrastive": (0.92, 0.91), "sispeccnn-triplet": (0.87, 0.82),
}
PAPER = {"table1": PAPER1, "table2": PAPER2, "table3": PAPER3}

NAMES = {
    "speccnn": "Spec-CNN", "ocspeccnn": "OC-SpecCNN", "sispeccnn": "Si-SpecCNN", "lenet": "LeNet",
    "vgg16": "VGG-16", "alexnet": "AlexNet", "inception": "Inception", "basiccnn": "Basic CNN",
    "resnet": "ResNet", "wave1d": "Wave-1D", "knowntone": "known-tone detector (reference)",
    "logreg": "logistic regression (reference)", "raw": "raw spectrum (reference)",
    "ocsvm": "OC-SVM", "gmm": "GMM", "iforest": "isolation forest",
    "contrastive": "contrastive", "triplet": "triplet",
}
TITLES = {
    "table1": "Table 1: binary classification",
    "table2": "Table 2: one-class classification (trained on positives only)",
    "table3": "Table 3: siamese verification (pairs of signatures never seen in training)",
}


def label(row: str) -> str:
    """Display name of a row such as ``lenet-ocsvm``."""
    return " + ".join(NAMES.get(p, p) for p in row.split("-"))


def eval_paths(build: Path, table: str, row: str, seed: str, snrs: list) -> dict:
    """``{"all": path, snr: path, ...}`` of one row and seed (Table 3: one file per SNR)."""
    if table == "table3":
        base = build / "t3" / row / f"s{seed}"
        out = {"all": base.with_name(f"s{seed}.all.eval.json")}
        out.update({s: base.with_name(f"s{seed}.snr{s}.eval.json") for s in snrs})
        return out
    sub = "t1" if table == "table1" or row == "knowntone" else "t2"
    return {"all": build / sub / row / f"s{seed}.eval.json"}


def _snr_group(by: dict, snr: int) -> dict:
    for k, v in by.items():
        if float(k) == float(snr):
            return v
    raise SystemExit(f"no snr_db group {snr} in the eval JSON (groups: {sorted(by)})")


def read_metrics(paths: dict, snrs: list) -> dict:
    """``{"all": {"auc", "accuracy"}, snr: {...}}`` of one row and seed, from ``lfkit eval`` JSON."""
    missing = [str(p) for p in paths.values() if not Path(p).exists()]
    if missing:
        raise SystemExit(f"tables.py: no eval JSON {missing[0]} (run make, which builds it)")
    out = {}
    if len(paths) == 1:  # one eval with --by snr_db
        doc = json.loads(Path(paths["all"]).read_text())
        groups = {"all": doc}
        by = doc.get("by", {}).get("snr_db", {})
        groups.update({s: _snr_group(by, s) for s in snrs})
    else:
        groups = {k: json.loads(Path(p).read_text()) for k, p in paths.items()}
    for k, g in groups.items():
        out[k] = {"auc": g.get("auc"), "accuracy": g.get("accuracy")}
    return out


def _read_jsonl(path: Path) -> list:
    if not path.exists():
        raise SystemExit(f"tables.py: no score records {path} (run make, which builds them)")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_clips(build: Path, table: str, row: str, seed: str, snrs: list) -> dict:
    """Per-clip (Table 3: per-pair) truth, score and decision of one row and seed, grouped by SNR.

    Returns ``{"all": (y, score, decision), snr: (...), ...}``: ``y`` 1 for the
    target (Table 3: the same signature), ``decision`` the model's own
    ``score >= threshold`` as ``lfkit score`` wrote it.
    """
    if table == "table3":
        recs = _read_jsonl(build / "t3" / row / f"s{seed}.scores.jsonl")
        pairs = build / "data" / f"multitest-s{seed}" / "pairs-all.csv"
        if not pairs.exists():
            raise SystemExit(f"tables.py: no pairs file {pairs} (run make, which builds it)")
        with open(pairs, newline="") as fh:
            truth = {}
            for r in csv.DictReader(fh):
                a, b = (os.path.realpath(pairs.parent / r[k]) for k in ("a", "b"))
                truth[(a, b)] = truth[(b, a)] = int(r["same"])
        items = []
        for r in recs:
            key = (os.path.realpath(r.get("a", "")), os.path.realpath(r.get("b", "")))
            if isinstance(r.get("score"), (int, float)) and key in truth:
                snr = float(Path(key[0]).parent.name.removeprefix("snr"))
                dec = r["decision"] if "decision" in r else r["score"] >= r["threshold"]
                items.append((snr, truth[key], r["score"], bool(dec)))
    else:
        sub = "t1" if table == "table1" or row == "knowntone" else "t2"
        recs = _read_jsonl(build / sub / row / f"s{seed}.scores.jsonl")
        items = [(float(r["snr_db"]), int(r["label"] == r["target"]), r["score"], bool(r["decision"]))
                 for r in recs if isinstance(r.get("score"), (int, float))]
    if not items:
        raise SystemExit(f"tables.py: {row} seed {seed}: no scored clips")
    snr, y, score, dec = (np.array(v) for v in zip(*items))
    out = {"all": (y.astype(int), score.astype(float), dec.astype(bool))}
    for s in snrs:
        m = snr == float(s)
        out[s] = (y[m].astype(int), score[m].astype(float), dec[m].astype(bool))
    return out


def model_path(build: Path, table: str, row: str, seed: str) -> Path:
    """The model file of one row and seed (``BUILD/t1|t2|t3/ROW/sSEED.pt``; Table 2's knowntone: Table 1's)."""
    sub = {"table1": "t1", "table2": "t2", "table3": "t3"}[table]
    return build / ("t1" if row == "knowntone" else sub) / row / f"s{seed}.pt"


def read_lr(path: Path) -> dict | None:
    """The learning-rate search stored in a model file (``training["lr_search"]``), as the table JSON keeps it.

    The file is read with :func:`lfkit.modelfile.load_model` (nothing in it
    runs; a current-format file needs no torch).

    Returns
    -------
    dict or None
        None for a model without a network (known-tone detector, logistic
        regression, the ``raw`` extractor). Otherwise ``chosen``: the rate
        the network trained at (the search's rank-0 candidate); ``val_loss``:
        the winner's validation loss after the search epochs; ``search_epochs``
        and ``warmup_epochs`` (epochs each candidate trained, of which the
        warm-up; None when the model does not say); ``candidates``: the stored
        list, per rate ``lr``, ``val_loss``, a secondary score (``val_auc``;
        one-class ``val_accuracy``) and ``rank`` (0 best). A network trained
        without a search has ``candidates`` ``[]`` and ``val_loss`` None.
    """
    from lfkit.errors import DataError
    from lfkit.modelfile import load_model

    if not Path(path).exists():
        raise SystemExit(f"tables.py: no model file {path} (run make, which builds it)")
    try:
        doc = load_model(path)
    except DataError as exc:
        raise SystemExit(f"tables.py: {exc}") from None
    if not doc.get("arch"):
        return None
    training = doc.get("training") or {}
    cfg = training.get("config") or {}
    tried = training.get("lr_search") or []
    if not tried:
        return {"chosen": cfg.get("lr"), "val_loss": None, "search_epochs": None,
                "warmup_epochs": cfg.get("warmup_epochs"), "candidates": []}
    win = next((t for t in tried if t.get("rank") == 0), None)
    if win is None or (cfg.get("lr") is not None and win["lr"] != cfg["lr"]):
        raise SystemExit(f"tables.py: {path}: damaged learning-rate search (no rank-0 candidate that the "
                         f"model trained at, lr={cfg.get('lr')!r})")
    epochs = cfg.get("lr_search_epochs")
    if epochs is not None and cfg.get("epochs") is not None:
        epochs = min(int(epochs), int(cfg["epochs"]))
    return {"chosen": win["lr"], "val_loss": win["val_loss"], "search_epochs": epochs,
            "warmup_epochs": cfg.get("warmup_epochs"), "candidates": tried}


def auc_rows(y: np.ndarray, S: np.ndarray) -> np.ndarray:
    """ROC AUC of every row of scores ``S`` (B, n) against labels ``y`` (B, n) or (n,) (ties count half)."""
    from scipy.stats import rankdata

    y = np.broadcast_to(y, S.shape)
    r = rankdata(S, axis=1)
    n_pos = y.sum(axis=1)
    n_neg = y.shape[1] - n_pos
    return ((r * y).sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def best_accuracy(y: np.ndarray, score: np.ndarray) -> float:
    """Accuracy at the best threshold for these scores (an upper bound for any stored threshold)."""
    order = np.argsort(-score, kind="stable")
    ys, ss = y[order], score[order]
    tp = np.concatenate([[0], np.cumsum(ys)])  # deciding the top k clips positive, k = 0..n
    fp = np.arange(len(ys) + 1) - tp
    keep = np.concatenate([[True], ss[1:] != ss[:-1], [True]])  # cut only between distinct scores
    acc = (tp + (len(ys) - ys.sum()) - fp) / len(ys)
    return float(acc[keep].max())


def bootstrap(per_seed: list, n_boot: int = BOOT, seed: int = 0) -> dict:
    """Mean over seeds of AUC and accuracy, with 95% intervals of a two-level bootstrap.

    Each replicate draws the seeds with replacement and, inside each drawn
    seed, its clips with replacement (targets and others apart, so every
    replicate keeps both classes); the replicate's value is the mean over the
    drawn seeds. The interval is the 2.5 and 97.5 percentiles of ``n_boot``
    replicates. ``per_seed``: one ``(y, score, decision)`` per seed.
    """
    rng = np.random.default_rng(seed)
    sets = [(y, s, d) for y, s, d in per_seed if 0 < y.sum() < len(y)]
    n = int(sum(len(y) for y, _, _ in per_seed))
    if not sets:
        return {"auc": _stat(None), "accuracy": _stat(None), "accuracy_best": None, "n": n, "seeds": 0}
    auc_rep, acc_rep = [], []
    for y, s, d in sets:
        pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
        idx = np.concatenate([rng.choice(pos, (n_boot, len(pos))), rng.choice(neg, (n_boot, len(neg)))], axis=1)
        yy = np.concatenate([np.ones(len(pos), int), np.zeros(len(neg), int)])
        auc_rep.append(auc_rows(yy, s[idx]))
        acc_rep.append((d[idx] == yy.astype(bool)).mean(axis=1))
    k = len(sets)
    pick, rep = rng.integers(0, k, (n_boot, k)), rng.integers(0, n_boot, (n_boot, k))
    out = {"n": n, "seeds": k}
    for name, reps, point in (("auc", auc_rep, [float(auc_rows(y, s[None])[0]) for y, s, _ in sets]),
                              ("accuracy", acc_rep, [float((d == y.astype(bool)).mean()) for y, _, d in sets])):
        boots = np.stack(reps)[pick, rep].mean(axis=1)
        out[name] = _stat(statistics.fmean(point), np.percentile(boots, [2.5, 97.5]), point)
    out["accuracy_best"] = round(statistics.fmean(best_accuracy(y, s) for y, s, _ in sets), 4)
    return out


def _stat(mean, ci=None, per_seed=None) -> dict:
    if mean is None:
        return {"mean": None, "lo": None, "hi": None, "std": None, "per_seed": []}
    return {"mean": round(mean, 4), "lo": round(float(ci[0]), 4), "hi": round(float(ci[1]), 4),
            "std": round(statistics.pstdev(per_seed), 4), "per_seed": [round(v, 4) for v in per_seed]}


def _check_against_eval(row: str, seed: str, key, clips: tuple, ev: dict) -> None:
    """The AUC from the score records must equal ``lfkit eval``'s (one computation, two readers)."""
    y, s, _ = clips
    if ev.get("auc") is None or not 0 < y.sum() < len(y):
        return
    mine = float(auc_rows(y, s[None])[0])
    if abs(mine - ev["auc"]) > 1e-6:
        raise SystemExit(f"tables.py: {row} seed {seed} {key}: AUC {mine:.6f} from the score records, "
                         f"{ev['auc']:.6f} in the eval JSON (stale build? run make)")


def collect(build: Path, table: str, rows: list, seeds: list, snrs: list) -> list:
    """One summary per row: paper numbers and, per key (``all`` and each SNR), mean and 95% interval.

    ``lr`` holds, per seed (``"s1"``, ...), :func:`read_lr` of the row's model
    file (None for a reference row). A Table 2 row records its extractor's
    search: the three detectors of an extractor and seed repeat the same one.
    """
    out = []
    for row in rows:
        clips = {s: read_clips(build, table, row, s, snrs) for s in seeds}
        for s in seeds:
            ev = read_metrics(eval_paths(build, table, row, s, snrs), snrs)
            for k in ["all"] + snrs:
                _check_against_eval(row, s, k, clips[s][k], ev[k])
        keys = ["all"] + snrs
        paper = PAPER[table].get(row)
        boot = {str(k): bootstrap([clips[s][k] for s in seeds]) for k in keys}
        out.append({
            "row": row,
            "name": label(row),
            "paper": {"accuracy": paper[0], "auc": paper[1]} if paper else None,
            "auc": {k: b["auc"] for k, b in boot.items()},
            "accuracy": {k: b["accuracy"] for k, b in boot.items()},
            "accuracy_best": {k: b["accuracy_best"] for k, b in boot.items()},
            "n": {k: b["n"] for k, b in boot.items()},
            "lr": _lr_per_seed([read_lr(model_path(build, table, row, s)) for s in seeds], seeds),
        })
    return out


def _lr_per_seed(records: list, seeds: list) -> dict | None:
    """``{"s1": read_lr(...), ...}`` of a row, or None when its models have no network (a reference row)."""
    if all(r is None for r in records):
        return None
    return {f"s{s}": r for s, r in zip(seeds, records)}


def _cell(s: dict) -> str:
    if s["mean"] is None:
        return "n/a"
    return f"{s['mean']:.2f} [{s['lo']:.2f}, {s['hi']:.2f}]"


def _acc_cell(r: dict, key: str) -> str:
    best = r["accuracy_best"][key]
    return _cell(r["accuracy"][key]) + ("" if best is None else f" *{best:.2f}*")


def _paper(p, key):
    return "" if p is None else f"{p[key]:.2f}"


def markdown(table: str, rows: list, snrs: list, seeds: list, profile: str) -> str:
    snr_cols = [str(s) for s in snrs]
    head = " | ".join(f"{s} dB" for s in snr_cols)
    paper_auc = "paper avg AUC" if table == "table2" else "paper AUC"
    unit = "pairs" if table == "table3" else "clips"
    n_row = rows[0]["n"] if rows else {}
    n_cells = " | ".join(str(n_row.get(s, "")) for s in snr_cols + ["all"])
    n_line = f"| *{unit} per cell ({len(seeds)} seeds' test sets together)* | | {n_cells} |"
    lines = [f"## {TITLES[table]}", "",
             f"lfkit `{profile}` profile. Each cell: mean over {len(seeds)} seeds ({', '.join(seeds)}), each "
             f"seed with its own training and test sets, and [the 95% bootstrap interval over seeds and "
             f"{unit}] ({BOOT} replicates). SNR is per tone; *all* pools every SNR's test {unit}. "
             "Written by `tables.py` from the `lfkit score` records (checked against `lfkit eval`).", "",
             "**AUC**", "",
             f"| row | {paper_auc} | {head} | all |",
             "|---|---:|" + "---:|" * (len(snr_cols) + 1)]
    for r in rows:
        cells = " | ".join(_cell(r["auc"][s]) for s in snr_cols)
        lines.append(f"| {r['name']} | {_paper(r['paper'], 'auc')} | {cells} | {_cell(r['auc']['all'])} |")
    lines.append(n_line)
    lines += ["", "**Accuracy** at the threshold stored in the model (picked on its validation data; "
              "in brackets the 95% interval, then in *italics* the best accuracy any threshold gives "
              "on the same test scores)", "",
              f"| row | paper accuracy | {head} | all |",
              "|---|---:|" + "---:|" * (len(snr_cols) + 1)]
    for r in rows:
        cells = " | ".join(_acc_cell(r, s) for s in snr_cols + ["all"])
        lines.append(f"| {r['name']} | {_paper(r['paper'], 'accuracy')} | {cells} |")
    lines.append(n_line)
    if table == "table2":
        lines += ["", "**AUC averaged over the three detectors** (the paper's *Avg AUC*)", "",
                  f"| extractor | paper avg AUC | {head} | all |",
                  "|---|---:|" + "---:|" * (len(snr_cols) + 1)]
        extractors = []
        for r in rows:
            e = r["row"].split("-")[0]
            if "-" in r["row"] and e not in extractors:
                extractors.append(e)
        for e in extractors:
            mine = [r for r in rows if r["row"].split("-")[0] == e and "-" in r["row"]]
            cells = []
            for s in snr_cols + ["all"]:
                vals = [r["auc"][s]["mean"] for r in mine if r["auc"][s]["mean"] is not None]
                cells.append(f"{statistics.fmean(vals):.2f}" if vals else "n/a")
            paper = PAPER2_AVG_AUC.get(e)
            lines.append(f"| {NAMES.get(e, e)} | {'' if paper is None else f'{paper:.2f}'} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(table: str, rows: list, snrs: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if table == "table1":
        panels = [("", rows)]
    else:
        pos = 1  # Table 2 panels by detector, Table 3 by loss
        groups: dict = {}
        for r in rows:
            parts = r["row"].split("-")
            if len(parts) > 1:
                groups.setdefault(parts[pos], []).append(r)
        refs = [r for r in rows if "-" not in r["row"]]
        panels = [(NAMES.get(g, g), v + refs) for g, v in groups.items()]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels) + 2.4, 4.2), sharey=True, squeeze=False)
    for ax, (title, group) in zip(axes[0], panels):
        for r in group:
            m = [r["auc"][str(s)]["mean"] for s in snrs]
            if any(v is None for v in m):
                continue
            sd = [[v - r["auc"][str(s)]["lo"] for s, v in zip(snrs, m)],
                  [r["auc"][str(s)]["hi"] - v for s, v in zip(snrs, m)]]
            ref = r["row"].split("-")[0] in ("knowntone", "logreg", "raw")
            name = r["name"] if table == "table1" else NAMES.get(r["row"].split("-")[0], r["row"])
            ax.errorbar(snrs, m, yerr=sd, marker="o", ms=3, capsize=2, lw=1.2,
                        ls="--" if ref else "-", label=name)
        ax.axhline(0.5, color="0.6", lw=0.8, ls=":")
        ax.set_xlabel("SNR per tone (dB)")
        ax.set_title(title)
        ax.set_ylim(0.3, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("AUC (mean over seeds, 95% bootstrap interval)")
    axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(TITLES[table], fontsize=10)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    os.replace(tmp, path)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table", choices=sorted(TITLES))
    ap.add_argument("--build", required=True, help="build folder of the profile (build/quick)")
    ap.add_argument("--rows", required=True, help="space-separated rows, e.g. 'speccnn lenet'")
    ap.add_argument("--extra", default="", help="Table 2: reference rows read from Table 1 (knowntone)")
    ap.add_argument("--seeds", required=True)
    ap.add_argument("--snrs", required=True)
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("-o", "--output", required=True, help="results folder")
    args = ap.parse_args(argv)
    rows = args.rows.split() + args.extra.split()
    seeds = args.seeds.split()
    snrs = [int(s) for s in args.snrs.split()]
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    summary = collect(Path(args.build), args.table, rows, seeds, snrs)
    _write(out / f"{args.table}.md", markdown(args.table, summary, snrs, seeds, args.profile))
    doc = {"table": args.table, "profile": args.profile, "seeds": seeds, "snrs_db": snrs, "rows": summary}
    _write(out / f"{args.table}.json", json.dumps(doc, indent=1) + "\n")
    if not args.no_plot:
        plot(args.table, summary, snrs, out / f"{args.table}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
