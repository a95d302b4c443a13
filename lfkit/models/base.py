"""Shared pieces of lfkit's networks: the model contract and argument checks."""

from __future__ import annotations

import torch
from torch import nn

from lfkit.errors import ParameterError, check_positive_int

__all__ = [
    "LfModel",
    "check_int_list",
    "check_choice_arg",
    "check_fraction",
    "make_norm",
    "max_pool_freq",
]


def check_int_list(name: str, value, length: int | None = None) -> list:
    """Return ``value`` (a list or tuple of positive ints) as a list of ints."""
    ok = isinstance(value, (list, tuple)) and len(value) > 0 and all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
    )
    if not ok or (length is not None and len(value) != length):
        want = f"a list of {length} positive integers" if length else "a non-empty list of positive integers"
        raise ParameterError(f"{name}={value!r} must be {want}")
    return [int(v) for v in value]


def check_choice_arg(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``; else raise naming them."""
    if value not in choices:
        raise ParameterError(f"{name}={value!r} is not known; choose one of: {', '.join(choices)}")
    return value


def check_fraction(name: str, value) -> float:
    """Return ``value`` as a float in ``[0, 1)``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ParameterError(f"{name}={value!r} must be a number in [0, 1)")
    return float(value)


def make_norm(kind: str, channels: int, dims: int = 2) -> nn.Module:
    """Return a normalisation layer: ``"group"`` (GroupNorm), ``"batch"`` or ``"none"``.

    GroupNorm is the default of the deeper networks because it does not
    depend on the batch size, which can be small here.
    """
    if kind == "group":
        groups = next(g for g in (8, 4, 2, 1) if channels % g == 0)
        return nn.GroupNorm(groups, channels)
    if kind == "batch":
        return nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm1d(channels)
    return nn.Identity()


NORM_KINDS = ("group", "batch", "none")


def max_pool_freq(z: torch.Tensor, k: int) -> torch.Tensor:
    """Take the max of ``z`` (batch, channels, n_freq, n_frames) over runs of ``k`` bins.

    Returns shape ``(batch, channels, ceil(n_freq / k), n_frames)``, like
    ``MaxPool2d((k, 1), ceil_mode=True)`` but faster on CPU.
    """
    n = z.shape[-2]
    m = -(-n // k)
    if m * k != n:
        z = nn.functional.pad(z, (0, 0, 0, m * k - n), value=float("-inf"))
    return z.reshape(*z.shape[:-2], m, k, z.shape[-1]).amax(dim=-2)


class LfModel(nn.Module):
    """Base class of lfkit's networks.

    Subclasses build their layers, set ``self.head = nn.Linear(embedding_dim,
    n_outputs)`` last, and implement :meth:`embed`.

    Parameters
    ----------
    n_outputs : int
        Width of the logit head.
    embedding_dim : int
        Width of the embedding (penultimate layer).
    input_norm : bool
        Standardise each clip (zero mean, unit variance over all its values)
        before the first layer, which makes the network blind to the overall
        level of its input.
    """

    #: What the network reads: ``"spectrogram"`` (batch, 1, n_freq, n_frames)
    #: or ``"waveform"`` (batch, 1, n_samples).
    input_kind = "spectrogram"

    def __init__(self, n_outputs: int = 1, embedding_dim: int = 64, input_norm: bool = True):
        super().__init__()
        self.n_outputs = check_positive_int("n_outputs", n_outputs)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        if not isinstance(input_norm, bool):
            raise ParameterError(f"input_norm={input_norm!r} must be true or false")
        self.input_norm = input_norm

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Check the input's shape and standardise it if ``input_norm``."""
        ndim = 4 if self.input_kind == "spectrogram" else 3
        if x.ndim != ndim or x.shape[1] != 1:
            want = "(batch, 1, n_freq, n_frames)" if ndim == 4 else "(batch, 1, n_samples)"
            raise ParameterError(f"x.shape={tuple(x.shape)} must be {want}")
        if self.input_norm:
            dims = tuple(range(1, x.ndim))
            mean = x.mean(dim=dims, keepdim=True)
            std = x.std(dim=dims, keepdim=True, unbiased=False)
            x = (x - mean) / (std + 1e-5)
        return x

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Return the embedding (penultimate layer), shape ``(batch, embedding_dim)``."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits, shape ``(batch, n_outputs)``: a linear head on :meth:`embed`."""
        return self.head(self.embed(x))
