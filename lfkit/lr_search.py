"""The learning-rate search every network regime shares (``--lr-search 3e-4,1e-3,3e-3``).

Each candidate rate trains a fresh network from the same seed for a few
epochs on the training split; the one of lowest validation loss (then
highest secondary score, e.g. AUC; a rate whose training diverges ranks last)
becomes the run's learning rate, and every candidate's result is stored in
the model's training information. The test set is never seen.

The regime says how to train once, as a callable (:func:`search_lr`): binary
(:mod:`lfkit.train`, the classifier's validation loss), one-class
(:mod:`lfkit.oneclass`, the surrogate-class classifier's) and siamese
(:mod:`lfkit.siamese_train`, the siamese loss on the validation identities).
Only the standard library, :mod:`lfkit.errors` and :mod:`lfkit.config` here; the callables import torch.
"""

from __future__ import annotations

import math

from lfkit.config import _LR_SEARCH_EXAMPLE, LR_MAX, check_lr_search
from lfkit.errors import DataError, ParameterError

__all__ = ["LR_MAX", "parse_lr_search", "check_lr_search", "search_lr", "chosen_lr", "use_lr_search", "lr_record"]


def parse_lr_search(text) -> tuple:
    """``"3e-4,1e-3,3e-3"`` -> the candidate learning rates (``None`` or ``""``: no search).

    Raises
    ------
    ParameterError
        A part that is not a number, or a rate outside (0, 10]; one line naming ``--lr-search``.
    """
    if text is None or not str(text).strip():
        return ()
    try:
        rates = [float(part) for part in str(text).split(",")]
    except ValueError:
        raise ParameterError(f"lr_search={text!r} must be learning rates separated by commas "
                             f"({_LR_SEARCH_EXAMPLE})") from None
    return check_lr_search(rates)


def search_lr(train_at, rates, notice=None, what: str = "validation loss") -> list[dict]:
    """Train once per candidate rate and rank the candidates; the caller keeps :func:`chosen_lr`.

    Parameters
    ----------
    train_at : callable(float) -> (float, float or None)
        Trains a fresh network, seeded as the final run will be, at the given
        rate for the search's few epochs and returns its validation loss
        (lower is better) and a secondary score (higher is better, e.g. the
        validation AUC; None when there is none). It raises
        :class:`lfkit.errors.DataError` when training diverges.
    rates : sequence of float
        The candidates, in (0, 10].
    notice : callable(str) or None
        Gets one line per candidate.
    what : str
        How the notices name the loss.

    Returns
    -------
    list of dict
        Per candidate, in the order given: ``lr``, ``val_loss``, ``val_score``
        (both None when it diverged: a :class:`DataError` or a loss that is not finite) and ``rank`` (0 is the best; ties keep
        the order given).
    """
    rates = check_lr_search(rates)
    if not rates:
        raise ParameterError("lr_search=() holds no learning rate")
    tried = []
    for rate in rates:
        try:
            val_loss, val_score = train_at(rate)
            val_loss = float(val_loss)
            val_score = None if val_score is None else float(val_score)
            if not math.isfinite(val_loss):
                raise DataError(f"validation loss {val_loss}")
        except DataError:  # diverged
            val_loss, val_score = None, None
        tried.append({"lr": rate, "val_loss": val_loss, "val_score": val_score})
        if notice:
            shown = "diverged" if val_loss is None else f"{val_loss:.4f}"
            notice(f"lr {rate:g}: {what} {shown}")
    order = sorted(range(len(tried)), key=lambda i: (_key(tried[i]), i))
    for rank, i in enumerate(order):
        tried[i]["rank"] = rank
    return tried


def _key(t: dict) -> tuple:
    """Lower is better: the validation loss (a diverged one is infinite), then minus the score."""
    loss, score = t["val_loss"], t["val_score"]
    return (math.inf if loss is None else loss, -(score if score is not None and math.isfinite(score) else 0.0))


def chosen_lr(tried: list[dict]) -> float:
    """The rate ranked first by :func:`search_lr`."""
    return next(t["lr"] for t in tried if t["rank"] == 0)


def use_lr_search(cfg, search, notice=None, on: str = "the validation split") -> tuple:
    """``(cfg, tried)``: with ``cfg.lr_search``, ``search()``'s candidates and ``cfg`` at the rate ranked first.

    Every regime chooses its rate this way (``search`` is its :func:`search_lr` call); without
    ``cfg.lr_search`` nothing runs and ``(cfg, None)`` comes back. ``notice`` gets the chosen rate and
    where it was chosen (``on``).
    """
    if not cfg.lr_search:
        return cfg, None
    tried = search()
    cfg = cfg.replace(lr=chosen_lr(tried))
    if notice:
        notice(f"learning rate {cfg.lr:g} chosen on {on}")
    return cfg, tried


def lr_record(tried: list[dict], secondary: str) -> list[dict]:
    """The search as the model's training information stores it: ``secondary`` names the score (``val_auc``)."""
    return [{"lr": t["lr"], "val_loss": t["val_loss"], secondary: t["val_score"], "rank": t["rank"]} for t in tried]
