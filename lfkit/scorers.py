"""Scorers: a loaded model file turned into ``score_batch`` and ``embed_batch``.

Built by regime from a registry (``SCORERS``). Every scorer states lfkit's
one sign: a higher ``score`` means more like the target class.
"""

from __future__ import annotations

import numpy as np

from lfkit.errors import DataError

__all__ = ["SCORERS", "make_scorer", "Scorer"]


class Scorer:
    """Base: a model's view of its input and how it scores a batch.

    Attributes
    ----------
    name : str
        Display name (the model file's stem).
    kind : str
        ``"spectrogram"`` or ``"waveform"``.
    frontend : FrontendConfig
    sr : int or None
        Sample rate the model was trained at (None: any).
    n_samples : int or None
        Samples of a training clip (the default chunk length for long files).
    shape : tuple or None
        (F, T) of a training spectrogram.
    threshold : float or None
    """

    def __init__(self, doc: dict, device: str = "cpu"):
        self.doc = doc
        self.name = doc["name"]
        self.regime = doc["regime"]
        self.frontend = doc["frontend"]
        info = doc.get("input") or {}
        self.kind = info.get("kind", "spectrogram")
        self.sr = info.get("sr")
        self.n_samples = info.get("n_samples")
        self.shape = tuple(info["shape"]) if info.get("shape") else None
        self.threshold = doc.get("threshold")
        self.positive = doc.get("positive")
        self.device = device
        self.net = None
        self._min_frames = None

    # -- the network -----------------------------------------------------------------------
    def _network(self):
        if self.net is None:
            from lfkit.modelfile import build_network

            self.net = build_network(self.doc)
            if self.net is not None:
                self.net.to(self.device)
        return self.net

    def _tensor(self, X):
        import torch

        return torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float32).unsqueeze(1).to(self.device)

    def check_input(self, X: np.ndarray, where: str) -> None:
        """Refuse arrays whose frequency axis does not fit the model."""
        if self.kind == "spectrogram" and self.shape is not None and X.shape[-2] != self.shape[0]:
            raise DataError(
                f"{where}: spectrogram has {X.shape[-2]} frequency rows but model {self.name} expects "
                f"{self.shape[0]} (made with other spectro settings?)"
            )

    def min_frames(self) -> int:
        """Fewest frames (samples, for a waveform model) the network takes; found once by probing with zeros."""
        if self._min_frames is None:
            self._min_frames = self._probe_min_frames()
        return self._min_frames

    def _probe_min_frames(self) -> int:
        import torch

        net = self._network()
        full = self.n_samples if self.kind == "waveform" else (self.shape[-1] if self.shape else None)
        if net is None or not full:
            return 1

        def takes(t: int) -> bool:
            x = np.zeros((1, t) if self.kind == "waveform" else (1, self.shape[0], t), np.float32)
            try:
                with torch.inference_mode():
                    net(self._tensor(x))
                return True
            except (RuntimeError, ValueError, IndexError):
                return False

        if takes(1) or not takes(full):
            return 1
        lo, hi = 1, full  # takes(lo) is False, takes(hi) is True
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if takes(mid) else (mid, hi)
        return hi

    def fit_input(self, X: np.ndarray) -> np.ndarray:
        """``X`` (B, F, T) or (B, n) padded along its last axis to :meth:`min_frames` by repeating it.

        A clip too short for the network (a 0.1 s clip gives one frame) is
        tiled along time (wrap-around), which keeps a stationary tone's level
        and the noise statistics; a clip long enough is returned as it is.
        """
        m = self.min_frames()
        if X.shape[-1] >= m:
            return X
        reps = -(-m // X.shape[-1])
        return np.tile(X, (1,) * (X.ndim - 1) + (reps,))[..., :m]

    def embed_batch(self, X: np.ndarray) -> np.ndarray:
        """Embeddings, shape (B, D), float32."""
        import torch

        net = self._network()
        with torch.inference_mode():
            return net.embed(self._tensor(X)).float().cpu().numpy()

    def score_batch(self, X: np.ndarray) -> list[dict]:  # pragma: no cover - abstract
        raise NotImplementedError


class BinaryScorer(Scorer):
    """Spec-CNN and friends: ``score`` = sigmoid of the logit, a probability."""

    def score_batch(self, X):
        import torch

        net = self._network()
        with torch.inference_mode():
            logit = net(self._tensor(X)).float().cpu().numpy()[:, 0]
        p = 1.0 / (1.0 + np.exp(-logit.astype(np.float64)))
        return [{"score": float(v)} for v in p]


SCORERS = {"binary": BinaryScorer}


def make_scorer(doc: dict, device: str = "cpu") -> Scorer:
    """Build the scorer of a loaded model dictionary (by its ``regime``)."""
    regime = doc.get("regime")
    if regime not in SCORERS:
        _register_optional()
    if regime not in SCORERS:
        raise DataError(f"{doc.get('name')}: model regime {regime!r} is not known to this lfkit "
                        f"(known: {', '.join(sorted(SCORERS))})")
    return SCORERS[regime](doc, device)


def _register_optional() -> None:
    """Import the modules that register the other regimes' scorers."""
    import importlib

    for mod in ("lfkit.oneclass", "lfkit.siamese", "lfkit.baselines"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
