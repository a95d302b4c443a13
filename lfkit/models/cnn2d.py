"""Shallow 2-D convolutional networks on spectrograms: Spec-CNN and the classics.

Input shape ``(batch, 1, n_freq, n_frames)`` of any size (``n_freq >= 8``,
``n_frames >= 4``); adaptive pooling in front of the fully connected layers
makes their width independent of it.
"""

from __future__ import annotations

import torch
from torch import nn

from lfkit.errors import ParameterError, check_positive_int
from lfkit.models.base import (
    NORM_KINDS,
    LfModel,
    check_choice_arg,
    check_fraction,
    check_int_list,
    make_norm,
    max_pool_freq,
)

__all__ = ["SpecCNN", "BasicCNN", "LeNet", "AlexNet"]


class SpecCNN(LfModel):
    """Spec-CNN: a few convolutions shaped for horizontal tonal lines, then three FC layers.

    A tone is a line one frequency bin high that stays put along time, so the
    network integrates along time early and often (strides along time, none
    along frequency) and keeps the frequency axis nearly intact:

    * conv (3 x 8), stride (1, 4) -> ReLU: each output is a linear filter over
      3 bins by 8 frames, a matched filter that averages noise along the line
      before the nonlinearity;
    * conv (3 x 5), stride (1, 2) -> ReLU -> max-pool (2 x 1): the max keeps a
      one-bin line through the halving of the frequency axis;
    * conv (3 x 3) -> ReLU, then the mean over all remaining frames, which
      averages the noise away along the (constant) line;
    * adaptive max-pool of the frequency axis to ``freq_bins`` bins;
    * FC (``hidden``) -> FC (``embedding_dim``, the embedding) -> head.

    With ``mean_branch`` a second path integrates over time before any
    nonlinearity, as OC-SpecCNN's does: the clip's time-averaged
    (standardised) spectrum, shape ``(batch, n_freq)``, resampled by adaptive
    average pooling to ``mean_bins`` bins, goes through one linear layer
    (width ``embedding_dim``) and is concatenated with the convolutional
    features in front of the FC layers. A linear probe on the time-averaged
    spectrum is then a special case of the network. ``mean_branch=False``
    (the class default, so model files written before it load unchanged) is
    the plain Spec-CNN; ``train-binary`` turns it on.

    Parameters
    ----------
    n_outputs : int
        Width of the logit head.
    embedding_dim : int
        Width of the second FC layer, the embedding.
    channels : list of 3 int
        Widths of the three convolutions.
    hidden : int
        Width of the first FC layer.
    freq_bins : int
        Frequency bins kept in front of the FC layers.
    dropout : float
        Dropout before each FC layer, in ``[0, 1)``.
    input_norm : bool
        Standardise each clip first.
    mean_branch : bool
        Add the time-averaged-spectrum path described above.
    mean_bins : int
        Bins the time-averaged spectrum is pooled to (``mean_branch`` only).
    """

    def __init__(
        self,
        n_outputs: int = 1,
        embedding_dim: int = 64,
        channels=(16, 32, 32),
        hidden: int = 128,
        freq_bins: int = 16,
        dropout: float = 0.0,
        input_norm: bool = True,
        mean_branch: bool = False,
        mean_bins: int = 128,
    ):
        super().__init__(n_outputs, embedding_dim, input_norm)
        c1, c2, c3 = check_int_list("channels", channels, 3)
        hidden = check_positive_int("hidden", hidden)
        freq_bins = check_positive_int("freq_bins", freq_bins)
        dropout = check_fraction("dropout", dropout)
        if not isinstance(mean_branch, bool):
            raise ParameterError(f"mean_branch={mean_branch!r} must be true or false")
        self.mean_bins = check_positive_int("mean_bins", mean_bins)
        self.mean_proj = nn.Linear(self.mean_bins, embedding_dim) if mean_branch else None
        fc_in = c3 * freq_bins + (embedding_dim if mean_branch else 0)
        self.conv1 = nn.Conv2d(1, c1, (3, 8), stride=(1, 4), padding=(1, 2))
        self.conv2 = nn.Conv2d(c1, c2, (3, 5), stride=(1, 2), padding=(1, 2))
        self.conv3 = nn.Conv2d(c2, c3, (3, 3), padding=1)
        self.freq_pool = nn.AdaptiveMaxPool1d(freq_bins)
        self.fc = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(fc_in, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, embedding_dim),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(embedding_dim, n_outputs)

    def mean_features(self, x: torch.Tensor) -> torch.Tensor:
        """The integration path: a linear map of the time-averaged spectrum, ``(batch, embedding_dim)``."""
        m = x.mean(dim=-1)  # (B, 1, F): average over time before any nonlinearity
        return self.mean_proj(nn.functional.adaptive_avg_pool1d(m, self.mean_bins).flatten(1))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Return the second FC layer's activations, shape ``(batch, embedding_dim)``."""
        x = self.prepare(x)
        z = torch.relu(self.conv1(x))  # (B, c1, F, ~T/4)
        z = torch.relu(self.conv2(z))  # (B, c2, F, ~T/8)
        z = torch.relu(self.conv3(max_pool_freq(z, 2)))  # (B, c3, F/2, T/8)
        z = self.freq_pool(z.mean(dim=3)).flatten(1)  # mean over time, then (B, c3 * freq_bins)
        if self.mean_proj is not None:
            z = torch.cat([z, self.mean_features(x)], dim=1)
        return self.fc(z)


class BasicCNN(LfModel):
    """A textbook CNN: two (conv 3x3 -> ReLU -> max-pool 2x2) blocks, then one FC layer.

    Parameters
    ----------
    channels : list of 2 int
        Widths of the two convolutions.
    pool_size : list of 2 int
        Adaptive average pool (freq, time) in front of the FC layer.
    """

    def __init__(
        self,
        n_outputs: int = 1,
        embedding_dim: int = 128,
        channels=(16, 32),
        pool_size=(4, 4),
        input_norm: bool = True,
    ):
        super().__init__(n_outputs, embedding_dim, input_norm)
        c1, c2 = check_int_list("channels", channels, 2)
        pf, pt = check_int_list("pool_size", pool_size, 2)
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.AdaptiveAvgPool2d((pf, pt)),
        )
        self.fc = nn.Sequential(nn.Linear(c2 * pf * pt, embedding_dim), nn.ReLU(inplace=True))
        self.head = nn.Linear(embedding_dim, n_outputs)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Return the FC layer's activations, shape ``(batch, embedding_dim)``."""
        return self.fc(self.features(self.prepare(x)).flatten(1))


class LeNet(LfModel):
    """LeNet-5: conv 5x5 (6) -> pool -> conv 5x5 (16) -> pool -> FC 120 -> FC 84 -> head.

    The convolutions are padded and an adaptive pool to 5 x 5 precedes FC 120,
    so any input size works; the embedding is the FC 84 layer
    (``embedding_dim``).
    """

    def __init__(self, n_outputs: int = 1, embedding_dim: int = 84, hidden: int = 120, input_norm: bool = True):
        super().__init__(n_outputs, embedding_dim, input_norm)
        hidden = check_positive_int("hidden", hidden)
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(6, 16, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.AdaptiveAvgPool2d((5, 5)),
        )
        self.fc = nn.Sequential(
            nn.Linear(16 * 5 * 5, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, embedding_dim),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(embedding_dim, n_outputs)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Return the FC 84 layer's activations, shape ``(batch, embedding_dim)``."""
        return self.fc(self.features(self.prepare(x)).flatten(1))


class AlexNet(LfModel):
    """AlexNet, scaled down: five convolutions, three max-pools, then FC -> FC -> head.

    Widths are the original's divided by about 4 and the first convolution is
    5 x 5 with stride 1 (the inputs are far smaller than 224 x 224 images).

    Parameters
    ----------
    channels : list of 5 int
        Widths of the five convolutions.
    hidden : int
        Width of the first FC layer.
    norm : {"group", "batch", "none"}
        Normalisation after each convolution.
    dropout : float
        Dropout before each FC layer.

    Weights start from Kaiming initialisation (:func:`lfkit.models.deep.kaiming_init`).
    """

    def __init__(
        self,
        n_outputs: int = 1,
        embedding_dim: int = 128,
        channels=(16, 48, 96, 64, 64),
        hidden: int = 256,
        norm: str = "group",
        dropout: float = 0.0,
        input_norm: bool = True,
    ):
        super().__init__(n_outputs, embedding_dim, input_norm)
        c = check_int_list("channels", channels, 5)
        hidden = check_positive_int("hidden", hidden)
        norm = check_choice_arg("norm", norm, NORM_KINDS)
        dropout = check_fraction("dropout", dropout)

        def conv(cin, cout, k):
            return [nn.Conv2d(cin, cout, k, padding=k // 2), make_norm(norm, cout), nn.ReLU(inplace=True)]

        pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.features = nn.Sequential(
            *conv(1, c[0], 5), pool,
            *conv(c[0], c[1], 5), nn.MaxPool2d(3, stride=2, padding=1),
            *conv(c[1], c[2], 3),
            *conv(c[2], c[3], 3),
            *conv(c[3], c[4], 3), nn.MaxPool2d(3, stride=2, padding=1),
            nn.AdaptiveAvgPool2d((3, 3)),
        )
        self.fc = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(c[4] * 9, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, embedding_dim),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(embedding_dim, n_outputs)
        from lfkit.models.deep import kaiming_init

        kaiming_init(self)
        self.head.reset_parameters()  # the logit head keeps torch's small default

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Return the second FC layer's activations, shape ``(batch, embedding_dim)``."""
        return self.fc(self.features(self.prepare(x)).flatten(1))
