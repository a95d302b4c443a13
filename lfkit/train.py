"""``lfkit train-binary``: load, train one-vs-rest (the loop is :mod:`lfkit.train_loop`), pick the threshold
and, on request, the learning rate on the validation split, save the model file."""

from __future__ import annotations

import time

import numpy as np

from lfkit.config import DEFAULT_THRESHOLD, AugmentConfig, TrainConfig
from lfkit.errors import DataError, ParameterError
from lfkit.lr_search import lr_record, search_lr, use_lr_search
from lfkit.train_loop import as_input, fit_classifier, predict_logits, seed_everything, stratified_split

__all__ = ["seed_everything", "stratified_split", "fit_classifier", "train_binary", "predict_logits",
           "validation_threshold", "search_binary_lr"]


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
        backgrounds = load_backgrounds(background, ds.sr, ds.X.shape[1], channel) if background is not None else None
        X, y_fit, split = multi_condition_set(ds.X, ds.sr, y, split, aug, cfg.seed,
                                              ds.frontend if kind == "spectrogram" else None, backgrounds)
    kwargs = {"n_outputs": 1, **({"mean_branch": True} if cfg.arch == "speccnn" and cfg.mean_branch else {})}
    cfg, lr_tried = use_lr_search(
        cfg, lambda: search_binary_lr(lambda: create_model(cfg.arch, **kwargs), X, y_fit, split, cfg, notice), notice)
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
    probe, va = None, split[1]
    z_val = predict_logits(net, as_input(X[va], None))[:, 0] if len(va) else None  # once: fusion and threshold
    if cfg.probe and kind == "spectrogram" and len(np.unique(y_fit[va])) == 2:
        from lfkit.fusion import fit_fusion

        probe = fit_fusion(X[split[0]], y_fit[split[0]], X[va], y_fit[va], z_val, cfg.seed)
        if notice:
            notice(f"probe: weight {probe['weight']:g} of a linear probe on the time-averaged input (validation "
                   f"AUC {', '.join('-' if a is None else f'{a:.3f}' for a in probe['val_auc'])} at weights "
                   f"{', '.join(f'{w:g}' for w in probe['weights'])})")
    elif cfg.probe and kind == "spectrogram" and notice:
        notice("probe: no validation split with both classes; the network alone")
    threshold, bacc = validation_threshold(z_val, X[va], y_fit[va], notice, probe=probe)
    seconds = time.perf_counter() - t0
    others = sorted(c for c in ds.classes if c != positive)
    training = {"config": cfg.to_dict(), "best": best, "epochs_run": len(history), "seconds": seconds,
                "n_train": int(len(y)), "n_positive": int(y.sum()), "data": str(data),
                "augment": aug.to_dict(), "background": None if background is None else str(background),
                "n_fit": int(len(split[0])), "threshold": threshold, "threshold_method": "balanced_accuracy",
                "val_balanced_accuracy": bacc, "frontend_selection": ds.selection,
                **({"probe": {k: probe[k] for k in ("weight", "weights", "val_auc", "C")}} if probe else {}),
                **({"members_best": records} if len(members) > 1 else {}),
                **({"lr_search": lr_record(lr_tried, "val_auc")} if lr_tried else {})}
    save_model(output, "binary", ds.frontend,
               {"kind": kind, "sr": ds.sr, "n_samples": ds.n_samples, "shape": list(X.shape[1:])},
               arch=cfg.arch, arch_kwargs=members[0].arch_kwargs, state_dict=members[0].state_dict(),
               classes=others + [positive], positive=positive, threshold=threshold, training=training,
               extra={**({"ensemble": [m.state_dict() for m in members[1:]]} if len(members) > 1 else {}),
                      **({"probe": {k: v for k, v in probe.items() if k not in ("weights", "val_auc")}} if probe else {})}
               or None)
    if log_path:
        io.write_jsonl(history, log_path)
    return training


def search_binary_lr(build, X, y, split, cfg, notice=None) -> list:
    """:func:`lfkit.lr_search.search_lr` for a binary classifier: each of ``cfg.lr_search`` on the validation split.

    Each candidate trains a fresh network (``build()``, built after seeding with
    ``cfg.seed``) for ``cfg.lr_search_epochs`` epochs (at most ``cfg.epochs``)
    on ``split``'s training part, without early stopping; its best epoch's
    validation loss (then AUC) ranks it.
    """
    if not len(split[1]):
        raise ParameterError("lr_search needs a validation split (val_fraction > 0)")

    def train_at(rate):
        seed_everything(cfg.seed)
        _, best = fit_classifier(build(), X, y, 1, min(cfg.epochs, cfg.lr_search_epochs), cfg.batch_size, rate,
                                 cfg.weight_decay, cfg.val_fraction, 0, cfg.seed, cfg.device, None, split=split,
                                 warmup_epochs=cfg.warmup_epochs)
        return best["val_loss"], best.get("val_auc")

    return search_lr(train_at, cfg.lr_search, notice)


def validation_threshold(net_logit, X_val, y_val, notice=None, probe=None) -> tuple[float, float | None]:
    """The decision threshold on the scorer's scale (sigmoid of the logit), picked on the validation split.

    Best balanced accuracy (:func:`lfkit.thresholds.balanced_accuracy_threshold`)
    over the validation clips; 0.5 with a notice when the split is empty or
    holds one class. With ``probe`` (:mod:`lfkit.fusion`) the logit is the
    fused one, as the scorer computes it.

    Parameters
    ----------
    net_logit : np.ndarray, shape (n_val,), or None
        The trained network's logits on the validation clips (None: no split).
    X_val : np.ndarray, shape (n_val, ...)
        Those clips' inputs (the probe reads them).
    y_val : np.ndarray of int, shape (n_val,)

    Returns
    -------
    threshold : float
    balanced_accuracy : float or None
        On the validation split, at ``threshold``.
    """
    from lfkit.thresholds import balanced_accuracy_threshold

    yv = np.asarray(y_val)
    if net_logit is None or len(np.unique(yv)) < 2:
        if notice:
            notice(f"threshold: no validation split with both classes; using {DEFAULT_THRESHOLD:g}")
        return DEFAULT_THRESHOLD, None
    from lfkit.inference.heads import fused_logit

    logit = fused_logit(net_logit, X_val, probe)
    p = 1.0 / (1.0 + np.exp(-logit))
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
