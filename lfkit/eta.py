"""Estimated time remaining of a training loop, added to each epoch record for the progress line."""

from __future__ import annotations

__all__ = ["with_eta", "format_eta"]


def with_eta(hooks: dict | None, epochs: int) -> dict:
    """``hooks`` whose ``on_epoch`` first adds ``eta_s`` to the record.

    ``eta_s`` is the mean time of the epochs so far times the epochs left
    (an upper bound when early stopping ends training sooner).

    Parameters
    ----------
    hooks : dict or None
        ``{"on_epoch": callable(record)}``; records carry ``epoch`` and ``seconds``.
    epochs : int
        Most epochs the loop runs.
    """
    hooks = dict(hooks or {})
    inner = hooks.get("on_epoch")
    spent = []

    def on_epoch(rec: dict) -> None:
        spent.append(float(rec.get("seconds", 0.0)))
        rec["eta_s"] = round(sum(spent) / len(spent) * max(0, int(epochs) - int(rec["epoch"])), 1)
        if inner:
            inner(rec)

    hooks["on_epoch"] = on_epoch
    return hooks


def format_eta(seconds: float) -> str:
    """``83.2`` -> ``"1:23"``; ``3725`` -> ``"1:02:05"``."""
    s = int(round(max(0.0, float(seconds))))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
