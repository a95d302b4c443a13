"""What a score record is: its builder, best chunk and decision, the record of an input that failed.

:func:`make_record` is the one place a record is built (key order fixed, so
outputs are byte-stable), :func:`best_chunk` the one best-chunk aggregation,
:func:`decide` the one threshold-to-decision rule and :func:`clip_metadata`
the one metadata pass-through; scoring, enrollment, embedding and ``eval``
all use them.

Records carry absolute paths (``-`` for standard input) so ``eval`` joins
them from any folder; an input that cannot be scored gets
``{"path", "model", "error"}``; a score that is not finite is such an
error, never a NaN in the JSON. Models are averaged only when their scores
measure the same thing.
"""

from __future__ import annotations

import os

import numpy as np

from lfkit import io
from lfkit.errors import DataError, ParameterError

__all__ = ["record_path", "error_record", "finite_records", "check_compatible", "score_scale", "make_record",
           "best_chunk", "chunk_summary", "best_per_path", "decide", "clip_metadata"]

_UNSET = object()


def clip_metadata(clip) -> dict:
    """An input's own columns (labels.csv metadata) that records carry through: all but ``path`` and ``_*``."""
    return {k: v for k, v in clip.items() if not k.startswith("_") and k != "path"}


def make_record(path, model, *, match=None, score=None, scores=None, probability=None, extra=None, start=None,
                end=None, low_freq_hz=None, high_freq_hz=None, threshold=None, decision=_UNSET, target=None,
                metadata=None) -> dict:
    """Build one score record, keys in one fixed order (absent values are left out).

    Parameters
    ----------
    path : str or dict
        The input's path, or its clip (``_file``): made absolute by :func:`record_path` (``-`` stays ``-``).
    model : str
    match : str or None
        Identity of an enrollment record.
    score : float or None
        Higher = more like the target.
    scores : dict or None
        Per-identity scores.
    probability : float or None
    extra : dict or None
        Further result keys (a single model's own result fields), added where not already set.
    start, end : float or None
        Window in seconds (rounded to 1 us).
    low_freq_hz, high_freq_hz : float or None
        Frequency band of a detection.
    threshold : float or None
        With it the record gets ``threshold`` and ``decision`` (:func:`decide`).
    target : str or None
        The model's positive class.
    metadata : dict or None
        Input columns carried through where the record has no such key.
    """
    rec = {"path": record_path(path) if isinstance(path, dict) else path, "model": model}
    for k, v in (("match", match), ("score", score), ("scores", scores), ("probability", probability)):
        if v is not None:
            rec[k] = v
    for k, v in (extra or {}).items():
        rec.setdefault(k, v)
    if start is not None:
        rec["start"], rec["end"] = round(float(start), 6), round(float(end), 6)
    if low_freq_hz is not None:
        rec["low_freq_hz"], rec["high_freq_hz"] = float(low_freq_hz), float(high_freq_hz)
    if threshold is not None:
        decide(rec, threshold)
    if target is not None:
        rec["target"] = target
    return add_metadata(rec, metadata)


def add_metadata(rec: dict, metadata) -> dict:
    """``rec`` with ``metadata``'s keys added where it has none of its own."""
    rec.update({k: v for k, v in (metadata or {}).items() if k not in rec})
    return rec


def decide(rec: dict, threshold) -> dict:
    """The one threshold rule: ``decision = score >= threshold`` (``threshold=None``: no decision)."""
    if threshold is not None:
        rec["threshold"] = threshold
        rec["decision"] = bool(rec["score"] >= threshold)
    return rec


def best_chunk(records: list) -> list:
    """A file's chunk records reduced to one: the highest score, spanning the whole file.

    The kept record gains ``n_chunks`` and ``best_start`` / ``best_end`` (the
    winning chunk), and its ``start`` / ``end`` become the first chunk's start
    and the last chunk's end. One record, or records without times, are returned unchanged.
    """
    if len(records) < 2 or "start" not in records[0]:
        return records
    return [chunk_summary(max(records, key=lambda r: r["score"]), records[0], records[-1], len(records))]


def chunk_summary(top: dict, first: dict, last: dict, n: int) -> dict:
    """The one record of a file scored in ``n`` chunks: ``top`` (its best chunk) spanning ``first`` to ``last``.

    Used by :func:`best_chunk` and by the block-by-block scoring of long files
    (:class:`lfkit.scoring_stream.BestChunk`), which holds only these three chunks.
    """
    rec = dict(top)
    rec["n_chunks"] = n
    rec["start"], rec["end"] = first["start"], last["end"]
    rec["best_start"], rec["best_end"] = top["start"], top["end"]
    return rec


def best_per_path(records) -> list:
    """One record per ``path``: its highest score (detection anywhere in the file), in first-seen order."""
    best = {}
    for r in records:
        k = r["path"]
        if k not in best or r["score"] > best[k]["score"]:
            best[k] = r
    return list(best.values())


def record_path(clip) -> str:
    """The ``path`` a record carries: absolute, so ``eval`` joins it from any folder (``-``: standard input)."""
    return io.STDIO if clip["_file"] == io.STDIO else os.path.abspath(clip["_file"])


def error_record(clip, name: str, message: str) -> dict:
    """The record of an input that could not be scored: ``path``, ``model``, ``error``."""
    return {"path": record_path(clip), "model": name, "error": message}


def finite_records(recs, path) -> list:
    """``recs`` unchanged, or a DataError naming ``path`` when a score or probability is not finite."""
    for r in recs:
        for k in ("score", "probability"):
            if k in r and not np.isfinite(r[k]):
                raise DataError(f"{path}: the model's {k} is {r[k]} (sample values too large for the front end?)")
    return recs


def check_compatible(scorers) -> None:
    """Refuse to average models whose scores mean different things (regime, or probability vs. raw score)."""
    if len(scorers) < 2:
        return
    if len({score_scale(s) for s in scorers}) > 1:
        desc = ", ".join(f"{s.name} ({s.regime}: {score_scale(s)})" for s in scorers)
        raise ParameterError(f"models: cannot average scores of different regimes or scales: {desc}; "
                             "score them separately")


def score_scale(scorer) -> str:
    """What a scorer's ``score`` measures: models average only when this is the same."""
    if scorer.regime in ("binary", "baseline"):
        return "probability"
    if scorer.regime == "knowntone":
        return "dB line margin"
    detector = getattr(scorer, "detector", None)
    return f"{type(detector).__name__} decision value" if detector is not None else f"{scorer.regime} score"
