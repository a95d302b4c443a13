"""Deep 2-D baselines on spectrograms: VGG-16, ResNet-18 and an Inception network.

They are the "standard deep architectures" the paper compares Spec-CNN with,
narrowed for single-channel spectrograms of a few thousand pixels. Input shape
``(batch, 1, n_freq, n_frames)`` of any size (``n_freq >= 8``,
``n_frames >= 4``).

Normalisation is GroupNorm by default: it normalises each clip on its own,
so it depends neither on the batch size nor on the mix of SNRs in a batch.
(BatchNorm, ``norm="batch"``, keeps running statistics of the mixed-SNR
training set and applies them to a test set of one SNR: on 160 training
clips, 5 epochs, 3 seeds, VGG-16 reached AUC 0.59-0.80 at -10 dB with it,
1.00 with GroupNorm.) In VGG-16, ResNet-18 and AlexNet the convolutions and
linear layers start from Kaiming (He) initialisation for ReLU
(:func:`kaiming_init`): with torch's default the signal shrinks through
VGG-16's 13 convolutions, and VGG-16 and AlexNet stayed near chance in the
paper example. Inception keeps torch's default, which did better for it.
Both were chosen on a development set (``examples/paper/README.md``), 3
seeds, AUC at -10 / -25 dB: ResNet 1.00 / 0.98 with Kaiming, 0.95 / 0.91
without; Inception 0.94 / 0.69 with, 0.99 / 0.90 without. Loading a model
file replaces the initial weights, so model files written before keep their
behaviour.
"""

from __future__ import annotations

import torch
from torch import nn

from lfkit.errors import ParameterError, check_positive_int
from lfkit.models.base import NORM_KINDS, LfModel, check_choice_arg, check_fraction, check_int_list, make_norm

__all__ = ["VGG16", "ResNet18", "Inception", "BasicBlock", "InceptionBlock", "kaiming_init"]


def kaiming_init(net: nn.Module) -> nn.Module:
    """Kaiming-normal weights (fan-out, ReLU) and zero biases for every convolution and linear layer.

    Normalisation layers start at weight 1 and bias 0. Returns ``net``.
    """
    for m in net.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out" if not isinstance(m, nn.Linear) else "fan_in",
                                    nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return net

#: VGG-16's configuration ("D") with the widths divided by 8; "M" is a max-pool.
VGG16_CONFIG = (8, 8, "M", 16, 16, "M", 32, 32, 32, "M", 64, 64, 64, "M", 64, 64, 64, "M")


class VGG16(LfModel):
    """VGG-16: 13 convolutions 3 x 3 in five pooled stages, then FC -> FC -> head.

    Parameters
    ----------
    width_div : int
        The original widths (64 ... 512) are divided by this; 8 gives 8 ... 64.
    hidden : int
        Width of the first FC layer.
    norm : {"group", "batch", "none"}
        Normalisation after each convolution.
    dropout : float
        Dropout before each FC layer.
    """

    def __init__(
        self,
        n_outputs: int = 1,
        embedding_dim: int = 128,
        width_div: int = 8,
        hidden: int = 256,
        norm: str = "group",
        dropout: float = 0.0,
        input_norm: bool = True,
    ):
        super().__init__(n_outputs, embedding_dim, input_norm)
        width_div = check_positive_int("width_div", width_div)
        hidden = check_positive_int("hidden", hidden)
        norm = check_choice_arg("norm", norm, NORM_KINDS)
        dropout = check_fraction("dropout", dropout)
        layers, cin = [], 1
        for item in VGG16_CONFIG:
            if item == "M":
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
            else:
                cout = max(1, item * 8 // width_div)
                layers += [nn.Conv2d(cin, cout, 3, padding=1), make_norm(norm, cout), nn.ReLU(inplace=True)]
                cin = cout
        layers.append(nn.AdaptiveAvgPool2d((2, 2)))
        self.features = nn.Sequential(*layers)
        self.fc = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(cin * 4, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, embedding_dim),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(embedding_dim, n_outputs)
        kaiming_init(self)
        self.head.reset_parameters()  # the logit head keeps torch's small default

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Return the second FC layer's activations, shape ``(batch, embedding_dim)``."""
        return self.fc(self.features(self.prepare(x)).flatten(1))


class BasicBlock(nn.Module):
    """ResNet's basic block: two 3 x 3 convolutions and a (projected) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int, norm: str):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.norm1 = make_norm(norm, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.norm2 = make_norm(norm, cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), make_norm(norm, cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.norm1(self.conv1(x)))
        y = self.norm2(self.conv2(y))
        return torch.relu(y + self.shortcut(x))


class ResNet18(LfModel):
    """ResNet-18: a 7 x 7 stride-2 stem, max-pool, BasicBlock x [2, 2, 2, 2], global pool, FC.

    Parameters
    ----------
    widths : list of 4 int
        Widths of the four stages (the original's 64 ... 512 divided by 4).
    norm : {"group", "batch", "none"}
        Normalisation inside the blocks.
    """

    def __init__(
        self,
        n_outputs: int = 1,
        embedding_dim: int = 128,
        widths=(16, 32, 64, 128),
        norm: str = "group",
        input_norm: bool = True,
    ):
        super().__init__(n_outputs, embedding_dim, input_norm)
        widths = check_int_list("widths", widths, 4)
        norm = check_choice_arg("norm", norm, NORM_KINDS)
        self.stem = nn.Sequential(
            nn.Conv2d(1, widths[0], 7, stride=2, padding=3, bias=False),
            make_norm(norm, widths[0]),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        blocks, cin = [], widths[0]
        for i, cout in enumerate(widths):
            stride = 1 if i == 0 else 2
            blocks += [BasicBlock(cin, cout, stride, norm), BasicBlock(cout, cout, 1, norm)]
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(cin, embedding_dim), nn.ReLU(inplace=True))
        self.head = nn.Linear(embedding_dim, n_outputs)
        kaiming_init(self)
        self.head.reset_parameters()  # the logit head keeps torch's small default

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Return the FC layer after the global pool, shape ``(batch, embedding_dim)``."""
        z = self.blocks(self.stem(self.prepare(x)))
        return self.fc(self.pool(z).flatten(1))


class InceptionBlock(nn.Module):
    """GoogLeNet's inception block: 1x1, 1x1->3x3, 1x1->5x5 and pool->1x1 branches, concatenated."""

    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, cp: int, norm: str):
        super().__init__()

        def conv(a, b, k):
            return [nn.Conv2d(a, b, k, padding=k // 2), make_norm(norm, b), nn.ReLU(inplace=True)]

        self.b1 = nn.Sequential(*conv(cin, c1, 1))
        self.b3 = nn.Sequential(*conv(cin, c3r, 1), *conv(c3r, c3, 3))
        self.b5 = nn.Sequential(*conv(cin, c5r, 1), *conv(c5r, c5, 5))
        self.bp = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), *conv(cin, cp, 1))
        self.out_channels = c1 + c3 + c5 + cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], dim=1)


#: Branch widths (c1, c3 reduce, c3, c5 reduce, c5, pool projection) of each block.
INCEPTION_BLOCKS = ((8, 8, 16, 4, 8, 8), (16, 16, 24, 4, 12, 12), (24, 16, 32, 8, 16, 16))


class Inception(LfModel):
    """A small GoogLeNet: a 3 x 3 stem, three inception blocks with max-pools, global pool, FC.

    Parameters
    ----------
    n_blocks : int
        How many inception blocks (1 to 3); a 2 x 2 max-pool follows each
        block but the last.
    stem_channels : int
        Width of the stem convolution.
    norm : {"group", "batch", "none"}
        Normalisation after each convolution.
    """

    def __init__(
        self,
        n_outputs: int = 1,
        embedding_dim: int = 128,
        n_blocks: int = 3,
        stem_channels: int = 16,
        norm: str = "group",
        input_norm: bool = True,
    ):
        super().__init__(n_outputs, embedding_dim, input_norm)
        if not isinstance(n_blocks, int) or isinstance(n_blocks, bool) or n_blocks not in (1, 2, 3):
            raise ParameterError(f"n_blocks={n_blocks!r} must be 1, 2 or 3")
        stem_channels = check_positive_int("stem_channels", stem_channels)
        norm = check_choice_arg("norm", norm, NORM_KINDS)
        layers = [
            nn.Conv2d(1, stem_channels, 3, padding=1),
            make_norm(norm, stem_channels),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, ceil_mode=True),
        ]
        cin = stem_channels
        for i, widths in enumerate(INCEPTION_BLOCKS[:n_blocks]):
            block = InceptionBlock(cin, *widths, norm=norm)
            layers.append(block)
            cin = block.out_channels
            if i < n_blocks - 1:
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
        layers.append(nn.AdaptiveAvgPool2d(1))
        self.features = nn.Sequential(*layers)
        self.fc = nn.Sequential(nn.Linear(cin, embedding_dim), nn.ReLU(inplace=True))
        self.head = nn.Linear(embedding_dim, n_outputs)
        # torch's default initialisation: Kaiming cost Inception AUC 0.90 -> 0.69 at -25 dB (development set)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Return the FC layer after the global pool, shape ``(batch, embedding_dim)``."""
        return self.fc(self.features(self.prepare(x)).flatten(1))
