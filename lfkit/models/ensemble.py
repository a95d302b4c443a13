"""Several trained copies of one architecture (other seeds), scored as one: ``train-binary --ensemble K``.

A model file stores the first member as its ``state_dict`` (so a reader
that knows nothing of ensembles still finds a whole network) and the other
members' weights in ``extra["ensemble"]``; :func:`lfkit.modelfile.build_network`
wraps them in :class:`Ensemble`.
"""

from __future__ import annotations

import torch
from torch import nn

from lfkit.errors import ParameterError

__all__ = ["Ensemble", "ensemble_logits"]


def ensemble_logits(logits: torch.Tensor) -> torch.Tensor:
    """Members' binary logits ``(K, batch, 1)`` -> the logit of their mean probability ``(batch, 1)``.

    The scorer's sigmoid of the result is then the members' mean sigmoid:
    scores are averaged as probabilities.
    """
    p = torch.sigmoid(logits.double()).mean(dim=0).clamp(1e-12, 1 - 1e-12)
    return torch.log(p / (1 - p)).to(logits.dtype)


class Ensemble(nn.Module):
    """``K`` networks of one architecture; ``forward`` averages their probabilities (binary heads).

    Parameters
    ----------
    members : list of LfModel
        Trained networks with one logit each (``n_outputs == 1``).

    Attributes
    ----------
    embedding_dim : int
        ``K`` times a member's: :meth:`embed` concatenates the members'
        embeddings (each network has its own embedding space).
    """

    def __init__(self, members):
        super().__init__()
        members = list(members)
        if not members or any(getattr(m, "n_outputs", None) != 1 for m in members):
            raise ParameterError("ensemble members must be binary networks (n_outputs=1), at least one")
        self.members = nn.ModuleList(members)
        self.n_outputs = 1
        self.input_kind = members[0].input_kind
        self.embedding_dim = sum(m.embedding_dim for m in members)
        for attr in ("arch", "arch_kwargs"):
            if hasattr(members[0], attr):
                setattr(self, attr, getattr(members[0], attr))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logit of the members' mean probability, shape ``(batch, 1)``."""
        return ensemble_logits(torch.stack([m(x) for m in self.members]))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The members' embeddings side by side, shape ``(batch, embedding_dim)``."""
        return torch.cat([m.embed(x) for m in self.members], dim=1)
