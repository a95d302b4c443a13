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
