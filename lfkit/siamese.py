"""The siamese (few-shot) regime's pairs: the pairs file and verification metrics.

A siamese model maps a clip to an embedding; two clips are compared by the
Euclidean distance ``d`` of their embeddings, turned into lfkit's score sign
by one function, :func:`lfkit.inference.heads.similarity`::

    score = 1 / (1 + d)        # in (0, 1]; 1 = identical, higher = more alike

The model's threshold (the validation equal-error point) is on the same
scale, so ``decision = score >= threshold`` everywhere: in enrollment
(:func:`lfkit.enroll.score_enroll`), pairs (:func:`lfkit.enroll.score_pairs`)
and ``lfkit eval --pairs`` (:func:`evaluate_pairs`). The scorer is
:class:`lfkit.inference.scorers.SiameseScorer`; training lives in
:mod:`lfkit.siamese_train`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lfkit.errors import DataError, ParameterError
from lfkit.inference.heads import SIMILARITY, similarity
from lfkit.metrics import binary_metrics

__all__ = ["SIMILARITY", "similarity", "read_pairs", "evaluate_pairs", "parse_same"]

def parse_same(value, where: str) -> int:
    """A ``same`` cell as 1 or 0 (``1/0``, ``true/false``, ``yes/no``, ``same/different``)."""
    v = str(value).strip().lower()
    if v in ("1", "true", "yes", "same", "1.0"):
        return 1
    if v in ("0", "false", "no", "different", "0.0"):
        return 0
    raise DataError(f"{where}: same={value!r} must be 1/0, true/false, yes/no or same/different")


def read_pairs(path, need_same: bool = False):
    """Rows of a pairs CSV (columns ``a,b``, paths relative to the CSV): ``(rows, root)``.

    Each row gains ``_a`` and ``_b``, the paths to open. Files are not checked here.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "pairs.csv"
    if not p.exists():
        raise DataError(f"{path}: no such pairs file")
    from lfkit import io

    rows, cols = io.read_csv_rows(p)
    want = ("a", "b", "same") if need_same else ("a", "b")
    missing = [c for c in want if c not in cols]
    if missing:
        raise DataError(f"{p}: missing column(s) {', '.join(missing)} (need {','.join(want)})")
    if not rows:
        raise DataError(f"{p}: no pairs")
    for r in rows:
        r["_a"], r["_b"] = str(p.parent / r["a"]), str(p.parent / r["b"])
    return rows, p.parent


def _real(path) -> str:
    return os.path.realpath(path)


def evaluate_pairs(records: list, pairs_path, threshold: float | None = None) -> dict:
    """Verification metrics of pair records (``lfkit eval --pairs``).

    Parameters
    ----------
    records : list of dict
        From ``lfkit score --pairs``: ``a``, ``b``, ``score`` (similarity) and ``threshold``.
    pairs_path : str
        The pairs CSV with a ``same`` column (1 = same identity); joined to
        the records by the two paths, in either order.
    threshold : float or None
        Decision threshold on the score; default the records' own.

    Returns
    -------
    dict
        ``n``, ``n_same``, ``n_different``, ``auc``, ``pauc``, ``eer``,
        ``eer_threshold``, ``threshold``, ``accuracy`` (and precision,
        recall, F1, confusion) at it, ``unscored`` (pairs without a record)
        and ``unlabelled`` (records not in the CSV).
    """
    rows, _ = read_pairs(pairs_path, need_same=True)
    truth = {}
    for i, r in enumerate(rows, 2):
        same = parse_same(r["same"], f"{pairs_path}: line {i}")
        a, b = _real(r["_a"]), _real(r["_b"])
        truth[(a, b)] = truth[(b, a)] = same
    y, s, seen, unlabelled = [], [], set(), 0
    for k, rec in enumerate(records, 1):
        if not isinstance(rec.get("score"), (int, float)) or "a" not in rec or "b" not in rec:
            raise DataError(f"score record {k} is not a pair record (needs a, b and a numeric score)")
        key = (_real(rec["a"]), _real(rec["b"]))
        if key not in truth:
            unlabelled += 1
            continue
        seen.add(key)
        seen.add(key[::-1])
        y.append(truth[key])
        s.append(float(rec["score"]))
    if not y:
        raise DataError("no score record matched a pair of the pairs file (check that paths agree)")
    if threshold is None:
        ths = {rec.get("threshold") for rec in records if rec.get("threshold") is not None}
        if len(ths) != 1:
            raise ParameterError("threshold: the records carry no single threshold; give --threshold")
        threshold = ths.pop()
    out = binary_metrics(np.array(y, dtype=int), np.array(s, dtype=float), threshold)
    out["n_same"], out["n_different"] = out.pop("n_positive"), out.pop("n_negative")
    out["unscored"] = sum(1 for key in {(_real(r["_a"]), _real(r["_b"])) for r in rows} if key not in seen)
    out["unlabelled"] = unlabelled
    return out
