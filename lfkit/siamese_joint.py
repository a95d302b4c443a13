"""The siamese metric joined with the whitened mean spectrum, and its open-set threshold.

After training, the validation identities (never seen in training) decide:

* the weight ``w`` of the learned embedding against the classical one
  (:func:`lfkit.joint.join_embeddings`): the smallest weight whose
  nearest-centroid identification on them is within one standard error of
  the best, ``w = 0`` being nearest centroid of the whitened mean spectrum
  itself;
* the open-set threshold: each validation identity's clips are split into
  references and probes; every probe is compared with every identity's
  centroid, and the threshold is the equal-error point of those trials. Its
  false-accept rate (impostor trials at or above it) and false-reject rate
  are stored with it.
"""

from __future__ import annotations

import numpy as np

from lfkit.errors import DataError

__all__ = ["enrol_trials", "choose_siamese_weight", "open_set_threshold", "with_aux", "held_out"]


def enrol_trials(E: np.ndarray, y: np.ndarray, seed: int = 0):
    """Probe-to-centroid trials of held-out identities, as enrollment scores them.

    Parameters
    ----------
    E : np.ndarray, shape (n, D)
        Embeddings (unit length when the model normalises).
    y : np.ndarray, shape (n,)
        Identities; those with at least 2 clips take part (half enrol, half probe).

    Returns
    -------
    S : np.ndarray, shape (n_probes, n_identities)
        Similarities ``1 / (1 + d)`` to each identity's centroid.
    truth : np.ndarray of int, same shape
        1 where the identity is the probe's own.
    """
    from lfkit.inference.heads import similarity

    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xE4])) 
    y = np.asarray(y)
    names = [c for c in np.unique(y) if (y == c).sum() >= 2]
    cents, probes, owner = [], [], []
    for k, c in enumerate(names):
        idx = rng.permutation(np.flatnonzero(y == c))
        half = len(idx) // 2
        cents.append(E[idx[:half]].mean(axis=0))
        probes.append(E[idx[half:]])
        owner.extend([k] * (len(idx) - half))
    if len(names) < 2:
        return np.zeros((0, len(names))), np.zeros((0, len(names)), int)
    C = np.stack(cents)
    P = np.concatenate(probes)
    S = similarity(np.linalg.norm(P[:, None, :] - C[None, :, :], axis=2))
    truth = (np.asarray(owner)[:, None] == np.arange(len(names))[None, :]).astype(int)
    return S, truth


def _quality(S, truth) -> tuple:
    from lfkit import metrics as M

    if not len(S):
        return (0.0, 0.0)
    top1 = float(np.mean(truth[np.arange(len(S)), S.argmax(1)]))
    return (top1, float(M.roc_auc(truth.ravel(), S.ravel())))


def choose_siamese_weight(E_learned, E_classical, y, seed: int = 0, weights=None):
    """The smallest learned-embedding weight whose held-out top-1 is within one standard error of the best.

    The validation identities also chose the training epoch, so the learned
    part looks better on them than on new ones; the one-standard-error rule
    (Breiman et al. 1984) gives it weight only where it clearly helps.

    Returns
    -------
    w : float
    table : dict
        ``{w: [top1, auc]}`` of every weight tried on the held-out identities.
    """
    from lfkit.joint import WEIGHTS, join_embeddings

    table, n = {}, 1
    for w in weights or WEIGHTS:
        S, truth = enrol_trials(join_embeddings(E_learned, E_classical, w), y, seed)
        table[float(w)] = list(_quality(S, truth))
        n = max(1, len(S))
    top1 = max(v[0] for v in table.values())
    margin = max(np.sqrt(top1 * (1.0 - top1) / n), 1.0 / n)  # one standard error of top-1 over n probes
    near = [w for w, v in table.items() if v[0] >= top1 - margin]
    return min(near), table


def open_set_threshold(E, y, seed: int = 0) -> dict:
    """Equal-error threshold of probe-to-centroid trials on held-out identities, with its error rates.

    Returns
    -------
    dict
        ``threshold`` (similarity scale; None with fewer than 2 usable
        identities), ``false_accept_rate``, ``false_reject_rate``,
        ``n_genuine``, ``n_impostor``.
    """
    from lfkit.thresholds import eer_threshold

    S, truth = enrol_trials(E, y, seed)
    if not len(S) or truth.all() or not truth.any():
        return {"threshold": None, "false_accept_rate": None, "false_reject_rate": None, "n_genuine": 0,
                "n_impostor": 0}
    s, t = S.ravel(), truth.ravel()
    th, _ = eer_threshold(t, s)
    return {"threshold": float(th), "false_accept_rate": float(np.mean(s[t == 0] >= th)),
            "false_reject_rate": float(np.mean(s[t == 1] < th)), "n_genuine": int(t.sum()),
            "n_impostor": int((1 - t).sum())}


def with_aux(ds, aux, workers, notice, channel: int | None = None):
    """The dataset's clips and labels plus those of ``aux`` (another labelled dataset, same front end and
    ``channel``: 0-based, None for the mean of the channels)."""
    from lfkit.data import load_dataset

    ax = load_dataset(aux, ds.frontend.to_dict(), kind=ds.kind, workers=workers, channel=channel)
    if ax.X.shape[1:] != ds.X.shape[1:]:
        raise DataError(f"aux={str(aux)!r}: clips of shape {ax.X.shape[1:]} differ from the data's {ds.X.shape[1:]}")
    shared = sorted(set(ax.labels) & set(ds.labels))
    if shared and notice:
        notice(f"aux: label(s) {', '.join(shared[:3])}{' ...' if len(shared) > 3 else ''} also in the data: "
               "taken as the same identities")
    return np.concatenate([ds.X, ax.X]), list(ds.labels) + list(ax.labels)


def held_out(E: np.ndarray, y_va: np.ndarray, X_va: np.ndarray, cfg, notice) -> dict:
    """On the validation identities: the joint weight, then the open-set threshold and its false-accept rate.

    Parameters
    ----------
    E : np.ndarray, shape (n_val, D)
        The trained network's embeddings of the validation clips.
    y_va : np.ndarray of int, shape (n_val,)
        Their identities.
    X_va : np.ndarray, shape (n_val, n_freq, n_frames)
        Their spectrograms (for the classical half of a joint embedding).
    cfg : SiameseConfig
    """
    from lfkit.joint import classical_embedding, join_embeddings

    out = {"joint_weight": None, "joint_table": None}
    if cfg.joint:
        C = classical_embedding(X_va)
        out["joint_weight"], out["joint_table"] = choose_siamese_weight(E, C, y_va, cfg.seed)
        E = join_embeddings(E, C, out["joint_weight"])
    out["open_set"] = open_set_threshold(E, y_va, cfg.seed)
    if notice:
        o = out["open_set"]
        if cfg.joint:
            top1, _ = out["joint_table"][out["joint_weight"]]
            notice(f"joint embedding: learned part weighted {out['joint_weight']:g} against the whitened mean "
                   f"spectrum (top-1 {top1:.3f} on {len(np.unique(y_va))} held-out identities)")
        if o["threshold"] is not None:
            notice(f"open-set threshold {o['threshold']:.4f}: false-accept rate {o['false_accept_rate']:.3f}, "
                   f"false-reject rate {o['false_reject_rate']:.3f} on held-out identities")
    return out
