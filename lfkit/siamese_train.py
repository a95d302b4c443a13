"""Training of the siamese regime: ``lfkit train-siamese``.

A network from the registry (Si-SpecCNN by default) learns an embedding in
which clips of one signature lie close together and clips of different
signatures at least ``margin`` apart. The loop is plain and seeded:

* A **batch** holds ``batch_size`` identities with ``clips_per_class`` clips
  each (P x K sampling). An **epoch** is as many batches as it takes to draw
  about as many clips as the training split holds.
* ``contrastive`` loss (Hadsell et al. 2006) on the Euclidean distance ``d``
  of every pair in the batch: ``d**2`` for same pairs, ``max(0, margin -
  d)**2`` for different pairs; the two means are averaged, so same and
  different pairs weigh equally (balanced pairs).
* ``triplet`` loss ``max(0, d(a, p) - d(a, n) + margin)`` with every clip of
  the batch as an anchor: ``hard`` mining takes its farthest positive and
  nearest negative (batch-hard), ``semihard`` its nearest negative farther
  than the positive (FaceNet), else the farthest negative.
* **Identity augmentation** (``augment``): in every batch, all the clips of
  one identity are rolled along the frequency axis by the same random number
  of bins (``shift``, see :func:`shift_identities`). A signature is its set
  of line positions, so a shifted signature is a new, plausible one: 20
  training identities become hundreds, and the network cannot memorise them,
  which is what made it fail on signatures never seen. ``twins`` (the
  default) first splits each identity's clips into two identities
  (:func:`twin_identities`), which then get different shifts.
* A **validation split by class** (signatures never seen in training) is
  scored after every epoch as a verification task over all its pairs; the
  epoch with the highest AUC (then lowest EER) is kept, and the threshold at
  its equal-error point, on the similarity scale of :func:`lfkit.inference.heads.similarity`,
  is stored in the model.
"""

from __future__ import annotations

import copy
import time

import numpy as np

from lfkit.config import SiameseConfig
from lfkit.errors import DataError, ParameterError
from lfkit.eta import with_eta
from lfkit.lr_search import lr_record, search_lr, use_lr_search
from lfkit.parallel import NET_BATCH, net_batches
from lfkit.siamese_batches import (class_split, contrastive_loss, pk_batches, shift_identities,  # noqa: F401
                                   triplet_loss, twin_identities, vary_clips)

__all__ = ["class_split", "pk_batches", "shift_identities", "contrastive_loss", "triplet_loss", "fit_siamese",
           "train_siamese", "siamese_arch_kwargs", "validation_loss", "search_siamese_lr"]


def _embed(net, X, normalize: bool):
    from torch.nn import functional as F

    E = net.embed(X)
    return F.normalize(E, dim=1) if normalize else E


def embed_array(net, X, normalize: bool, device, batch_size: int = NET_BATCH) -> np.ndarray:
    """Embeddings of a tensor (N, 1, F, T) in evaluation mode, as numpy (N, D)."""
    import torch

    net.eval()
    with torch.inference_mode():
        return net_batches(lambda xb: _embed(net, xb.to(device), normalize).float().cpu().numpy(), X, batch_size)


def verification(E: np.ndarray, y: np.ndarray) -> dict:
    """AUC, EER and the EER threshold (similarity scale) over every pair of embeddings ``E``."""
    from lfkit.inference.heads import similarity
    from lfkit.metrics import roc_auc
    from lfkit.thresholds import eer_threshold

    i, j = np.triu_indices(len(y), k=1)
    d = np.linalg.norm(E[i] - E[j], axis=1)
    same = (y[i] == y[j]).astype(int)
    s = similarity(d)
    th, e = eer_threshold(same, s, one_class="none")  # no same-identity pair (or no other): no EER, no threshold
    return {"val_auc": roc_auc(same, s), "val_eer": e, "val_threshold": th}


def validation_loss(E: np.ndarray, y: np.ndarray, cfg: SiameseConfig) -> float | None:
    """The training loss (``cfg.loss``, ``cfg.margin``, ``cfg.mining``) over the validation clips as one batch.

    Parameters
    ----------
    E : np.ndarray, shape (N, D)
        Embeddings of the validation clips (normalised as in training).
    y : np.ndarray of int, shape (N,)
        Their identities (no augmentation: the clips as they are).

    Returns
    -------
    float or None
        None with fewer than two validation clips (no pair).
    """
    import torch

    if E is None or len(E) < 2:
        return None
    Et, yt = torch.as_tensor(np.asarray(E, dtype=np.float32)), torch.as_tensor(np.asarray(y))
    with torch.no_grad():
        loss = contrastive_loss(Et, yt, cfg.margin) if cfg.loss == "contrastive" else triplet_loss(
            Et, yt, cfg.margin, cfg.mining)
    return float(loss)


def search_siamese_lr(build, X: np.ndarray, labels, cfg: SiameseConfig, notice=None) -> list:
    """:func:`lfkit.lr_search.search_lr` for the siamese regime: the loss on the validation identities.

    Each of ``cfg.lr_search`` trains ``build()`` (a fresh network, seeded
    with ``cfg.seed``) as :func:`fit_siamese` does, on the same split and
    batches, for ``cfg.lr_search_epochs`` epochs (at most ``cfg.epochs``);
    the lowest validation loss of its epochs (:func:`validation_loss`), then
    that epoch's verification AUC, ranks it.
    """
    from lfkit.train_loop import seed_everything

    _, va, _ = class_split(np.asarray(labels), cfg.val_fraction, cfg.seed)  # the split fit_siamese uses
    if len(va) < 2:  # validation_loss needs a pair: checked before any candidate trains
        raise ParameterError("lr_search needs a validation split (val_fraction > 0)")

    def train_at(rate):
        sub = cfg.replace(lr=rate, epochs=min(cfg.epochs, cfg.lr_search_epochs))
        seed_everything(cfg.seed)
        history, _ = fit_siamese(build(), X, labels, sub)
        rec = min(history, key=lambda r: r["val_loss"] if r["val_loss"] is not None and np.isfinite(r["val_loss"])
                  else np.inf)
        return rec["val_loss"], rec["val_auc"]

    return search_lr(train_at, cfg.lr_search, notice)


def fit_siamese(net, X: np.ndarray, labels, cfg: SiameseConfig, hooks: dict | None = None, notice=None):
    """Train ``net``'s embedding; the best validation epoch's weights are kept.

    Parameters
    ----------
    net : torch.nn.Module
        A registry network (its ``embed`` is trained; the head is unused).
    X : np.ndarray, shape (N, F, T)
    labels : sequence of str, length N
        Identities; at least two, each with at least two clips.
    cfg : SiameseConfig
    hooks : dict
        ``{"on_epoch": callable(record)}``.

    Returns
    -------
    history : list of dict
        ``epoch``, ``loss``, ``val_auc``, ``val_eer``, ``val_threshold``, ``seconds``, ``best``.
    best : dict
        The kept epoch's record (plus ``disjoint``: whether validation identities were unseen).
    """
    import torch

    from lfkit.train_loop import as_input, seed_everything, torch_device

    hooks = hooks or {}
    dev = torch_device(cfg.device)
    seed_everything(cfg.seed)
    _, y = np.unique(np.asarray(labels), return_inverse=True)
    tr, va, disjoint = class_split(np.asarray(labels), cfg.val_fraction, cfg.seed)
    if not disjoint and notice:
        notice("fewer than 4 identities: validation uses held-out clips of the training identities")
    Xt = as_input(X, None)
    Xtr, ytr = Xt[tr], y[tr]
    net.to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(np.random.SeedSequence([int(cfg.seed), 0x7EA2]))
    aug_rng = np.random.default_rng(np.random.SeedSequence([int(cfg.seed), 0xA06]))
    per_batch = min(cfg.batch_size, len(np.unique(ytr))) * cfg.clips_per_class
    n_batches = max(1, int(np.ceil(len(tr) / per_batch)))
    history, best, best_state = [], None, None
    ckpt = hooks.get("checkpoint")  # lfkit.checkpoint.Checkpoint: resume from, and save after every epoch
    run = {"n": int(len(labels)), "shape": list(np.shape(X)), "train": np.asarray(tr).tolist(),
           "config": {k: v for k, v in cfg.to_dict().items() if k not in ("epochs", "lr_search", "lr_search_epochs")}}
    state = ckpt.restore(run, net, opt, [rng, aug_rng]) if ckpt is not None else None
    if state is not None:
        history, best, best_state = state["history"], state["best"], state["best_state"]
    for epoch in range(len(history) + 1, cfg.epochs + 1):
        t0 = time.perf_counter()
        net.train()
        total = 0.0
        for idx in pk_batches(ytr, cfg.batch_size, cfg.clips_per_class, n_batches, rng):
            yn = twin_identities(ytr[idx]) if cfg.augment in ("twins", "vary") else ytr[idx]
            yb = torch.as_tensor(yn, device=dev)
            xb = Xtr[idx]
            if cfg.augment in ("shift", "twins", "vary"):
                xb, _ = shift_identities(xb, yn, cfg.max_shift_bins, aug_rng)
            if cfg.augment == "vary":
                xb = vary_clips(xb, aug_rng)
            E = _embed(net, xb.to(dev), cfg.normalize)
            loss = (contrastive_loss(E, yb, cfg.margin) if cfg.loss == "contrastive"
                    else triplet_loss(E, yb, cfg.margin, cfg.mining))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.item())
        rec = {"epoch": epoch, "loss": total / n_batches}
        if not np.isfinite(rec["loss"]):
            raise DataError(f"training diverged at epoch {epoch} (loss={rec['loss']}); lower --lr")
        E_va = embed_array(net, Xt[va], cfg.normalize, dev)
        rec["val_loss"] = validation_loss(E_va, y[va], cfg)
        rec.update(verification(E_va, y[va]))
        rec["seconds"] = time.perf_counter() - t0
        key = (-(rec["val_auc"] if rec["val_auc"] is not None else 0.0), rec["val_eer"] if rec["val_eer"] is not None else 1.0)
        rec["best"] = best is None or key < best["_key"]
        if rec["best"]:
            best = dict(rec, _key=key)
            best_state = copy.deepcopy(net.state_dict())
        history.append(rec)
        if "on_epoch" in hooks:
            hooks["on_epoch"](rec)
        if ckpt is not None:
            ckpt.save(run, net, opt, [rng, aug_rng], history, best, best_state, 0)
    net.load_state_dict(best_state)
    net.eval()
    best.pop("_key")
    best["disjoint"] = disjoint
    return history, best


def siamese_arch_kwargs(arch: str, cfg: SiameseConfig, shape) -> dict:
    """Network arguments for a siamese backbone on spectrograms of ``shape`` (F, T).

    Every backbone gets ``embedding_dim``; Si-SpecCNN also ``normalize`` and
    ``freq_bins`` equal to its frequency rows after the stem, so the
    embedding keeps the full frequency resolution that tells signatures apart.
    """
    kw = {"embedding_dim": cfg.embedding_dim}
    if arch == "sispeccnn":
        kw.update(normalize=cfg.normalize, freq_bins=max(1, -(-int(shape[0]) // 2)))
    return kw


def check_identities(labels, where: str) -> None:
    """Refuse label sets a siamese network cannot learn from."""
    names, counts = np.unique(np.asarray(labels), return_counts=True)
    if len(names) < 2:
        raise DataError(f"{where}: one identity only ({names[0]!r}); siamese training needs at least 2 classes")
    lonely = names[counts < 2]
    if len(lonely):
        more = f" and {len(lonely) - 1} more" if len(lonely) > 1 else ""
        raise DataError(f"{where}: class {lonely[0]!r}{more} has one clip; siamese training needs at least 2 per class")


def train_siamese(data, output, cfg: SiameseConfig = SiameseConfig(), frontend_changes: dict | None = None,
                  workers: int = 1, log_path=None, hooks=None, notice=None, arch_kwargs: dict | None = None,
                  aux=None, channel: int | None = None) -> dict:
    """The whole of ``lfkit train-siamese``: load, train the embedding, save the model file.

    Parameters
    ----------
    data : str
        Multi-class dataset folder or ``labels.csv`` (audio or spectrograms).
    output : str
        Model file path.
    cfg : SiameseConfig
    frontend_changes : dict
        Spectrogram settings the user set (stored in the model).
    log_path : str or None
        Write the per-epoch history there as JSON Lines.
    arch_kwargs : dict or None
        Network arguments added to (and overriding) :func:`siamese_arch_kwargs`.
    aux : str or None
        Another labelled dataset (real recordings of more sources) trained on beside ``data``.
    channel : int or None
        Channel of multichannel audio to read (0-based), for ``data`` and ``aux``; None averages them.

    Returns
    -------
    dict
        Training summary (best epoch record, sizes, seconds).
    """
    from lfkit import io
    from lfkit.data import load_dataset
    from lfkit.inference.modelfile import save_model
    from lfkit.models import create_model, input_kind
    from lfkit.inference.heads import SIMILARITY
    from lfkit.siamese_joint import held_out, with_aux

    kind = input_kind(cfg.arch)
    if kind != "spectrogram":
        raise ParameterError(f"arch={cfg.arch!r} reads waveforms; siamese training needs a spectrogram network")
    ds = load_dataset(data, frontend_changes, kind=kind, workers=workers, auto=True, channel=channel)
    X, labels = ds.X, list(ds.labels)
    if aux is not None:
        X, labels = with_aux(ds, aux, workers, notice, channel)
    check_identities(labels, str(data))
    kw = dict(siamese_arch_kwargs(cfg.arch, cfg, ds.X.shape[1:]), **(arch_kwargs or {}))
    from lfkit.train_loop import as_input, seed_everything, torch_device

    def build():
        seed_everything(cfg.seed)
        return create_model(cfg.arch, **kw)

    t0 = time.perf_counter()
    cfg, tried = use_lr_search(cfg, lambda: search_siamese_lr(build, X, labels, cfg, notice), notice,
                               on="the validation identities")
    net = build()
    history, best = fit_siamese(net, X, labels, cfg, with_eta(hooks, cfg.epochs), notice)
    _, y = np.unique(np.asarray(labels), return_inverse=True)
    _, va, _ = class_split(np.asarray(labels), cfg.val_fraction, cfg.seed)
    E_va = embed_array(net, as_input(X[va], None), cfg.normalize, torch_device(cfg.device))
    held = held_out(E_va, y[va], X[va], cfg, notice)
    seconds = time.perf_counter() - t0
    training = {"config": cfg.to_dict(), "best": best, "epochs_run": len(history), "seconds": seconds,
                "n_train": int(len(labels)), "n_classes": len(set(labels)), "data": str(data),
                "aux": None if aux is None else str(aux), "frontend_selection": ds.selection, **held,
                **({"lr_search": lr_record(tried, "val_auc")} if tried else {})}
    open_set = held["open_set"]
    for line in ds.notes if notice else ():  # the front end chosen from the data, said once training worked
        notice(line)
    save_model(output, "siamese", ds.frontend,
               {"kind": kind, "sr": ds.sr, "n_samples": ds.n_samples, "shape": list(ds.X.shape[1:])},
               arch=cfg.arch, arch_kwargs=net.arch_kwargs, state_dict=net.cpu().state_dict(), classes=sorted(set(labels)),
               threshold=open_set["threshold"] if open_set["threshold"] is not None else best["val_threshold"],
               training=training,
               extra={"similarity": SIMILARITY, "normalize": cfg.normalize, "loss": cfg.loss,
                      "margin": cfg.margin, "joint_weight": held["joint_weight"],
                      "embedding_dim": int(net.embedding_dim) + (int(X.shape[1]) if cfg.joint else 0)})
    if log_path:
        io.write_jsonl(history, log_path)
    return training
