"""Recurrent networks on spectrograms: OC-SpecCNN (CNN then LSTM) and Si-SpecCNN (ConvLSTM).

Both read ``(batch, 1, n_freq, n_frames)`` of any size (``n_freq >= 8``,
``n_frames >= 4``) and treat the time axis as the sequence, since a tone's
signature is how its lines persist over time.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from lfkit.errors import ParameterError, check_positive_int
from lfkit.models.base import LfModel, check_choice_arg, max_pool_freq

__all__ = ["ConvLSTMCell", "ConvLSTM", "OCSpecCNN", "SiSpecCNN"]

POOLINGS = ("mean", "last")


def _pair(name: str, value) -> tuple:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if not (isinstance(value, (list, tuple)) and len(value) == 2) or any(
        not isinstance(v, int) or isinstance(v, bool) or v <= 0 or v % 2 == 0 for v in value
    ):
        raise ParameterError(f"{name}={value!r} must be an odd positive integer or a pair of them")
    return tuple(value)


class ConvLSTMCell(nn.Module):
    """One step of a convolutional LSTM (Shi et al. 2015), without peepholes.

    One convolution over ``concat(x_t, h_{t-1})`` gives the input, forget and
    output gates and the candidate; then, with Hadamard products,
    ``c_t = f * c_{t-1} + i * g`` and ``h_t = o * tanh(c_t)``.

    Parameters
    ----------
    in_channels : int
        Channels of ``x_t``.
    hidden_channels : int
        Channels of ``h_t`` and ``c_t``.
    kernel_size : int or (int, int)
        Odd size of the gate convolution; padding keeps the spatial shape.
    """

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size=3):
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.hidden_channels = check_positive_int("hidden_channels", hidden_channels)
        kernel_size = _pair("kernel_size", kernel_size)
        padding = (kernel_size[0] // 2, kernel_size[1] // 2)
        self.conv = nn.Conv2d(in_channels + hidden_channels, 4 * hidden_channels, kernel_size, padding=padding)
        with torch.no_grad():  # forget-gate bias 1: remember by default (Jozefowicz et al. 2015)
            self.conv.bias[hidden_channels : 2 * hidden_channels] += 1.0

    def init_state(self, x: torch.Tensor) -> tuple:
        """Return zero ``(h, c)`` for input ``x`` of shape ``(batch, in_channels, H, W)``."""
        shape = (x.shape[0], self.hidden_channels, x.shape[2], x.shape[3])
        zeros = x.new_zeros(shape)
        return zeros, zeros

    def forward(self, x: torch.Tensor, state: tuple | None = None) -> tuple:
        """Advance one step.

        Parameters
        ----------
        x : torch.Tensor, shape (batch, in_channels, H, W)
        state : (h, c) or None
            The previous state, each ``(batch, hidden_channels, H, W)``; zeros if None.

        Returns
        -------
        (h, c) : the new state, each ``(batch, hidden_channels, H, W)``.
        """
        h, c = self.init_state(x) if state is None else state
        i, f, o, g = torch.chunk(self.conv(torch.cat([x, h], dim=1)), 4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


class ConvLSTM(nn.Module):
    """A stack of :class:`ConvLSTMCell` run over a sequence of images.

    Parameters
    ----------
    in_channels, hidden_channels, kernel_size
        As for :class:`ConvLSTMCell`; layers after the first read
        ``hidden_channels``.
    num_layers : int
        How many stacked cells.
    """

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size=3, num_layers: int = 1):
        super().__init__()
        num_layers = check_positive_int("num_layers", num_layers)
        self.cells = nn.ModuleList(
            ConvLSTMCell(in_channels if k == 0 else hidden_channels, hidden_channels, kernel_size)
            for k in range(num_layers)
        )

    def forward(self, x: torch.Tensor, state: list | None = None) -> tuple:
        """Run over ``x`` of shape ``(batch, steps, in_channels, H, W)``.

        Returns
        -------
        outputs : torch.Tensor, shape (batch, steps, hidden_channels, H, W)
            The last layer's ``h_t`` at every step.
        states : list of (h, c)
            Each layer's final state.
        """
        states = [None] * len(self.cells) if state is None else list(state)
        outputs = []
        for t in range(x.shape[1]):
            inp = x[:, t]
            for k, cell in enumerate(self.cells):
                states[k] = cell(inp, states[k])
                inp = states[k][0]
            outputs.append(inp)
        return torch.stack(outputs, dim=1), states


class OCSpecCNN(LfModel):
    """OC-SpecCNN: a shallow CNN, then an LSTM over time, then an FC embedding.

    Two (conv 3 x 3 -> ReLU -> max-pool 2 x 1) blocks halve the frequency axis
    twice and keep every frame; an adaptive max-pool brings the frequency axis
    to ``freq_bins``; each frame's ``channels * freq_bins`` features are one
    step of a 2-layer LSTM, whose outputs are averaged over time (or the last
    one taken) and fed to FC -> embedding -> head.

    With ``mean_branch`` (the default) a second path integrates over time
    before any nonlinearity: the clip's time-averaged (standardised) spectrum,
    shape ``(batch, n_freq)``, resampled by adaptive average pooling to
    ``4 * freq_bins`` bins, goes through one linear layer (width
    ``hidden_size``) and is concatenated with the LSTM summary before the FC
    embedding. The conv/ReLU/max-pool stack acts per frame and so loses the
    incoherent-integration gain that a stationary tone's averaged spectrum
    keeps; this path restores it. The model is still the paper's CNN-LSTM,
    with an added integration path; ``mean_branch=False`` is the plain one.

    Parameters
    ----------
    channels : int
        Width of the convolutions.
    freq_bins : int
        Frequency bins per frame given to the LSTM.
    hidden_size : int
        LSTM width.
    num_layers : int
        LSTM depth.
    pooling : {"mean", "last"}
        Average the LSTM outputs over time, or take the last step's.
    mean_branch : bool
        Add the time-averaged-spectrum path (linear projection) described above.
    """

    def __init__(
        self,
        n_outputs: int = 1,
        embedding_dim: int = 64,
        channels: int = 16,
        freq_bins: int = 16,
        hidden_size: int = 64,
        num_layers: int = 2,
        pooling: str = "mean",
        input_norm: bool = True,
        mean_branch: bool = True,
    ):
        super().__init__(n_outputs, embedding_dim, input_norm)
        channels = check_positive_int("channels", channels)
        self.freq_bins = check_positive_int("freq_bins", freq_bins)
        hidden_size = check_positive_int("hidden_size", hidden_size)
        num_layers = check_positive_int("num_layers", num_layers)
        self.pooling = check_choice_arg("pooling", pooling, POOLINGS)
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        if not isinstance(mean_branch, bool):
            raise ParameterError(f"mean_branch={mean_branch!r} must be true or false")
        self.mean_bins = 4 * self.freq_bins
        self.lstm = nn.LSTM(channels * freq_bins, hidden_size, num_layers=num_layers, batch_first=True)
        self.mean_proj = nn.Linear(self.mean_bins, hidden_size) if mean_branch else None
        fc_in = hidden_size * (2 if mean_branch else 1)
        self.fc = nn.Sequential(nn.Linear(fc_in, embedding_dim), nn.ReLU(inplace=True))
        self.head = nn.Linear(embedding_dim, n_outputs)

    def mean_features(self, x: torch.Tensor) -> torch.Tensor:
        """The integration path: linear projection of the time-averaged spectrum, ``(batch, hidden_size)``."""
        m = x.mean(dim=-1)  # (B, 1, F): average over time before any nonlinearity
        m = F.adaptive_avg_pool1d(m, self.mean_bins).flatten(1)  # (B, 4 * freq_bins)
        return self.mean_proj(m)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Return the FC layer after the LSTM (and the mean branch), shape ``(batch, embedding_dim)``."""
        x = self.prepare(x)
        z = max_pool_freq(torch.relu(self.conv1(x)), 2)
        z = max_pool_freq(torch.relu(self.conv2(z)), 2)  # (B, C, F/4, T)
        z = F.adaptive_max_pool2d(z, (self.freq_bins, z.shape[-1]))
        seq = z.permute(0, 3, 1, 2).flatten(2)  # (B, T, C * freq_bins)
        out, _ = self.lstm(seq)
        pooled = out.mean(dim=1) if self.pooling == "mean" else out[:, -1]
        if self.mean_proj is not None:
            pooled = torch.cat([pooled, self.mean_features(x)], dim=1)
        return self.fc(pooled)


class SiSpecCNN(LfModel):
    """Si-SpecCNN: a small conv stem, then a ConvLSTM over slices of time, then an FC embedding.

    The stem (conv 3 x 3 -> ReLU -> max-pool 2 x 1) is skipped when
    ``stem_channels`` is 0. The time axis is cut into consecutive slices of
    ``step_frames`` frames (the last one zero-padded); each slice, a
    ``(channels, n_freq', step_frames)`` image, is one ConvLSTM step. The
    last hidden state is max-pooled over frequency to ``freq_bins`` and
    averaged over its frames, and a linear layer gives the embedding,
    L2-normalised when ``normalize`` (as a siamese network compares them).

    Parameters
    ----------
    stem_channels : int
        Width of the stem convolution; 0 for no stem.
    hidden_channels : int
        ConvLSTM width.
    kernel_size : int or list of 2 int
        ConvLSTM gate convolution size (odd).
    num_layers : int
        Stacked ConvLSTM cells.
    step_frames : int
        Frames per ConvLSTM step.
    freq_bins : int
        Frequency bins kept from the last hidden state.
    normalize : bool
        L2-normalise the embedding.
    """

    def __init__(
        self,
        n_outputs: int = 1,
        embedding_dim: int = 64,
        stem_channels: int = 8,
        hidden_channels: int = 16,
        kernel_size=3,
        num_layers: int = 1,
        step_frames: int = 4,
        freq_bins: int = 8,
        normalize: bool = False,
        input_norm: bool = True,
    ):
        super().__init__(n_outputs, embedding_dim, input_norm)
        if not isinstance(stem_channels, int) or isinstance(stem_channels, bool) or stem_channels < 0:
            raise ParameterError(f"stem_channels={stem_channels!r} must be a non-negative integer")
        if not isinstance(normalize, bool):
            raise ParameterError(f"normalize={normalize!r} must be true or false")
        self.step_frames = check_positive_int("step_frames", step_frames)
        self.freq_bins = check_positive_int("freq_bins", freq_bins)
        self.normalize = normalize
        hidden_channels = check_positive_int("hidden_channels", hidden_channels)
        self.stem = nn.Conv2d(1, stem_channels, 3, padding=1) if stem_channels else None
        self.convlstm = ConvLSTM(stem_channels or 1, hidden_channels, kernel_size, num_layers)
        self.fc = nn.Linear(hidden_channels * freq_bins, embedding_dim)
        self.head = nn.Linear(embedding_dim, n_outputs)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Return the embedding, shape ``(batch, embedding_dim)``; unit length if ``normalize``."""
        z = self.prepare(x)
        if self.stem is not None:
            z = max_pool_freq(torch.relu(self.stem(z)), 2)
        b, c, n_freq, n_frames = z.shape
        w = self.step_frames
        steps = -(-n_frames // w)
        z = F.pad(z, (0, steps * w - n_frames))
        seq = z.reshape(b, c, n_freq, steps, w).permute(0, 3, 1, 2, 4)  # (B, steps, C, F', w)
        _, states = self.convlstm(seq)
        h = states[-1][0]  # (B, hidden, F', w)
        h = F.adaptive_max_pool2d(h, (self.freq_bins, w)).mean(dim=3)  # (B, hidden, freq_bins)
        e = self.fc(h.flatten(1))
        return F.normalize(e, dim=1) if self.normalize else e
