"""A plain, seeded training loop (pytorch/examples style), shared by every regime that trains a network.

``train_one_epoch`` and ``evaluate`` do one pass each; :func:`fit_classifier`
runs them with early stopping on the validation loss, keeping the best epoch,
and calls hooks by name (``on_epoch(record)``) for progress and logs.
Deterministic on the CPU: the same data, arguments and seed give the same
weights. torch is imported inside the functions that need it.
"""

from __future__ import annotations

import copy
import time

import numpy as np

from lfkit.errors import DataError, ParameterError, check_positive_int
from lfkit.parallel import NET_BATCH, net_batches

__all__ = ["seed_everything", "stratified_split", "torch_device", "as_input", "train_one_epoch", "warmup_scheduler",
           "predict_logits", "evaluate", "fit_classifier"]


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA) for a reproducible run."""
    import torch

    torch.manual_seed(int(seed))
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(int(seed))


def stratified_split(y: np.ndarray, val_fraction: float, seed: int):
    """Indices (train, val) with every class split by ``val_fraction`` (at least one each side)."""
    if not 0 <= val_fraction < 1:
        raise ParameterError(f"val_fraction={val_fraction!r} must be in [0, 1)")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5917]))
    tr, va = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        k = int(round(len(idx) * val_fraction))
        if val_fraction > 0 and len(idx) >= 2:
            k = min(max(k, 1), len(idx) - 1)
        else:
            k = 0
        va.extend(idx[:k])
        tr.extend(idx[k:])
    return np.sort(np.array(tr, dtype=int)), np.sort(np.array(va, dtype=int))


def torch_device(name: str):
    import torch

    from lfkit.resources import usable_device

    usable_device(name)  # cuda or mps that this machine lacks: one parameter error
    try:
        return torch.device(name)
    except RuntimeError:
        raise ParameterError(f"device={name!r} is not a torch device (cpu, cuda, cuda:0)") from None


def as_input(X, kind):
    """(N, F, T) -> (N, 1, F, T); (N, n) waveforms -> (N, 1, n)."""
    import torch

    t = torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float32)
    return t.unsqueeze(1)


def _loss_fn(n_outputs: int, y_train: np.ndarray, device):
    import torch

    if n_outputs == 1:
        pos = float((y_train == 1).sum())
        neg = float((y_train == 0).sum())
        w = torch.tensor([neg / pos if pos > 0 else 1.0], device=device)
        return torch.nn.BCEWithLogitsLoss(pos_weight=w)
    counts = np.bincount(y_train, minlength=n_outputs).astype(float)
    weights = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / n_outputs, 0.0)
    return torch.nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32, device=device))


def _targets(yb, n_outputs):
    return yb.float().unsqueeze(1) if n_outputs == 1 else yb.long()


def train_one_epoch(net, X, y, loss_fn, opt, batch_size, rng, n_outputs, device, scheduler=None) -> float:
    """One pass over shuffled training batches; returns the mean loss.

    ``scheduler`` (a ``torch.optim.lr_scheduler``, e.g. the warm-up of
    :func:`warmup_scheduler`) steps after every batch.
    """
    import torch

    net.train()
    order = rng.permutation(len(y))
    total, seen = 0.0, 0
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        xb = X[idx].to(device)
        yb = torch.as_tensor(y[idx]).to(device)
        opt.zero_grad()
        loss = loss_fn(net(xb), _targets(yb, n_outputs))
        loss.backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        total += loss.item() * len(idx)
        seen += len(idx)
    return total / max(seen, 1)


def warmup_scheduler(opt, warmup_steps: int):
    """Linear learning-rate warm-up: step ``k`` (from 0) runs at ``lr * (k + 1) / warmup_steps``, then ``lr``.

    Returns ``None`` for ``warmup_steps <= 0`` (no warm-up).
    """
    import torch

    if warmup_steps <= 0:
        return None
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda k: min(1.0, (k + 1) / warmup_steps))


def predict_logits(net, X, batch_size: int = NET_BATCH, device=None):
    """Logits for an input tensor (N, 1, ...), in evaluation mode, as numpy (N, n_outputs)."""
    import torch

    net.eval()
    with torch.inference_mode():
        out = net_batches(lambda xb: net(xb.to(device) if device is not None else xb).float().cpu().numpy(), X,
                          batch_size)
    return out if out is not None else np.zeros((0, 1), np.float32)


def evaluate(net, X, y, loss_fn, n_outputs, device) -> dict:
    """Validation loss, accuracy and (binary) AUC."""
    import torch

    from lfkit.metrics import roc_auc

    logits = predict_logits(net, X, device=device)
    with torch.no_grad():
        loss = float(loss_fn(torch.as_tensor(logits, device=device), _targets(torch.as_tensor(y, device=device), n_outputs)))
    if n_outputs == 1:
        score = logits[:, 0]
        acc = float(((score >= 0).astype(int) == y).mean())
        auc = roc_auc(y, score) if len(np.unique(y)) == 2 else None
    else:
        acc = float((logits.argmax(1) == y).mean())
        auc = None
    return {"val_loss": loss, "val_accuracy": acc, "val_auc": auc}


def fit_classifier(net, X, y, n_outputs: int, epochs: int, batch_size: int, lr: float, weight_decay: float,
                   val_fraction: float, patience: int, seed: int, device: str = "cpu", hooks: dict | None = None,
                   split=None, warmup_epochs: float = 0.0):
    """Train ``net`` as a classifier with early stopping; the best epoch's weights are kept.

    Parameters
    ----------
    net : torch.nn.Module
    X : np.ndarray, shape (N, F, T) or (N, n_samples)
    y : np.ndarray of int, shape (N,)
        0/1 for ``n_outputs == 1`` (binary cross-entropy, positives weighted
        by the class ratio), else class indices (cross-entropy, balanced).
    hooks : dict
        ``{"on_epoch": callable(record)}``, called after every epoch;
        ``"checkpoint"``: a :class:`lfkit.checkpoint.Checkpoint` to resume from and save to.
    split : tuple of 2 np.ndarray or None
        ``(train, val)`` indices into ``X``; default
        ``stratified_split(y, val_fraction, seed)`` (augmented copies of the
        training clips come with a split that keeps them out of validation).
    warmup_epochs : float
        Linear learning-rate warm-up over this many epochs' batches
        (:func:`warmup_scheduler`); 0 is none.

    Returns
    -------
    history : list of dict
        One record per epoch: ``epoch``, ``loss``, ``val_loss``,
        ``val_accuracy``, ``val_auc``, ``seconds``, ``best``.
    best : dict
        The record of the epoch kept.
    """
    import torch

    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size)
    if not lr > 0:
        raise ParameterError(f"lr={lr!r} must be positive")
    hooks = hooks or {}
    dev = torch_device(device)
    seed_everything(seed)
    y = np.asarray(y, dtype=np.int64)
    tr, va = stratified_split(y, val_fraction, seed) if split is None else (np.asarray(split[0]), np.asarray(split[1]))
    Xt = as_input(X, None)
    net.to(dev)
    loss_fn = _loss_fn(n_outputs, y[tr], dev)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x7EA1]))
    steps_per_epoch = -(-len(tr) // batch_size)
    scheduler = warmup_scheduler(opt, int(round(warmup_epochs * steps_per_epoch)))
    history, best, best_state, stale = [], None, None, 0
    ckpt = hooks.get("checkpoint")  # lfkit.checkpoint.Checkpoint: resume from, and save after every epoch
    run = {"n": int(len(y)), "shape": list(np.shape(X)), "n_outputs": n_outputs, "batch_size": batch_size,
           "lr": lr, "weight_decay": weight_decay, "seed": int(seed), "train": np.asarray(tr).tolist()}
    state = ckpt.restore(run, net, opt, [rng]) if ckpt is not None else None
    if state is not None:
        history, best, best_state, stale = state["history"], state["best"], state["best_state"], state["stale"]
        if scheduler is not None:  # a resumed run continues the warm-up where it stopped
            import warnings

            with warnings.catch_warnings():  # replaying steps already taken: no optimiser step is owed here
                warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)`")
                for _ in range(len(history) * steps_per_epoch):
                    scheduler.step()
    stopped = bool(patience and stale >= patience)
    for epoch in range(len(history) + 1, 0 if stopped else epochs + 1):
        t0 = time.perf_counter()
        loss = train_one_epoch(net, Xt[tr], y[tr], loss_fn, opt, batch_size, rng, n_outputs, dev, scheduler)
        if not np.isfinite(loss):
            raise DataError(f"training diverged at epoch {epoch} (loss={loss}); lower --lr")
        rec = {"epoch": epoch, "loss": loss}
        if len(va):
            rec.update(evaluate(net, Xt[va], y[va], loss_fn, n_outputs, dev))
            key = (rec["val_loss"], -(rec["val_auc"] or 0.0))
        else:
            key = (loss, 0.0)
        rec["seconds"] = time.perf_counter() - t0
        improved = best is None or key < best["_key"]
        rec["best"] = improved
        if improved:
            best = dict(rec, _key=key)
            best_state = copy.deepcopy(net.state_dict())
            stale = 0
        else:
            stale += 1
        history.append(rec)
        if "on_epoch" in hooks:
            hooks["on_epoch"](rec)
        if ckpt is not None:
            ckpt.save(run, net, opt, [rng], history, best, best_state, stale)
        if patience and stale >= patience:
            break
    net.load_state_dict(best_state)
    net.eval()
    best.pop("_key", None)
    return history, best
