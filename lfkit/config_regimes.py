"""Defaults of the training regimes: binary, augmentation, one-class (and its detectors), siamese.

Imported (and re-exported) by :mod:`lfkit.config`; import from there.
"""

from __future__ import annotations

from dataclasses import dataclass

from lfkit.config_base import DEFAULT_DEVICE, _JsonConfig
from lfkit.errors import ParameterError, check_device, check_number, check_seed


#: Largest learning rate (``--lr``, and each ``--lr-search`` candidate).
LR_MAX = 10.0
_LR_SEARCH_EXAMPLE = "--lr-search takes learning rates separated by commas, e.g. 3e-4,1e-3,3e-3"


def check_lr_search(rates) -> tuple:
    """``rates`` as a tuple of floats, each in (0, ``LR_MAX``]; else a :class:`ParameterError` naming ``lr_search``."""
    if isinstance(rates, (str, bytes)) or not hasattr(rates, "__iter__"):
        raise ParameterError(f"lr_search={rates!r} must be a sequence of learning rates ({_LR_SEARCH_EXAMPLE})")
    out = []
    for rate in rates:
        try:
            out.append(check_number("lr_search", rate, 0, LR_MAX, lo_open=True))
        except ParameterError as exc:
            raise ParameterError(f"{exc} ({_LR_SEARCH_EXAMPLE})") from None
    return tuple(out)


@dataclass(frozen=True)
class _NetworkTraining(_JsonConfig):
    """What every regime that trains a network shares: the learning-rate search (:mod:`lfkit.lr_search`).

    Parameters
    ----------
    lr_search : tuple of float
        Candidate learning rates, each in (0, 10]: each trains a fresh
        network from the run's seed for ``lr_search_epochs`` epochs (at most
        ``epochs``) on the training split, and the one of lowest validation
        loss becomes ``lr``. Empty: ``lr`` as given.
    lr_search_epochs : int
        Epochs per candidate.
    """

    lr_search: tuple = ()
    lr_search_epochs: int = 3


@dataclass(frozen=True)
class TrainConfig(_NetworkTraining):
    """Defaults of ``lfkit train-binary`` (the seed paper: BCE, 20 epochs, batch 20).

    ``mean_branch`` adds Spec-CNN's time-averaged-spectrum branch (``speccnn``
    only). The decision threshold is picked on the validation split (best
    balanced accuracy) and stored in the model. ``ensemble`` networks are
    trained with seeds ``seed``, ``seed + 1``, ... and stored in one model
    file whose score is their mean probability. The learning rate rises
    linearly from ``lr / steps`` to ``lr`` over the first ``warmup_epochs``
    epochs' batches (0: no warm-up). ``lr_search`` and ``lr_search_epochs``:
    see :class:`_NetworkTraining`. With ``probe`` (off by default: see the README) a
    linear probe on the time-averaged input is fitted on the training split
    and fused with the network at the weight of best validation AUC
    (:mod:`lfkit.fusion`; weight 0 is the network alone).
    """

    arch: str = "speccnn"
    epochs: int = 20
    batch_size: int = 20
    lr: float = 1e-3
    weight_decay: float = 1e-4
    val_fraction: float = 0.2
    patience: int = 6
    seed: int = 0
    device: str = DEFAULT_DEVICE
    mean_branch: bool = True
    ensemble: int = 1
    warmup_epochs: float = 1.0
    probe: bool = False

    def __post_init__(self):
        from lfkit.errors import check_positive_int

        check_positive_int("epochs", self.epochs)
        check_positive_int("batch_size", self.batch_size)
        check_number("warmup_epochs", self.warmup_epochs, 0, 1000)
        check_number("ensemble", self.ensemble, 1, 64)
        check_positive_int("ensemble", self.ensemble)
        _check_common(self)


#: Augmentations ``train-binary --augment`` knows: waveform level, then spectrogram level.
AUGMENT_KINDS = ("gain", "shift", "noise", "pitch", "tmask", "fmask")


@dataclass(frozen=True)
class AugmentConfig(_JsonConfig):
    """Multi-condition training: augmented copies of the training split, made once.

    Parameters
    ----------
    kinds : tuple of str
        From :data:`AUGMENT_KINDS`: ``gain`` (random level, +-``gain_db``),
        ``shift`` (circular time shift), ``noise`` (white, pink or brown noise
        at a clip-to-noise power ratio drawn from ``snr_db``), ``pitch`` (every
        frequency scaled by up to +-``max_pitch``, by resampling), ``tmask``
        and ``fmask`` (spectrogram masks along time and frequency). Empty: off.
    copies : int
        Augmented copies of every training clip (the validation split is never
        augmented).
    snr_db : tuple of 2 float
        ``(LO, HI)``: the power of the clip over that of the added noise or
        background, in dB, drawn uniformly per copy.
    gain_db : float
        Largest random gain, dB.
    max_pitch : float
        Largest relative frequency shift (0.003: 777 Hz moves up to 2.3 Hz).
    tmask_frac : float
        Longest time mask, as a share of the frames.
    fmask_bins : int
        Widest frequency mask, in bins.
    """

    kinds: tuple = ("gain", "shift", "noise", "pitch", "tmask")
    copies: int = 2
    snr_db: tuple = (0.0, 20.0)
    gain_db: float = 6.0
    max_pitch: float = 0.003
    tmask_frac: float = 0.1
    fmask_bins: int = 2

    def __post_init__(self):
        from lfkit.errors import check_positive_int

        bad = [k for k in self.kinds if k not in AUGMENT_KINDS]
        if bad:
            raise ParameterError(f"augment={bad[0]!r} is not known; choose from: {', '.join(AUGMENT_KINDS)} or none")
        check_positive_int("augment_copies", self.copies)
        check_positive_int("fmask_bins", self.fmask_bins)
        lo, hi = self.snr_db
        if not (-60.0 <= lo <= hi <= 60.0):
            raise ParameterError(f"augment_snr={lo:g}:{hi:g} must be LO:HI dB with -60 <= LO <= HI <= 60")
        if not 0 <= self.gain_db <= 40:
            raise ParameterError(f"gain_db={self.gain_db!r} must be in [0, 40] dB")
        if not 0 <= self.max_pitch <= 0.1:
            raise ParameterError(f"max_pitch={self.max_pitch!r} must be in [0, 0.1]")
        if not 0 <= self.tmask_frac < 1:
            raise ParameterError(f"tmask_frac={self.tmask_frac!r} must be in [0, 1)")


def _check_common(cfg) -> None:
    """The numeric fields every training configuration shares: finite, in range; seed, device, the lr search."""
    from lfkit.errors import check_positive_int

    object.__setattr__(cfg, "lr_search", check_lr_search(cfg.lr_search))  # a JSON round trip gives a list
    check_positive_int("lr_search_epochs", cfg.lr_search_epochs)
    check_number("lr", cfg.lr, 0, LR_MAX, lo_open=True)
    check_number("weight_decay", cfg.weight_decay, 0, 10)
    check_number("val_fraction", cfg.val_fraction, 0, 1, hi_open=True)
    if hasattr(cfg, "patience"):
        check_number("patience", cfg.patience, 0, 10**6)
    check_seed(cfg.seed)
    check_device(cfg.device)


@dataclass(frozen=True)
class DetectorDefaults:
    """The one-class detectors' defaults (:mod:`lfkit.detectors`), shared with :class:`OneClassConfig`.

    Parameters
    ----------
    nu : float
        One-class SVM's nu, in (0, 1): at 1 every training clip would be a bounded support vector
        and the SVM has no boundary (scikit-learn's fit fails).
    gamma : float
        One-class SVM's RBF width on standardised features.
    n_components : int
        Gaussian mixture components.
    n_estimators : int
        Isolation forest trees.
    contamination : float
        Expected share of training outliers (gmm, iforest), in (0, 0.5].
    """

    nu: float = 0.08
    gamma: float = 0.001
    n_components: int = 18
    n_estimators: int = 70
    contamination: float = 0.08


#: The values :class:`DetectorDefaults` declares.
DETECTOR_DEFAULTS = DetectorDefaults()

#: What the one-class ``raw`` extractor keeps of a spectrogram (``--reduce``).
REDUCE_KINDS = ("mean", "pca", "none")
#: Siamese losses, triplet minings and batch augmentations (``--loss``, ``--mining``, ``--augment``).
SIAMESE_LOSSES = ("contrastive", "triplet")
MINING_KINDS = ("hard", "semihard")
SIAMESE_AUGMENTS = ("none", "shift", "twins", "vary")

#: Sources of one-class surrogate classes (:mod:`lfkit.surrogate_data`).
SURROGATE_SOURCES = ("shift", "notch", "add", "background", "tones", "aux")


@dataclass(frozen=True)
class OneClassConfig(_NetworkTraining):
    """Defaults of ``lfkit train-oneclass`` (the seed paper: 30 epochs, batch 30; here 10 epochs, early
    stopping after 3 without progress: the joint score carries the rest, in under 2 minutes on 2 cores).

    Parameters
    ----------
    extractor : str
        ``ocspeccnn``, ``raw`` or any spectrogram architecture of the registry.
    detector : str
        ``ocsvm``, ``gmm`` or ``iforest``.
    reduce : str
        ``raw`` extractor only: ``mean`` (time-averaged spectrum), ``pca`` or ``none``.
    n_surrogate : int
        Surrogate classes generated to train a learned extractor (no ``--aux``).
    clips_per_class : int
        Clips per surrogate class (0: a quarter of the positives, at least 10).
    nu : float
        One-class SVM's nu, in (0, 1).
    gamma : str
        RBF width on standardised features, a number or ``scale``.
    surrogates : str
        Comma-separated sources of the surrogate classes (:mod:`lfkit.surrogate_data`):
        ``shift``, ``notch``, ``add``, ``background``, ``tones``, ``aux``.
    joint : bool
        Learned extractors: join the learned detector with a detector on the
        whitened time-averaged spectrum, weighted on held-out positives
        (:mod:`lfkit.joint`).
    """

    extractor: str = "ocspeccnn"
    detector: str = "ocsvm"
    reduce: str = "mean"
    epochs: int = 10
    batch_size: int = 30
    lr: float = 1e-3
    weight_decay: float = 1e-4
    val_fraction: float = 0.2
    patience: int = 3
    n_surrogate: int = 16
    clips_per_class: int = 0
    nu: float = DETECTOR_DEFAULTS.nu
    gamma: str = f"{DETECTOR_DEFAULTS.gamma:g}"
    n_components: int = DETECTOR_DEFAULTS.n_components
    n_estimators: int = DETECTOR_DEFAULTS.n_estimators
    contamination: float = DETECTOR_DEFAULTS.contamination
    surrogates: str = "shift,notch,add,tones"
    joint: bool = True
    seed: int = 0
    device: str = DEFAULT_DEVICE

    def __post_init__(self):
        from lfkit.errors import check_choice, check_positive_int

        check_choice("reduce", self.reduce, REDUCE_KINDS)
        names = [n.strip() for n in str(self.surrogates).split(",") if n.strip()]
        if not names or any(n not in SURROGATE_SOURCES for n in names):
            bad = next((n for n in names if n not in SURROGATE_SOURCES), "")
            raise ParameterError(f"surrogates={self.surrogates!r}: {bad!r} is not a surrogate source; "
                                 f"choose from: {', '.join(SURROGATE_SOURCES)}")
        check_positive_int("epochs", self.epochs)
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("n_surrogate", self.n_surrogate)
        check_positive_int("n_components", self.n_components)
        check_positive_int("n_estimators", self.n_estimators)
        try:
            check_number("nu", self.nu, 0, 1, lo_open=True, hi_open=True)
        except ParameterError as exc:
            why = ": at 1 every training clip is a bounded support vector and the SVM has no boundary"
            raise ParameterError(f"{exc}{why if self.nu == 1 else ''}") from None
        if isinstance(self.contamination, bool) or not 0 < self.contamination <= 0.5:
            raise ParameterError(f"contamination={self.contamination!r} must be in (0, 0.5]")
        if self.clips_per_class < 0:
            raise ParameterError(f"clips_per_class={self.clips_per_class!r} must be >= 0 (0: automatic)")
        if not self.lr > 0:
            raise ParameterError(f"lr={self.lr!r} must be positive")
        _check_common(self)


@dataclass(frozen=True)
class SiameseConfig(_NetworkTraining):
    """Defaults of ``lfkit train-siamese`` (the seed paper: 30 epochs, batch 10; here 6 epochs, the best
    validation epoch kept: the joint embedding carries the rest, in under 2 minutes on 2 cores).

    A batch holds ``batch_size`` identities with ``clips_per_class`` clips
    each; an epoch is as many batches as it takes to draw about as many clips
    as the training split holds. ``loss`` is ``contrastive`` (every pair of
    the batch, same and different pairs weighted equally) or ``triplet``
    (``mining``: ``hard`` = batch-hard, ``semihard`` = FaceNet's semi-hard
    negatives). ``margin`` is in embedding distance units (embeddings are
    L2-normalised when ``normalize``, so distances lie in [0, 2]).

    ``augment`` creates new identities in every training batch: ``shift``
    rolls all the clips of one identity along the frequency axis by the same
    random number of bins (at most ``max_shift_bins`` either way; every
    identity of the batch gets its own shift), so that 20 training signatures
    become hundreds and the network learns "same line positions = same
    source" instead of memorising them; ``twins`` (the default) also splits each
    identity's clips into two identities shifted differently (same line
    pattern, other positions: the hardest negatives); ``vary`` is ``twins``
    plus per-clip variation a real source shows (a one-bin jitter, a tilt of
    the noise floor, a contrast spread); ``none`` trains on the data as is.

    ``joint`` joins the learned embedding with the whitened mean spectrum,
    weighted on the validation identities (:mod:`lfkit.siamese_joint`).
    """

    arch: str = "sispeccnn"
    loss: str = "contrastive"
    mining: str = "hard"
    margin: float = 1.0
    epochs: int = 6
    batch_size: int = 10
    clips_per_class: int = 4
    lr: float = 1e-3
    weight_decay: float = 1e-4
    val_fraction: float = 0.2
    embedding_dim: int = 64
    normalize: bool = True
    augment: str = "twins"
    max_shift_bins: int = 48
    joint: bool = True
    seed: int = 0
    device: str = DEFAULT_DEVICE

    def __post_init__(self):
        from lfkit.errors import check_choice, check_positive_int

        check_choice("loss", self.loss, SIAMESE_LOSSES)
        check_choice("augment", self.augment, SIAMESE_AUGMENTS)
        check_positive_int("max_shift_bins", self.max_shift_bins)
        check_choice("mining", self.mining, MINING_KINDS)
        for name in ("epochs", "batch_size", "clips_per_class", "embedding_dim"):
            check_positive_int(name, getattr(self, name))
        if not (isinstance(self.margin, (int, float)) and self.margin > 0):
            raise ParameterError(f"margin={self.margin!r} must be a positive number")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ParameterError(f"lr={self.lr!r} must be a positive number")
        if not 0 < self.val_fraction < 1:
            raise ParameterError(f"val_fraction={self.val_fraction!r} must be in (0, 1)")
        check_number("margin", self.margin, 0, 1e6, lo_open=True)
        _check_common(self)
