"""What a score record is: its path, the record of an input that failed, and which scores may be averaged.

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

__all__ = ["record_path", "error_record", "finite_records", "check_compatible", "score_scale"]


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
