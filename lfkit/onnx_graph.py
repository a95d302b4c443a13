"""The torch modules :mod:`lfkit.export` traces to ONNX: front end, network, head.

Imported only by the exporter (it imports torch at the top).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch
from torch import nn

from lfkit.features import LOGMEL_TOP_DB
from lfkit.inference.heads import PROBE_ARRAYS, PROBE_GAINS
from lfkit.mel import STD_FLOOR

_AMIN = 1e-10


class FrontEnd(nn.Module):
    """:func:`lfkit.features.spectrogram_batch` as tensor operations, for one clip length.

    ``forward(y)``: y float32 (N, n_samples) -> (N, F, T) float32.
    """

    def __init__(self, fe, sr: float, n_samples: int):
        super().__init__()

        m = frontend_matrices(fe, sr)
        self.kind, self.norm = fe.kind, fe.norm
        n_frames = 1 + (int(n_samples) - fe.n_fft) // fe.hop_length
        idx = np.arange(n_frames)[:, None] * fe.hop_length + np.arange(fe.n_fft)[None, :]
        self.register_buffer("idx", torch.from_numpy(idx.astype(np.int64)))
        self.register_buffer("cos", torch.from_numpy(m["cos"]))
        self.register_buffer("sin", torch.from_numpy(m["sin"]))
        # None where the kind has no such stage (register_buffer keeps a None and leaves it out of the graph)
        self.register_buffer("mel", None if m["mel"] is None else torch.from_numpy(m["mel"].T.copy()))
        self.register_buffer("dct", None if m["dct"] is None else torch.from_numpy(m["dct"]))

    @staticmethod
    def _db(S, top_db):
        out = 10.0 * torch.log10(torch.clamp(S, min=_AMIN))  # ref = 1: no offset
        if top_db is not None:
            floor = torch.amax(out, dim=(1, 2), keepdim=True) - top_db
            out = torch.maximum(out, floor)
        return out

    def forward(self, y):
        frames = y[:, self.idx].double()  # (N, T, n_fft)
        re, im = frames @ self.cos, frames @ self.sin
        S = (re * re + im * im).float()  # power, (N, T, bins), rounded to float32 as lfkit does
        if self.kind == "log":
            S = self._db(S, None)
        elif self.mel is not None:
            S = S @ self.mel
            if self.kind in ("logmel", "mfcc"):
                S = self._db(S, LOGMEL_TOP_DB)
            if self.dct is not None:
                S = S @ self.dct
        if self.norm == "standard":
            mean = S.mean(dim=(1, 2), keepdim=True)
            std = torch.sqrt(((S - mean) ** 2).mean(dim=(1, 2), keepdim=True))
            S = (S - mean) / torch.clamp(std, min=STD_FLOOR)
        return S.transpose(1, 2)


class GraphModel(nn.Module):
    """Front end (optional), network and the regime's head; ``output_names`` in ``forward``'s order."""

    def __init__(self, doc: dict, net, frontend_in_graph: bool):
        super().__init__()
        info = doc["input"]
        self.waveform = info.get("kind", "spectrogram") == "waveform"
        self.front = None
        if frontend_in_graph and not self.waveform:
            self.front = FrontEnd(doc["frontend"], float(info["sr"]), int(info["n_samples"]))
        self.net = net
        self.regime = doc["regime"]
        extra = doc.get("extra") or {}
        if self.regime == "binary":
            self.output_names = ["score", "logit"]
            probe = extra.get("probe")  # lfkit.fusion: the network fused with a linear probe
            self.probe = None if probe is None else {
                **{k: torch.as_tensor(np.asarray(probe[k], dtype=np.float64)) for k in PROBE_ARRAYS},
                **{k: float(probe[k]) for k in PROBE_GAINS}}
        elif self.regime == "oneclass":
            self.head = DetectorHead(extra["detector"])
            self.joint = None if extra.get("joint") is None else JointHead(extra["joint"])
            calibrated = self.head.calibrated and self.joint is None  # lfkit reports no probability of a joint score
            self.output_names = ["score", "embedding"] + (["probability"] if calibrated else [])
        else:
            self.output_names = ["embedding"]
            self.normalize = bool(extra.get("normalize", True))
            w = extra.get("joint_weight")
            self.joint_weight = None if w is None else float(w)
            if self.joint_weight is not None:
                self.normalize = False

    def forward(self, x):
        if self.front is not None:
            x = self.front(x)
        S = x  # (N, F, T): what the joint models' classical half reads
        x = x.unsqueeze(1)  # (N, 1, F, T) or (N, 1, n_samples), as lfkit's scorers feed the networks
        if self.regime == "binary":
            logit = self.net(x)[:, 0]
            if self.probe is not None:  # lfkit.inference.heads.fused_logit, in float64
                p = self.probe
                z = ((S.double().mean(dim=-1) - p["mean"]) / p["scale"]) @ p["coef"] + p["intercept"]
                logit = p["cnn_gain"] * logit.double() + p["probe_gain"] * z
            return torch.sigmoid(logit.double()).float(), logit.float()
        E = self.net.embed(x).float()
        if self.regime == "oneclass":
            s = self.head(E)
            if self.joint is not None:
                return self.joint(S, s), E
            return (s, E, self.head.probability(s)) if self.head.calibrated else (s, E)
        if self.joint_weight is not None:  # lfkit.joint.join_embeddings
            w = self.joint_weight
            E1 = E.double()
            E1 = E1 / torch.clamp(torch.linalg.vector_norm(E1, dim=-1, keepdim=True), min=1e-12)
            F = whitened_mean_spectrum(S)
            E2 = (F / torch.clamp(torch.linalg.vector_norm(F, dim=-1, keepdim=True), min=1e-12)).float().double()
            return torch.cat([math.sqrt(w) * E1, math.sqrt(1.0 - w) * E2], dim=1).float()
        if self.normalize:
            E = E / torch.clamp(torch.linalg.vector_norm(E, dim=-1, keepdim=True), min=1e-12)
        return E


class DetectorHead(nn.Module):
    """A fitted ocsvm or gmm detector's ``score_samples`` in float64: embedding (N, D) -> score (N,)."""

    def __init__(self, state: dict):
        super().__init__()
        from lfkit.detectors import Detector

        det = Detector.from_state(state)
        self.name = det.name
        self.calibrated = hasattr(det, "X_thresholds_")
        if self.calibrated:  # gmm: np.interp(score, X_thresholds_, y_thresholds_) as a sum of clamped ramps
            x, y = np.asarray(det.X_thresholds_, np.float64), np.asarray(det.y_thresholds_, np.float64)
            self.y0 = float(y[0])
            self.register_buffer("xa", torch.from_numpy(x[:-1].copy()))
            self.register_buffer("xb", torch.from_numpy(x[1:].copy()))
            self.register_buffer("dy", torch.from_numpy(np.diff(y)))
        t = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float64).copy())  # noqa: E731
        self.register_buffer("mean", t(det.mean_))
        self.register_buffer("scale", t(det.scale_))
        if self.name == "ocsvm":
            self.register_buffer("sv", t(det.support_vectors_))
            self.register_buffer("dual", t(det.dual_coef_))
            self.gamma, self.intercept = float(det.gamma_), float(det.intercept_)
        else:
            d = det.n_features_in_
            prec, mu = det.precisions_, det.means_
            self.spherical = prec.ndim == 1
            self.register_buffer("mu", t(mu))
            self.register_buffer("prec", t(prec))
            if self.spherical:
                log_det = 0.5 * d * np.log(prec)
                self.register_buffer("mu2", t((mu ** 2).sum(1)))
            else:
                log_det = 0.5 * np.log(prec).sum(-1)
                self.register_buffer("muprec", t(mu * prec))
                self.register_buffer("mu2", t((mu ** 2 * prec).sum(1)))
            self.register_buffer("const", t(-0.5 * d * np.log(2 * np.pi) + log_det + np.log(det.weights_)))

    def probability(self, s):
        """``np.interp(s, X_thresholds_, y_thresholds_)``: ``y0 + sum_i dy_i * ramp_i(s)``, (N,) -> (N,).

        ``ramp_i`` rises from 0 at ``xa_i`` to 1 at ``xb_i``; a zero-width segment is a step at
        ``xa_i`` (numpy takes the right-most equal threshold).
        """
        s = s[:, None]
        width = self.xb - self.xa
        ramp = (torch.minimum(torch.maximum(s, self.xa), self.xb) - self.xa) / torch.clamp(width, min=1e-300)
        ramp = torch.where(width > 0, ramp, (s >= self.xa).double())
        return self.y0 + (ramp * self.dy).sum(1)

    def forward(self, E):
        Z = (E.double() - self.mean) / self.scale
        z2 = (Z * Z).sum(1, keepdim=True)
        if self.name == "ocsvm":
            d2 = z2 + (self.sv * self.sv).sum(1)[None, :] - 2.0 * Z @ self.sv.T
            K = torch.exp(-self.gamma * torch.clamp(d2, min=0.0))
            return K @ self.dual + self.intercept
        if self.spherical:
            maha = (z2 - 2.0 * Z @ self.mu.T + self.mu2[None, :]) * self.prec[None, :]
        else:
            maha = (Z * Z) @ self.prec.T - 2.0 * Z @ self.muprec.T + self.mu2[None, :]
        a = -0.5 * maha + self.const[None, :]
        m = torch.amax(a, dim=1, keepdim=True)
        return m[:, 0] + torch.log(torch.exp(a - m).sum(1))


def whitened_mean_spectrum(S):
    """:func:`lfkit.joint.whitened_mean_spectrum` in float64: (N, F, T) -> (N, F)."""
    from lfkit.joint import FLOOR_BINS, POWER_DB

    X = S.double()
    mean = X.mean(dim=(1, 2), keepdim=True)
    std = torch.sqrt(((X - mean) ** 2).mean(dim=(1, 2), keepdim=True))
    X = (X - mean) / torch.clamp(std, min=1e-8)
    m = 10.0 * torch.log10(torch.pow(10.0, torch.clamp(X, max=30.0) * (POWER_DB / 10.0)).mean(dim=2))
    n = int(m.shape[1])
    size = max(1, min(FLOOR_BINS, n - (1 - n % 2)))  # odd
    half = size // 2
    # scipy.ndimage.median_filter(mode="nearest"): edges repeated, then the middle of each window of `size`
    idx = np.clip(np.arange(n)[:, None] + np.arange(-half, half + 1)[None, :], 0, n - 1)
    windows = m[:, torch.from_numpy(idx)]  # (N, F, size)
    med = torch.topk(windows, half + 1, dim=-1).values[..., -1]
    return m - med


class JointHead(nn.Module):
    """:class:`lfkit.joint.JointOneClass`: ``(1 - w) * classical + w * learned``, scaled; (N, F, T), (N,) -> (N,)."""

    def __init__(self, state: dict):
        super().__init__()
        from lfkit.joint import JointOneClass

        j = JointOneClass.from_state(state)
        self.w = j.weight
        self.cc, self.sc, self.cl, self.sl = j.scales
        self.register_buffer("pca_mean", torch.from_numpy(np.asarray(j.classical.mean_, np.float64).copy()))
        self.register_buffer("components", torch.from_numpy(np.asarray(j.classical.components_, np.float64).copy()))
        self.has_pca = len(j.classical.components_) > 0
        self.detector = DetectorHead(j.detector.to_state())

    def forward(self, S, learned):
        F = whitened_mean_spectrum(S)
        if self.has_pca:
            D = F - self.pca_mean
            C = D @ self.components.T
            r = torch.linalg.vector_norm(D - C @ self.components, dim=1)
            F = torch.cat([C, torch.log(r + 1e-6)[:, None]], dim=1)
        s_c = (self.detector(F) - self.cc) / self.sc
        s_l = (learned - self.cl) / self.sl
        return (1.0 - self.w) * s_c + self.w * s_l


def _bounds(L: int, O: int):
    """PyTorch's adaptive pooling windows: [floor(i L / O), ceil((i + 1) L / O)) for i < O."""
    return [((i * L) // O, -(-((i + 1) * L) // O)) for i in range(O)]


def _pool_axis(x, axis: int, O: int, reduce):
    L = int(x.shape[axis])
    if O is None or O == L:
        return x
    parts = [reduce(x.narrow(axis, a, b - a), axis) for a, b in _bounds(L, O)]
    return torch.stack(parts, dim=axis)


def _as_pair(size, n):
    return tuple(size) if isinstance(size, (tuple, list)) else (size,) * n


def _avg(x, axis):
    return x.mean(dim=axis)


def _max(x, axis):
    return x.amax(dim=axis)


def _floordiv(g, a, b):
    """``a // b`` rounding down (the exporter's own symbolic truncates towards zero: ``-(-93 // 2)`` gave 46)."""
    kind = a.type().scalarType() if a.type().scalarType() is not None else "Long"
    q = g.op("Floor", g.op("Div", g.op("Cast", a, to_i=11), g.op("Cast", b, to_i=11)))  # in float64
    return g.op("Cast", q, to_i=7 if kind in ("Long", "Int") else 1)  # int64, else float32


@contextlib.contextmanager
def export_patches():
    """What the trace needs: adaptive pools as slices and shape arithmetic that floors."""
    names = ("aten::floordiv", "aten::floor_divide")
    for name in names:
        torch.onnx.register_custom_op_symbolic(name, _floordiv, 9)
    try:
        with patched_adaptive_pools():
            yield
    finally:
        for name in names:
            torch.onnx.unregister_custom_op_symbolic(name, 9)


@contextlib.contextmanager
def patched_adaptive_pools():
    """Adaptive pools as slices for the trace (the TorchScript exporter refuses uneven windows).

    The traced shapes are fixed (the training clip), so each window is a
    constant slice; results equal PyTorch's adaptive pooling.
    """
    F = torch.nn.functional
    saved = {k: getattr(F, k) for k in ("adaptive_avg_pool1d", "adaptive_avg_pool2d",
                                         "adaptive_max_pool1d", "adaptive_max_pool2d")}

    def avg1(x, size):
        return _pool_axis(x, -1, _as_pair(size, 1)[0], _avg)

    def avg2(x, size):
        h, w = _as_pair(size, 2)
        return _pool_axis(_pool_axis(x, -2, h, _avg), -1, w, _avg)

    def max1(x, size, return_indices=False):
        if return_indices:
            return saved["adaptive_max_pool1d"](x, size, return_indices)
        return _pool_axis(x, -1, _as_pair(size, 1)[0], _max)

    def max2(x, size, return_indices=False):
        if return_indices:
            return saved["adaptive_max_pool2d"](x, size, return_indices)
        h, w = _as_pair(size, 2)
        # max over a window is separable: rows first, then columns, gives the same windows' maxima
        return _pool_axis(_pool_axis(x, -2, h, _max), -1, w, _max)

    F.adaptive_avg_pool1d, F.adaptive_avg_pool2d = avg1, avg2
    F.adaptive_max_pool1d, F.adaptive_max_pool2d = max1, max2
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(F, k, v)


def frontend_matrices(fe, sr: float):
    """The in-graph front end's constants, from lfkit's own definitions.

    Returns
    -------
    dict
        ``cos``, ``sin`` : float64 (n_fft, n_bins), Hann-windowed DFT columns
        of the FFT bins ``lo:hi`` used; ``mel`` : float32 (n_mels, n_bins) or
        None; ``dct`` : float32 (n_mels, n_mfcc) or None.
    """
    from lfkit import features
    from lfkit.cepstrum import dct_matrix
    from lfkit.mel import hann_window, mel_filterbank

    kern = features.frontend_kernels(fe, sr)
    n_fft = fe.n_fft
    lo, hi = kern.lo, kern.hi
    mel = dct = None
    if fe.kind in ("mel", "logmel", "mfcc"):
        fmax = sr / 2.0 if fe.fmax is None else float(fe.fmax)
        fb = mel_filterbank(sr, n_fft, fe.n_mels, float(fe.fmin), fmax).astype(np.float32)
        mel = np.ascontiguousarray(fb[:, lo:hi])
        if fe.kind == "mfcc":
            dct = np.ascontiguousarray(dct_matrix(fe.n_mfcc, fe.n_mels).T.astype(np.float32))
    n = np.arange(n_fft)[:, None]
    k = np.arange(lo, hi)[None, :]
    angle = 2.0 * np.pi * ((n * k) % n_fft) / n_fft  # exact reduction of the phase before the cosine
    w = hann_window(n_fft)[:, None]
    return {"cos": w * np.cos(angle), "sin": -w * np.sin(angle), "mel": mel, "dct": dct}
