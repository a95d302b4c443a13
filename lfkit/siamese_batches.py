"""The siamese regime's batches and losses: identity splits, P x K batches, identity augmentation, and the
contrastive and triplet losses (see :mod:`lfkit.siamese_train` for how the loop uses them).

Arrays in, arrays (or torch tensors, for the losses) out; torch is imported only inside the losses.
"""

from __future__ import annotations

import numpy as np

__all__ = ["class_split", "pk_batches", "shift_identities", "twin_identities", "vary_clips", "pairwise_distances",
           "contrastive_loss", "triplet_loss"]


def class_split(labels, val_fraction: float, seed: int):
    """Split clip indices so that validation identities never occur in training.

    With four identities or more, ``val_fraction`` of them (at least two, and
    at least two left for training) go to validation. With two or three,
    a class-disjoint split is impossible and the clips of each class are split
    instead (``disjoint`` is then False).

    Returns
    -------
    train, val : np.ndarray of int
    disjoint : bool
    """
    from lfkit.train_loop import stratified_split

    labels = np.asarray(labels)
    classes = np.unique(labels)
    if len(classes) < 4:
        _, y = np.unique(labels, return_inverse=True)
        tr, va = stratified_split(y, val_fraction, seed)
        return tr, va, False
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x51A3]))
    k = min(max(int(round(len(classes) * val_fraction)), 2), len(classes) - 2)
    val_classes = set(rng.permutation(classes)[:k].tolist())
    is_val = np.array([c in val_classes for c in labels])
    return np.flatnonzero(~is_val), np.flatnonzero(is_val), True


def pk_batches(y: np.ndarray, n_classes: int, per_class: int, n_batches: int, rng) -> list:
    """Draw ``n_batches`` index arrays of ``n_classes`` identities x ``per_class`` clips.

    Clips are drawn without replacement inside an identity when it has enough.
    """
    by_class = [np.flatnonzero(y == c) for c in np.unique(y)]
    p = min(n_classes, len(by_class))
    out = []
    for _ in range(n_batches):
        chosen = rng.choice(len(by_class), size=p, replace=False)
        idx = [rng.choice(by_class[c], size=per_class, replace=len(by_class[c]) < per_class) for c in chosen]
        out.append(np.concatenate(idx))
    return out


def shift_identities(X, y: np.ndarray, max_shift_bins: int, rng):
    """Roll every identity's clips along the frequency axis by one random shift per identity.

    Parameters
    ----------
    X : torch.Tensor, shape (B, 1, n_freq, n_frames)
        A batch of spectrograms (not modified).
    y : np.ndarray of int, shape (B,)
        Their identities; all clips of one identity get the same shift.
    max_shift_bins : int
        Shifts are drawn uniformly from ``-max_shift_bins .. max_shift_bins``
        (clipped to ``(n_freq - 1) // 2``), without replacement when there
        are enough, so no two identities of the batch share one; lines pushed
        past one edge of the band come back at the other (a circular shift
        keeps the noise statistics).
    rng : np.random.Generator

    Returns
    -------
    X_shifted : torch.Tensor, shape (B, 1, n_freq, n_frames)
    shifts : dict
        ``{identity: shift in bins}``.
    """
    import torch

    ids = np.unique(y)
    m = min(int(max_shift_bins), (X.shape[-2] - 1) // 2)
    if len(ids) <= 2 * m + 1:  # distinct shifts (distinct modulo n_freq too), so twins always differ
        drawn = rng.choice(2 * m + 1, size=len(ids), replace=False) - m
    else:
        drawn = rng.integers(-m, m + 1, size=len(ids))
    out = torch.empty_like(X)
    shifts = {}
    for c, k in zip(ids.tolist(), drawn.tolist()):
        sel = torch.as_tensor(np.flatnonzero(y == c))
        out[sel] = torch.roll(X[sel], int(k), dims=-2)
        shifts[c] = int(k)
    return out, shifts


def twin_identities(y: np.ndarray) -> np.ndarray:
    """Relabel the second half of each identity's clips as a new identity (its twin).

    With ``augment="twins"`` the twin is then shifted differently from the
    first half, so the batch holds pairs of signatures with the same line
    pattern at different positions: the network must tell them apart by
    where the lines are, not only by their spacing.

    Returns
    -------
    np.ndarray of int, shape (B,)
        Labels; identities with fewer than 4 clips in the batch are kept whole.
    """
    y = np.asarray(y)
    out = y.copy()
    offset = int(y.max()) + 1
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if len(idx) >= 4:
            out[idx[len(idx) // 2 :]] += offset
    return out


def vary_clips(X, rng, jitter_bins: int = 1, tilt: float = 1.0, contrast: float = 0.25):
    """Per-clip variation of a real source: each clip rolled by up to ``jitter_bins`` along frequency (line
    jitter), plus a linear tilt across the band of up to ``tilt`` standard units (noise colour), its
    contrast scaled by ``1 +- contrast`` (gain spread). X: (B, 1, F, T) tensor, returned as a new tensor."""
    import torch

    B, _, F, _ = X.shape
    shifts = rng.integers(-jitter_bins, jitter_bins + 1, size=B)
    out = torch.stack([torch.roll(X[i], int(k), dims=-2) for i, k in enumerate(shifts)])
    ramp = torch.linspace(-0.5, 0.5, F, dtype=X.dtype)[None, None, :, None]
    slope = torch.as_tensor(rng.uniform(-tilt, tilt, size=B), dtype=X.dtype)[:, None, None, None]
    gain = torch.as_tensor(rng.uniform(1 - contrast, 1 + contrast, size=B), dtype=X.dtype)[:, None, None, None]
    return out * gain + slope * ramp


def pairwise_distances(E):
    """Euclidean distances between the rows of ``E`` (B, D): shape (B, B), differentiable at 0."""
    import torch

    sq = (E * E).sum(1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * E @ E.T
    return torch.sqrt(d2.clamp_min(1e-12))


def _masks(y):
    import torch

    same = y[:, None] == y[None, :]
    eye = torch.eye(len(y), dtype=torch.bool, device=y.device)
    return same & ~eye, ~same


def contrastive_loss(E, y, margin: float):
    """Balanced contrastive loss over every pair of the batch (see the module docstring)."""
    D = pairwise_distances(E)
    pos, neg = _masks(y)
    terms = []
    if pos.any():
        terms.append((D[pos] ** 2).mean())
    if neg.any():
        terms.append((margin - D[neg]).clamp_min(0).pow(2).mean())
    return sum(terms) / len(terms)


def triplet_loss(E, y, margin: float, mining: str = "hard"):
    """Triplet loss with batch-hard or semi-hard mining (see the module docstring)."""
    import torch

    D = pairwise_distances(E)
    pos, neg = _masks(y)
    has = pos.any(1) & neg.any(1)
    if not has.any():
        return E.sum() * 0.0
    inf = torch.tensor(float("inf"), device=E.device)
    d_ap = torch.where(pos, D, -inf).amax(1)
    if mining == "hard":
        d_an = torch.where(neg, D, inf).amin(1)
    else:
        semi = neg & (D > d_ap[:, None])
        d_semi = torch.where(semi, D, inf).amin(1)
        d_far = torch.where(neg, D, -inf).amax(1)
        d_an = torch.where(semi.any(1), d_semi, d_far)
    return (d_ap - d_an + margin).clamp_min(0)[has].mean()
