"""A 1-D convolutional network on the raw waveform.

The first of the two approaches in the "CNN 1D vs 2D audio classification"
write-up: a cascade of 1-D convolutions over samples, here with a long
strided first convolution that can learn narrowband filters (a learned
filter bank), then pooled convolution blocks and a global pool.
Input shape ``(batch, 1, n_samples)``, ``n_samples >= 4096``.
"""

from __future__ import annotations

import torch
from torch import nn

from lfkit.errors import ParameterError, check_positive_int
from lfkit.models.base import NORM_KINDS, LfModel, check_choice_arg, check_int_list, make_norm

__all__ = ["Wave1D"]


class Wave1D(LfModel):
    """1-D CNN: strided filter-bank conv -> [conv 9 -> norm -> ReLU -> max-pool 4] blocks -> global pool -> FC.

    The global pool concatenates the mean and the max over time, so a tone
    present throughout (mean) and a short one (max) both register.

    Parameters
    ----------
    n_outputs : int
        Width of the logit head.
    embedding_dim : int
        Width of the FC layer, the embedding.
    kernel_size : int
        Length in samples of the first convolution's filters; longer filters
        are narrower in frequency.
    stride : int
        Hop in samples of the first convolution.
    channels : list of int
        Width of the first convolution, then of each block.
    norm : {"group", "batch", "none"}
        Normalisation after each convolution.
    input_norm : bool
        Standardise each clip first.
    """

    input_kind = "waveform"

    def __init__(
        self,
        n_outputs: int = 1,
        embedding_dim: int = 64,
        kernel_size: int = 256,
        stride: int = 16,
        channels=(32, 32, 64, 64),
        norm: str = "group",
        input_norm: bool = True,
    ):
        super().__init__(n_outputs, embedding_dim, input_norm)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        stride = check_positive_int("stride", stride)
        if stride > kernel_size:
            raise ParameterError(f"stride={stride} must not exceed kernel_size={kernel_size}")
        channels = check_int_list("channels", channels)
        norm = check_choice_arg("norm", norm, NORM_KINDS)
        layers = [
            nn.Conv1d(1, channels[0], kernel_size, stride=stride),
            make_norm(norm, channels[0], dims=1),
            nn.ReLU(inplace=True),
            nn.MaxPool1d(4, ceil_mode=True),
        ]
        for cin, cout in zip(channels[:-1], channels[1:]):
            layers += [
                nn.Conv1d(cin, cout, 9, padding=4),
                make_norm(norm, cout, dims=1),
                nn.ReLU(inplace=True),
                nn.MaxPool1d(4, ceil_mode=True),
            ]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Sequential(nn.Linear(2 * channels[-1], embedding_dim), nn.ReLU(inplace=True))
        self.head = nn.Linear(embedding_dim, n_outputs)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Return the FC layer after the global pool, shape ``(batch, embedding_dim)``."""
        x = self.prepare(x)
        if x.shape[-1] < self.kernel_size:
            raise ParameterError(f"n_samples={x.shape[-1]} must be at least kernel_size={self.kernel_size}")
        z = self.features(x)  # (B, C, n_steps)
        return self.fc(torch.cat([z.mean(dim=2), z.amax(dim=2)], dim=1))
