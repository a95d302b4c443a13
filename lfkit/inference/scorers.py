"""Scorers: a loaded model file turned into ``score_batch`` and ``embed_batch``.

A scorer is front end -> network -> head, each taken from an explicit
registry: the front end from the file's ``FrontendConfig`` (applied by the
reader, :mod:`lfkit.segments`), the network from :func:`lfkit.models.create_model`
(by ``arch``; none for classical models), the head from :data:`SCORERS` (by
``regime``). Nothing is imported for its side effects, and no training
module is imported: a classical model (``logreg``, ``knowntone``, a ``raw``
one-class extractor with a numpy detector) scores without torch. Every
scorer states lfkit's one sign: a higher ``score`` means more like the target.
"""

from __future__ import annotations

import numpy as np

from lfkit.errors import DataError, ParameterError, check_device
from lfkit.inference.heads import SIMILARITY, RawExtractor, check_probe, fused_logit, knowntone_score, unit_rows
from lfkit.floor import line_strength_db

__all__ = ["SCORERS", "make_scorer", "load_scorers", "build_networks", "Scorer", "BinaryScorer", "LogRegScorer", "KnownToneScorer",
           "OneClassScorer", "SiameseScorer"]


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
            from lfkit.inference.modelfile import build_network

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
        net = self._network()
        full = self.n_samples if self.kind == "waveform" else (self.shape[-1] if self.shape else None)
        if net is None or not full:
            return 1
        import torch

        def takes(t: int) -> bool:
            x = np.zeros((1, t) if self.kind == "waveform" else (1, self.shape[0], t), np.float32)
            try:
                with torch.inference_mode():
                    net(self._tensor(x))
                return True
            except (RuntimeError, ValueError, IndexError):
                return False

        # one thread: whether a shape fits does not depend on it, and these tiny passes on two threads
        # cost 0.27 CPU-s (against 0.005 s) for a speccnn here
        saved = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            if takes(1) or not takes(full):
                return 1
            lo, hi = 1, full  # takes(lo) is False, takes(hi) is True
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if takes(mid) else (mid, hi)
            return hi
        finally:
            torch.set_num_threads(saved)

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
    """Spec-CNN and friends: ``score`` = sigmoid of the logit, a probability.

    A model trained with its linear probe (:mod:`lfkit.fusion`) fuses the
    network's logit with the probe's on the time-averaged input first.
    """

    def __init__(self, doc, device="cpu"):
        super().__init__(doc, device)
        n_freq = self.shape[0] if self.kind == "spectrogram" and self.shape else None
        self.probe = check_probe((doc.get("extra") or {}).get("probe"), n_freq, self.name)

    def score_batch(self, X):
        import torch

        net = self._network()
        with torch.inference_mode():
            logit = net(self._tensor(X)).float().cpu().numpy()[:, 0]
        z = fused_logit(logit, X, self.probe)
        p = 1.0 / (1.0 + np.exp(-z))
        return [{"score": float(v)} for v in p]


class KnownToneScorer(Scorer):
    """``score`` = weakest target line minus strongest other line (dB)."""

    def __init__(self, doc, device="cpu"):
        super().__init__(doc, device)
        self.tones = np.asarray(doc["extra"]["tones"], dtype=float)
        self.freqs = np.asarray(doc["extra"]["freqs"], dtype=float)

    def check_input(self, X, where):
        if X.shape[-2] != len(self.freqs):
            raise DataError(f"{where}: spectrogram has {X.shape[-2]} frequency rows but model {self.name} expects "
                            f"{len(self.freqs)} (made with other spectro settings?)")

    def score_batch(self, X):
        return [{"score": float(v)} for v in knowntone_score(X, self.freqs, self.tones)]

    def embed_batch(self, X):
        return line_strength_db(X).astype(np.float32)


class LogRegScorer(Scorer):
    """``score`` = the logistic regression's probability of the target class."""

    def __init__(self, doc, device="cpu"):
        super().__init__(doc, device)
        e = doc["extra"]
        self.mean, self.scale, self.coef = (np.asarray(e[k], dtype=float) for k in ("mean", "scale", "coef"))
        self.intercept = float(e["intercept"])

    def embed_batch(self, X):
        return ((np.asarray(X, dtype=float).mean(axis=2) - self.mean) / self.scale).astype(np.float32)

    def score_batch(self, X):
        z = self.embed_batch(X).astype(float) @ self.coef + self.intercept
        return [{"score": float(v)} for v in 1.0 / (1.0 + np.exp(-z))]


class OneClassScorer(Scorer):
    """Extractor then detector: ``score`` (higher = more like the target), ``probability`` for gmm."""

    def __init__(self, doc: dict, device: str = "cpu"):
        from lfkit.detectors import Detector

        super().__init__(doc, device)
        extra = doc.get("extra") or {}
        try:
            self.detector = Detector.from_state(extra["detector"])
        except KeyError:
            raise DataError(f"{self.name}: damaged one-class model (no detector)") from None
        except DataError as exc:
            raise DataError(f"{self.name}: refused: {exc}") from None
        ext = extra.get("extractor") or {}
        self.raw = RawExtractor.from_state(ext) if ext.get("kind") == "raw" else None
        if self.raw is None and not doc.get("arch"):
            raise DataError(f"{self.name}: damaged one-class model (no extractor)")
        self.joint = None
        if extra.get("joint") is not None:
            from lfkit.joint import JointOneClass

            try:
                self.joint = JointOneClass.from_state(extra["joint"])
            except DataError as exc:
                raise DataError(f"{self.name}: refused: {exc}") from None

    def embed_batch(self, X: np.ndarray) -> np.ndarray:
        if self.raw is not None:
            return self.raw.transform(X)
        return super().embed_batch(X)

    def score_batch(self, X: np.ndarray) -> list[dict]:
        Z = self.embed_batch(X)
        if Z.shape[1] != self.detector.n_features_in_:
            raise DataError(f"{self.name}: extractor gives {Z.shape[1]} features, detector expects "
                            f"{self.detector.n_features_in_} (damaged model)")
        s = self.detector.score_samples(Z)
        p = self.detector.predict_proba(Z)
        if self.joint is not None:  # the learned detector's probability does not describe the joint score
            s, p = self.joint.score(X, s), None
        recs = [{"score": float(v)} for v in s]
        if p is not None:
            for r, v in zip(recs, p):
                r["probability"] = float(v)
        return recs


class SiameseScorer(Scorer):
    """A siamese model: ``embed_batch`` gives the (L2-normalised) comparison embedding.

    It has no score on its own: clips are scored against enrolled references
    (``lfkit score --enroll``) or each other (``--pairs``), by :mod:`lfkit.enroll`.
    """

    needs_references = True

    def __init__(self, doc: dict, device: str = "cpu"):
        super().__init__(doc, device)
        extra = doc.get("extra") or {}
        if extra.get("similarity", SIMILARITY) != SIMILARITY:
            raise DataError(f"{self.name}: similarity {extra.get('similarity')!r} is not known to this lfkit")
        self.normalize = bool(extra.get("normalize", True))
        self.embedding_dim = int(extra.get("embedding_dim") or (doc.get("arch_kwargs") or {}).get("embedding_dim", 0))
        w = extra.get("joint_weight")
        if w is not None and not (isinstance(w, (int, float)) and 0.0 <= float(w) <= 1.0):
            raise DataError(f"{self.name}: joint_weight={w!r} must be in [0, 1] (damaged model)")
        self.joint_weight = None if w is None else float(w)
        if self.joint_weight is not None:
            # both halves are unit length, and so is each joint row; centroids are not re-normalised (on the
            # siamese benchmark re-normalising them cost 0.02-0.04 top-1 at -32 and -30 dB)
            self.normalize = False

    def embed_batch(self, X: np.ndarray) -> np.ndarray:
        """Embeddings (B, D); a joint model appends the whitened mean spectrum (:func:`lfkit.joint.join_embeddings`)."""
        E = super().embed_batch(X)
        if self.joint_weight is not None:
            from lfkit.joint import classical_embedding, join_embeddings

            return join_embeddings(E, classical_embedding(X), self.joint_weight)
        return unit_rows(E) if self.normalize else E

    def score_batch(self, X):
        raise ParameterError(f"model {self.name} is a siamese model: score with --enroll REFS or --pairs pairs.csv")


#: The head of each regime a model file declares (``lfkit.inference.modelcheck.REGIMES``).
SCORERS = {
    "binary": BinaryScorer,
    "baseline": LogRegScorer,
    "knowntone": KnownToneScorer,
    "oneclass": OneClassScorer,
    "siamese": SiameseScorer,
}


def make_scorer(doc: dict, device: str = "cpu") -> Scorer:
    """Build the scorer of a loaded model dictionary (by its ``regime``)."""
    regime = doc.get("regime")
    if regime not in SCORERS:
        raise DataError(f"{doc.get('name')}: model regime {regime!r} is not known to this lfkit "
                        f"(known: {', '.join(sorted(SCORERS))})")
    return SCORERS[regime](doc, device)


def load_scorers(model_paths, device: str = "cpu", build: bool = True) -> list:
    """Load model files and build their scorers, networks built now (or by :func:`build_networks`).

    Weights that do not fit fail here, once, not once per clip. torch is
    imported only when a model has a network (``arch``): a classical model
    loads and scores with numpy.

    Parameters
    ----------
    build : bool
        False: read and check the files only (no torch import); the caller
        builds the networks with :func:`build_networks` before scoring, e.g.
        once its reader processes are busy (``lfkit score``).

    Raises
    ------
    ParameterError
        No model, or a device this machine lacks (checked only for network models).
    DataError
        A file that is not a readable lfkit model.
    """
    from lfkit.inference.modelfile import load_model

    if not model_paths:
        raise ParameterError("model: give at least one model file")
    if check_device(device) != "cpu":  # 'cuda' without a CUDA device: one parameter error here, not a torch crash
        from lfkit.resources import usable_device

        device = usable_device(device)
    scorers = [make_scorer(load_model(p), device) for p in model_paths]
    if build:
        build_networks(scorers)
    return scorers


def build_networks(scorers) -> None:
    """Build (once) the network of every scorer that has one; weights that do not fit raise DataError here."""
    for s in scorers:
        s._network()
