"""``lfkit eval``: join score records to labels and compute metrics (numpy only).

Records and labels are joined by path (both resolved to absolute paths).
``lfkit score`` writes absolute paths; a relative record path is resolved
against the scores file's folder, and failing that against the working
folder, while ``labels.csv`` is relative to its own folder. Error records
(an input ``score`` could not read) are counted as ``errors`` and left out. Clips with a label but no score, and scores
with no label, are counted and reported, never silently dropped. Chunked
records of one file are reduced to the file's highest score.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lfkit import io
from lfkit import metrics as M
from lfkit.config import DEFAULT_THRESHOLD
from lfkit.errors import DataError, ParameterError, check_number
from lfkit.metrics import binary_metrics
from lfkit.records import best_per_path
from lfkit.writers import read_records

__all__ = ["evaluate", "binary_metrics", "run_eval"]


def _key(path: str, root: Path | None = None) -> str:
    p = Path(path)
    if root is not None and not p.is_absolute():
        p = root / p
    return os.path.realpath(p)




def _multiclass(recs, labels):
    classes = sorted({c for r in recs for c in r["scores"]})
    S = np.array([[r["scores"].get(c, -np.inf) for c in classes] for r in recs], dtype=float)
    out = {"top1": M.topk_accuracy(labels, S, classes, k=1), "map@3": M.map_at_k(labels, S, classes, k=3)}
    if all("match" in r for r in recs):
        out["open_set"] = M.open_set_rates(labels, [r["match"] for r in recs], classes)
    return out


def _check_records(records) -> tuple[list, int]:
    """Records fit to evaluate, and how many error records were left out."""
    import math

    good, n_error = [], 0
    for i, r in enumerate(records, 1):
        if "error" in r and "score" not in r:
            n_error += 1
            continue
        sc = r.get("score")
        if isinstance(sc, bool) or not isinstance(sc, (int, float)) or not math.isfinite(sc):
            raise DataError(f"score record {i} has no finite numeric 'score'")
        if not isinstance(r.get("path"), str) or not r["path"]:
            raise DataError(f"score record {i}: 'path' is {r.get('path')!r}, not a file path")
        if "scores" in r and not (isinstance(r["scores"], dict) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in r["scores"].values())):
            raise DataError(f"score record {i}: 'scores' is not an object of numbers")
        good.append(r)
    return good, n_error


def parse_bins(text) -> list[float] | int | None:
    """``--bins``: a number of equal-width bins (``"4"``) or increasing edges (``"-35,-25,-15"``)."""
    if text is None:
        return None
    s = str(text).strip()
    try:
        parts = [float(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise ParameterError(f"bins={s!r} must be a number of bins or comma-separated edges") from None
    if len(parts) == 1 and "," not in s:
        n = parts[0]
        if not (n.is_integer() and 1 <= n <= 1000):
            raise ParameterError(f"bins={s!r} must be a whole number of bins in [1, 1000], or edges")
        return int(n)
    if len(parts) < 2 or not all(np.isfinite(parts)) or any(b <= a for a, b in zip(parts, parts[1:])):
        raise ParameterError(f"bins={s!r}: give at least two finite, increasing edges")
    return parts


def _bin_names(values: list[str], bins, by: str) -> list[str | None]:
    """Each value's bin, ``"[lo, hi)"`` (the last bin closed); None outside the edges."""
    try:
        x = np.array([float(v) for v in values])
    except ValueError:
        raise ParameterError(f"bins: column {by!r} is not numeric") from None
    if isinstance(bins, int):
        lo, hi = float(np.min(x)), float(np.max(x))
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    else:
        edges = np.asarray(bins, dtype=float)
    names = []
    for v in x:
        k = int(np.searchsorted(edges, v, side="right")) - 1
        if v == edges[-1]:
            k = len(edges) - 2
        if not 0 <= k < len(edges) - 1:
            names.append(None)
            continue
        close = "]" if k == len(edges) - 2 else ")"
        names.append(f"[{edges[k]:.6g}, {edges[k + 1]:.6g}{close}")
    return names


def evaluate(records: list, label_rows: list | None, positive: str | None = None, threshold: float | None = None,
             by: str | None = None, label_root: Path | None = None, bins=None, record_root: Path | None = None) -> dict:
    """Metrics of score records against labels.

    Parameters
    ----------
    records : list of dict
        From ``lfkit score``: ``path``, ``score`` and optionally ``threshold``,
        ``target``, ``scores`` (per class), ``match``.
    label_rows : list of dict or None
        ``labels.csv`` rows (``path``, ``label``, metadata). When None, each
        record's own ``label`` field is used.
    positive : str or None
        The target label (default: the records' ``target``).
    threshold : float or None
        Decision threshold (default: the records' ``threshold``, else 0.5).
    by : str or None
        A label column: the metrics are repeated per value of it.
    bins : int or list of float or None
        With ``by``: group its numeric values into this many equal-width bins,
        or between these edges (see :func:`parse_bins`), instead of per value.
    record_root : Path or None
        Folder that relative record paths are resolved against first (the
        scores file's); the working folder is tried next.

    Returns
    -------
    dict
        ``n``, ``auc``, ``pauc``, ``eer``, ``accuracy``, ``precision``,
        ``recall``, ``f1``, ``confusion``, ``threshold``; ``top1`` and
        ``map@3`` for multi-class records; ``unscored`` / ``unlabelled``
        counts; ``by`` groups.
    """
    if not records:
        raise DataError("no score records to evaluate")
    if threshold is not None:
        check_number("threshold", threshold)
    if bins is not None and not by:
        raise ParameterError("bins needs --by COLUMN")
    records, n_error = _check_records(records)
    if not records:
        raise DataError(f"all {n_error} score record(s) are error records; nothing to evaluate")
    recs = best_per_path(records)
    joined, unlabelled = [], []
    if label_rows is None:
        for r in recs:
            (joined if r.get("label") not in (None, "") else unlabelled).append((r, r))
        n_unscored = 0
    else:
        by_path = {}
        for row in label_rows:
            by_path[_key(row["path"], label_root)] = row
        seen = set()
        for r in recs:
            k = _key(r["path"], record_root)
            if k not in by_path and record_root is not None:
                k = _key(r["path"])
            row = by_path.get(k)
            if row is None:
                unlabelled.append((r, None))
            else:
                seen.add(k)
                joined.append((r, row))
        n_unscored = len(set(by_path) - seen)
    if not joined:
        hint = ""
        if label_rows is not None and recs and label_rows:
            hint = (f": records name e.g. {_key(recs[0]['path'], record_root)!r}, the labels "
                    f"{_key(label_rows[0]['path'], label_root)!r} (relative record paths are resolved against the "
                    "scores file's folder, then the working folder)")
        raise DataError(f"no score record matched a label{hint}")
    if positive is None:
        targets = {r.get("target") for r, _ in joined if r.get("target")}
        positive = targets.pop() if len(targets) == 1 else "positive"
    if threshold is None:
        ths = {r.get("threshold") for r, _ in joined if r.get("threshold") is not None}
        threshold = ths.pop() if len(ths) == 1 else DEFAULT_THRESHOLD
    labels = [str(row["label"]) for _, row in joined]
    if positive not in labels and not all("scores" in r for r, _ in joined):
        raise ParameterError(f"positive={positive!r} is not among the labels ({', '.join(sorted(set(labels)))})")
    out = _group([r for r, _ in joined], labels, positive, threshold)
    out["positive"] = positive
    out["unscored"] = n_unscored
    out["unlabelled"] = len(unlabelled)
    out["errors"] = n_error
    if by:
        groups = {}
        if any(by not in row for _, row in joined):
            raise ParameterError(f"by={by!r} is not a column of the labels")
        values = [str(row[by]) for _, row in joined]
        names = _bin_names(values, bins, by) if bins is not None else values
        for (r, _), lab, g in zip(joined, labels, names):
            if g is not None:
                groups.setdefault(g, []).append((r, lab))
        out["by"] = {by: {g: _group([r for r, _ in v], [lab for _, lab in v], positive, threshold)
                          for g, v in sorted(groups.items(), key=lambda kv: _group_order(kv[0]))}}
        if bins is not None:
            out["by_outside"] = sum(g is None for g in names)
    return out


def _group_order(name: str):
    """Sort groups by value, bins ``"[lo, hi)"`` by their lower edge."""
    return _num_or_str(name[1:].split(",")[0] if name.startswith("[") else name)


def _num_or_str(s):
    try:
        return (0, float(s), "")
    except ValueError:
        return (1, 0.0, s)


def _group(recs, labels, positive, threshold) -> dict:
    if all("scores" in r for r in recs) and positive not in labels:  # identification only (enrollment records)
        return dict({"n": len(recs), "threshold": threshold}, **_multiclass(recs, labels))
    y = np.array([lab == positive for lab in labels], dtype=int)
    s = np.array([r["score"] for r in recs], dtype=float)
    out = binary_metrics(y, s, threshold)
    if all("scores" in r for r in recs):
        out.update(_multiclass(recs, labels))
    return out


def run_eval(scores_path, labels_path=None, positive=None, threshold=None, by=None, output=None, plot=None,
             pairs=None, notice=None, bins=None) -> dict:
    """The whole of ``lfkit eval``: read, evaluate, write JSON (and a ROC plot).

    ``bins`` is the text of ``--bins`` (see :func:`parse_bins`).
    """
    if threshold is not None:
        check_number("threshold", threshold)
    bins = parse_bins(bins)
    if bins is not None and not by:
        raise ParameterError("bins needs --by COLUMN")
    records = read_records(scores_path)  # JSON Lines or CSV (by extension, else content), as score writes them
    if pairs is not None:
        from lfkit.siamese import evaluate_pairs

        result = evaluate_pairs(records, pairs, threshold)
        io.write_json(result, output)
        return result
    rows, root = (io.read_labels(labels_path) if labels_path else (None, None))
    if rows is not None:
        for r in rows:
            r["path"] = r["_file"]
    root = None if str(scores_path) == io.STDIO else Path(scores_path).resolve().parent
    result = evaluate(records, rows, positive, threshold, by, None, bins=bins, record_root=root)
    if notice:
        if result["errors"]:
            notice(f"{result['errors']} error record(s) (inputs score could not read) left out")
        if result["unscored"]:
            notice(f"{result['unscored']} labelled clip(s) have no score")
        if result["unlabelled"]:
            notice(f"{result['unlabelled']} scored clip(s) have no label")
    if plot:
        _plot_roc(_check_records(records)[0], rows, result, plot)
    io.write_json(result, output)
    return result


def _plot_roc(records, rows, result, path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ParameterError("plot: matplotlib is not installed (pip install 'lfkit[plot]')") from None
    recs = best_per_path(records)
    lab = {_key(r["_file"]): r["label"] for r in rows} if rows is not None else {}
    pairs = [(r["score"], (lab.get(_key(r["path"])) if rows is not None else r.get("label"))) for r in recs]
    pairs = [(s, l) for s, l in pairs if l is not None]
    y = np.array([l == result["positive"] for _, l in pairs], dtype=int)
    s = np.array([s for s, _ in pairs])
    fpr, tpr, _ = M.roc_curve(y, s)
    fig, ax = plt.subplots(figsize=(4, 4), dpi=120)
    ax.plot(fpr, tpr, label=f"AUC = {result['auc']:.3f}" if result["auc"] is not None else "ROC")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(loc="lower right")
    fig.tight_layout()
    import io as _io

    buf = _io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    io.write_bytes(buf.getvalue(), path)
