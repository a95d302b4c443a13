"""A plain, seeded training loop (pytorch/examples style), and ``train-binary``.

``train_one_epoch`` and ``evaluate`` do one pass each; :func:`fit_classifier`
runs them with early stopping on the validation loss, keeping the best epoch,
and calls hooks by name (``on_epoch(record)``) for progress and logs.
Deterministic on the CPU: the same data, arguments and seed give the same
weights.
"""

from __future__ import annotations

import copy
import time

import numpy as np

from lfkit.config import DEFAULT_THRESHOLD, AugmentConfig, TrainConfig
from lfkit.errors import DataError, ParameterError, check_positive_int
from lfkit.parallel import NET_BATCH, net_batches

__all__ = ["seed_everything", "stratified_split", "fit_classifier", "train_binary", "predict_logits",
           "validation_threshold"]


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


def train_binary(data, output, positive: str = "positive", cfg: TrainConfig = TrainConfig(),
                 frontend_changes: dict | None = None, workers: int = 1, log_path=None, hooks=None, notice=None,
                 tones=None, augment: AugmentConfig | None = None, background=None, channel: int | None = None) -> dict:
    """The whole of ``lfkit train-binary``: load, train one-vs-rest, save the model file.

    Parameters
    ----------
    data : str
        Dataset folder or ``labels.csv`` (audio or spectrograms).
    output : str
        Model file path.
    positive : str
        The target label; every other label is the rest.
    cfg : TrainConfig
    frontend_changes : dict
        Spectrogram settings the user set (stored in the model).
    log_path : str or None
        Write the per-epoch history there as JSON Lines.
    hooks : dict
        Passed to :func:`fit_classifier`.
    tones : str or None
        The target's tones (Hz) for ``arch="knowntone"`` (default: the
        dataset's ``signatures.json``).
    augment : AugmentConfig or None
        Multi-condition training (:mod:`lfkit.augment`); ``None`` is
        ``AugmentConfig()``; ``AugmentConfig(kinds=())`` is off. Waveform kinds need audio: on a
        spectrogram folder only the masks apply (with a notice).
    background : str or None
        A folder of target-free recordings mixed into the augmented copies.
    notice : callable(str) or None
        Receives one-line messages (the threshold picked, augmentation notes).

    Returns
    -------
    dict
        Training summary (best epoch record, sizes, seconds, ``threshold``
        and the validation ``balanced_accuracy`` it reaches).
    """
    from lfkit import io
    from lfkit.data import load_dataset
    from lfkit.modelfile import save_model
    from lfkit.models import create_model, input_kind

    from lfkit.augment import WAVEFORM_KINDS, load_backgrounds, multi_condition_set
    from lfkit.baselines import BASELINES, train_baseline

    if cfg.arch in BASELINES:
        return train_baseline(data, output, positive, cfg, frontend_changes, tones, workers, notice=notice,
                              channel=channel)
    if tones is not None:
        raise ParameterError("tones is only for arch='knowntone'")
    from lfkit.models import model_names

    if cfg.arch not in model_names():
        raise ParameterError(f"arch={cfg.arch!r} is not known; choose one of: {', '.join(model_names() + BASELINES)}")
    kind = input_kind(cfg.arch)
    aug = augment if augment is not None else AugmentConfig()
    aug = _fit_augment_to_data(aug, data, background, notice)
    if kind == "waveform":  # masks act on spectrograms
        aug = aug.replace(kinds=tuple(k for k in aug.kinds if k in WAVEFORM_KINDS))
    waves = background is not None or any(k in WAVEFORM_KINDS for k in aug.kinds)
    ds = load_dataset(data, frontend_changes, kind="waveform" if waves else kind, workers=workers, channel=channel,
                      auto=kind == "spectrogram", positive=positive, notice=notice)
    labels = np.array(ds.labels)
    if positive not in set(ds.labels):
        raise ParameterError(f"positive={positive!r} is not a label of {data} (labels: {', '.join(ds.classes)})")
    if len(ds.classes) < 2:
        raise DataError(f"{data}: one class only ({ds.classes[0]!r}); binary training needs positives and others")
    y = (labels == positive).astype(np.int64)
    if min(y.sum(), (1 - y).sum()) < 2:
        raise DataError(f"{data}: need at least 2 clips of each side (positive={int(y.sum())}, rest={int((1 - y).sum())})")
    t0 = time.perf_counter()
    split = stratified_split(y, cfg.val_fraction, cfg.seed)
    X, y_fit = ds.X, y
    if aug.kinds or background is not None:
        backgrounds = load_backgrounds(background, ds.sr, ds.X.shape[1]) if background is not None else None
        X, y_fit, split = multi_condition_set(ds.X, ds.sr, y, split, aug, cfg.seed,
                                              ds.frontend if kind == "spectrogram" else None, backgrounds)
    kwargs = {"n_outputs": 1, **({"mean_branch": True} if cfg.arch == "speccnn" and cfg.mean_branch else {})}
    lr_tried = None
    if cfg.lr_search:
        lr_tried = search_lr(lambda: create_model(cfg.arch, **kwargs), X, y_fit, split, cfg, notice)
        cfg = cfg.replace(lr=min(lr_tried, key=lambda t: t["_key"])["lr"])
        if notice:
            notice(f"learning rate {cfg.lr:g} chosen on the validation split")
    members, records = [], []
    for k in range(cfg.ensemble):  # --ensemble K: K seeds, same data and split
        if cfg.ensemble > 1 and notice:
            notice(f"ensemble member {k + 1}/{cfg.ensemble} (seed {cfg.seed + k})")
        seed_everything(cfg.seed + k)
        net = create_model(cfg.arch, **kwargs)
        member_hooks = hooks if k == 0 else {h: f for h, f in (hooks or {}).items() if h != "checkpoint"}
        history, best = fit_classifier(net, X, y_fit, 1, cfg.epochs, cfg.batch_size, cfg.lr, cfg.weight_decay,
                                       cfg.val_fraction, cfg.patience, cfg.seed + k, cfg.device, member_hooks,
                                       split=split, warmup_epochs=cfg.warmup_epochs)
        members.append(net.cpu())
        records.append(best)
    if len(members) > 1:
        from lfkit.models.ensemble import Ensemble

        net = Ensemble(members)
    threshold, bacc = validation_threshold(net, X, y_fit, split[1], notice)
    seconds = time.perf_counter() - t0
    others = sorted(c for c in ds.classes if c != positive)
    training = {"config": cfg.to_dict(), "best": best, "epochs_run": len(history), "seconds": seconds,
                "n_train": int(len(y)), "n_positive": int(y.sum()), "data": str(data),
                "augment": aug.to_dict(), "background": None if background is None else str(background),
                "n_fit": int(len(split[0])), "threshold": threshold, "threshold_method": "balanced_accuracy",
                "val_balanced_accuracy": bacc, "frontend_selection": ds.selection,
                **({"members_best": records} if len(members) > 1 else {}),
                **({"lr_search": [{k: v for k, v in t.items() if k != "_key"} for t in lr_tried]} if lr_tried else {})}
    save_model(output, "binary", ds.frontend,
               {"kind": kind, "sr": ds.sr, "n_samples": ds.n_samples, "shape": list(X.shape[1:])},
               arch=cfg.arch, arch_kwargs=members[0].arch_kwargs, state_dict=members[0].state_dict(),
               classes=others + [positive], positive=positive, threshold=threshold, training=training,
               extra={"ensemble": [m.state_dict() for m in members[1:]]} if len(members) > 1 else None)
    if log_path:
        io.write_jsonl(history, log_path)
    return training


def parse_lr_search(text) -> tuple:
    """``"3e-4,1e-3,3e-3"`` -> the candidate learning rates (``None`` or ``""``: no search)."""
    if text is None or not str(text).strip():
        return ()
    try:
        return tuple(float(part) for part in str(text).split(","))
    except ValueError:
        raise ParameterError(f"lr_search={text!r} must be learning rates separated by commas, "
                             "e.g. 3e-4,1e-3,3e-3") from None


def search_lr(build, X, y, split, cfg, notice=None) -> list:
    """Try each learning rate of ``cfg.lr_search`` on the validation split; the caller keeps the lowest loss.

    Each candidate trains a fresh network (``build()``, seeded with
    ``cfg.seed``) for ``cfg.lr_search_epochs`` epochs (at most ``cfg.epochs``)
    on ``split``'s training part, without early stopping; its best epoch's
    validation loss (then AUC) ranks it. A rate whose training diverges ranks
    last. The test set is never seen.

    Returns
    -------
    list of dict
        Per candidate: ``lr``, ``val_loss``, ``val_auc`` (None when it
        diverged) and ``_key``, the sort key (lower is better).
    """
    if not len(split[1]):
        raise ParameterError("lr_search needs a validation split (val_fraction > 0)")
    tried = []
    for rate in cfg.lr_search:
        seed_everything(cfg.seed)
        try:
            _, best = fit_classifier(build(), X, y, 1, min(cfg.epochs, cfg.lr_search_epochs), cfg.batch_size, rate,
                                     cfg.weight_decay, cfg.val_fraction, 0, cfg.seed, cfg.device, None, split=split,
                                     warmup_epochs=cfg.warmup_epochs)
            val_loss, val_auc = float(best["val_loss"]), best.get("val_auc")
        except DataError:  # diverged
            val_loss, val_auc = None, None
        key = (val_loss if val_loss is not None and np.isfinite(val_loss) else np.inf, -(val_auc or 0.0))
        tried.append({"lr": rate, "val_loss": val_loss, "val_auc": val_auc, "_key": key})
        if notice:
            notice(f"lr {rate:g}: validation loss {'diverged' if val_loss is None else f'{val_loss:.4f}'}")
    return tried


def validation_threshold(net, X, y, val_idx, notice=None) -> tuple[float, float | None]:
    """The decision threshold on the scorer's scale (sigmoid of the logit), picked on the validation split.

    Best balanced accuracy (:func:`lfkit.thresholds.balanced_accuracy_threshold`)
    over the validation clips ``X[val_idx]``; 0.5 with a notice when the
    split is empty or holds one class.

    Returns
    -------
    threshold : float
    balanced_accuracy : float or None
        On the validation split, at ``threshold``.
    """
    from lfkit.thresholds import balanced_accuracy_threshold

    val_idx = np.asarray(val_idx, dtype=int)
    yv = np.asarray(y)[val_idx]
    if len(np.unique(yv)) < 2:
        if notice:
            notice(f"threshold: no validation split with both classes; using {DEFAULT_THRESHOLD:g}")
        return DEFAULT_THRESHOLD, None
    logit = predict_logits(net, as_input(X[val_idx], None))[:, 0]
    p = 1.0 / (1.0 + np.exp(-logit.astype(np.float64)))
    threshold, bacc = balanced_accuracy_threshold(yv, p)
    if notice:
        notice(f"threshold {threshold:.4g} (validation balanced accuracy {bacc:.3f}, {len(yv)} clips)")
    return threshold, bacc


def _fit_augment_to_data(aug: AugmentConfig, data, background, notice) -> AugmentConfig:
    """Drop the waveform kinds (with a notice) when ``data`` holds spectrograms; refuse ``background`` there."""
    from lfkit import io
    from lfkit.augment import WAVEFORM_KINDS

    rows, _ = io.read_labels(data)
    if not any(str(r.get("_file", "")).endswith(".npy") for r in rows):
        return aug
    if background is not None:
        raise ParameterError(f"background={background}: mixing recordings needs audio, but {data} holds spectrograms")
    wave = [k for k in aug.kinds if k in WAVEFORM_KINDS]
    if wave and notice:
        notice(f"augment: {data} holds spectrograms; {','.join(wave)} need audio and are skipped")
    return aug.replace(kinds=tuple(k for k in aug.kinds if k not in WAVEFORM_KINDS))
