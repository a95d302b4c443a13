"""Defaults, declared once, as frozen dataclasses that round-trip to JSON.

The command-line shell takes its option defaults from these classes and a
model file stores the front end it was trained with as ``FrontendConfig.to_dict()``.
This module imports only the standard library, so ``lfkit --help`` stays fast.

The shared pieces live in :mod:`lfkit.config_base`, the training regimes in
:mod:`lfkit.config_regimes`; both are re-exported here, the one place to import from.
"""

from __future__ import annotations

from dataclasses import dataclass

from lfkit.config_base import (
    AUTO_KIND,
    DEFAULT_DEVICE,
    DEFAULT_THRESHOLD,
    MAX_DURATION_S,
    MAX_N_FFT,
    MAX_SR,
    NOISE_KINDS,
    NORMS,
    SPECTRO_KINDS,
    RunConfig,
    _JsonConfig,
)
from lfkit.config_regimes import (
    AUGMENT_KINDS,
    DETECTOR_DEFAULTS,
    LR_MAX,
    MINING_KINDS,
    REDUCE_KINDS,
    SIAMESE_AUGMENTS,
    SIAMESE_LOSSES,
    SURROGATE_SOURCES,
    AugmentConfig,
    DetectorDefaults,
    OneClassConfig,
    SiameseConfig,
    TrainConfig,
    _LR_SEARCH_EXAMPLE,
    check_lr_search,
)
from lfkit.errors import ParameterError, check_number

__all__ = [
    "SPECTRO_KINDS",
    "AUTO_KIND",
    "NORMS",
    "NOISE_KINDS",
    "MAX_SR",
    "MAX_N_FFT",
    "MAX_DURATION_S",
    "DEFAULT_DEVICE",
    "DEFAULT_THRESHOLD",
    "RunConfig",
    "FrontendConfig",
    "PcenConfig",
    "PCEN",
    "SynthConfig",
    "TrainConfig",
    "LR_MAX",
    "check_lr_search",
    "_LR_SEARCH_EXAMPLE",
    "AugmentConfig",
    "AUGMENT_KINDS",
    "OneClassConfig",
    "SURROGATE_SOURCES",
    "DetectorDefaults",
    "DETECTOR_DEFAULTS",
    "SiameseConfig",
    "REDUCE_KINDS",
    "SIAMESE_LOSSES",
    "MINING_KINDS",
    "SIAMESE_AUGMENTS",
    "ReadConfig",
]

@dataclass(frozen=True)
class FrontendConfig(_JsonConfig):
    """How a waveform becomes the spectrogram a model sees.

    Parameters
    ----------
    kind : str
        One of :data:`SPECTRO_KINDS`: ``linear`` (power), ``log`` (power in dB),
        ``mel`` (mel power), ``logmel`` (mel power in dB), ``pcen`` (per-channel
        energy normalisation of mel power), ``mfcc``, ``whiten`` (power in dB
        above its running-median noise floor across frequency, :mod:`lfkit.floor`).
        ``auto`` (:data:`AUTO_KIND`) asks training to choose the kind, band
        and ``n_fft`` from the labelled clips (:mod:`lfkit.autofront`); it
        computes no spectrogram by itself.
    sr : int or None
        Sample rate in Hz to resample to first; ``None`` keeps the file's rate.
    n_fft : int
        FFT length in samples (Hann window of the same length).
    hop_length : int
        Samples between frames. Frames are not centred: a clip of ``n``
        samples gives ``1 + (n - n_fft) // hop_length`` frames.
    fmin, fmax : float or None
        Band kept, in Hz. Linear and log spectrograms are cropped to the FFT
        bins inside [fmin, fmax]; mel kinds place their filters in it.
        ``fmax=None`` means ``sr / 2``. The default band, 0 to 1000 Hz, is
        where the seed experiments put their tones.
    n_mels : int
        Mel bands for the mel kinds.
    n_mfcc : int
        Coefficients kept for ``mfcc``.
    norm : str
        ``none`` or ``standard`` (per-clip zero mean, unit variance).
    """

    kind: str = "log"
    sr: int | None = None
    n_fft: int = 4096
    hop_length: int = 1024
    fmin: float = 0.0
    fmax: float | None = 1000.0
    n_mels: int = 64
    n_mfcc: int = 20
    norm: str = "standard"

    def __post_init__(self):
        from lfkit.errors import check_choice, check_positive_int

        check_choice("kind", self.kind, SPECTRO_KINDS + (AUTO_KIND,))
        check_choice("norm", self.norm, NORMS)
        check_positive_int("n_fft", self.n_fft)
        check_positive_int("hop_length", self.hop_length)
        check_positive_int("n_mels", self.n_mels)
        check_positive_int("n_mfcc", self.n_mfcc)
        if self.sr is not None:
            check_positive_int("sr", self.sr)
            check_number("sr", self.sr, 1, MAX_SR, unit=" Hz")
        check_number("n_fft", self.n_fft, 1, MAX_N_FFT)
        check_number("hop_length", self.hop_length, 1, MAX_N_FFT)
        check_number("n_mels", self.n_mels, 1, 4096)
        check_number("n_mfcc", self.n_mfcc, 1, 4096)
        check_number("fmin", self.fmin, 0, MAX_SR, unit=" Hz")
        if self.fmax is not None:
            check_number("fmax", self.fmax, 0, MAX_SR, unit=" Hz")
        if self.fmax is not None and self.fmax <= self.fmin:
            raise ParameterError(f"fmax={self.fmax!r} must be greater than fmin={self.fmin!r}")



@dataclass(frozen=True)
class PcenConfig(_JsonConfig):
    """Per-channel energy normalisation's constants (librosa's defaults), for ``--kind pcen``.

    Parameters
    ----------
    gain : float
        Exponent of the smoothed energy dividing the input (AGC strength).
    bias : float
        Offset added before the root compression.
    power : float
        Root compression exponent.
    time_constant : float
        Smoother's time constant, seconds.
    eps : float
        Floor of the smoothed energy.
    """

    gain: float = 0.98
    bias: float = 2.0
    power: float = 0.5
    time_constant: float = 0.4
    eps: float = 1e-6


#: The PCEN constants every spectrogram of kind ``pcen`` uses.
PCEN = PcenConfig()


@dataclass(frozen=True)
class SynthConfig(_JsonConfig):
    """Defaults of the tone-in-noise generator (``lfkit synth``).

    Parameters
    ----------
    sr : int
        Sample rate in Hz.
    duration_s : float
        Clip length in seconds.
    snr_db : float
        Per-tone SNR, ``10*log10((A**2/2)/sigma**2)``, sigma**2 the noise
        variance over the full band.
    noise : str
        ``white``, ``pink`` or ``brown``.
    min_tones, max_tones : int
        Range of the number of random tones.
    tone_fmin_hz, tone_fmax_hz : float
        Band of random tone frequencies, in Hz.
    jitter_hz : float
        Standard deviation of a per-clip random offset of every tone (0: off).
    drift_hz : float
        Largest slow linear drift of a tone over a clip (0: off).
    gain_spread_db : float
        Standard deviation of per-tone gain around the requested SNR (0: off).
    harmonics : int
        Extra harmonics per tone (0: off); harmonic k has amplitude A / k.
    peak : float
        The peak absolute sample value after scaling into [-1, 1].
    """

    sr: int = 44100
    duration_s: float = 1.0
    snr_db: float = -30.0
    noise: str = "white"
    min_tones: int = 1
    max_tones: int = 10
    tone_fmin_hz: float = 20.0
    tone_fmax_hz: float = 1000.0
    jitter_hz: float = 0.0
    drift_hz: float = 0.0
    gain_spread_db: float = 0.0
    harmonics: int = 0
    peak: float = 0.9

    def __post_init__(self):
        from lfkit.errors import check_choice, check_positive_int

        check_positive_int("sr", self.sr)
        check_number("sr", self.sr, 1, MAX_SR, unit=" Hz")
        check_choice("noise", self.noise, NOISE_KINDS)
        if not (isinstance(self.duration_s, (int, float)) and self.duration_s > 0):
            raise ParameterError(f"duration={self.duration_s!r} must be a positive number of seconds")
        check_number("duration", self.duration_s, 0, MAX_DURATION_S, lo_open=True, unit=" s")
        for name in ("tone_fmin_hz", "tone_fmax_hz", "jitter_hz", "drift_hz"):
            check_number(name, getattr(self, name))
        check_number("gain_spread_db", self.gain_spread_db, 0, 60, unit=" dB")
        check_number("harmonics", self.harmonics, 0, 1000)
        check_positive_int("min_tones", self.min_tones)
        if self.max_tones < self.min_tones:
            raise ParameterError(f"max_tones={self.max_tones} must be >= min_tones={self.min_tones}")
        if not 0 < self.tone_fmin_hz < self.tone_fmax_hz < self.sr / 2:
            raise ParameterError(
                f"tone_fmin_hz={self.tone_fmin_hz:g}, tone_fmax_hz={self.tone_fmax_hz:g} must satisfy "
                f"0 < fmin < fmax < sr/2 = {self.sr / 2:g}"
            )
        for name in ("jitter_hz", "drift_hz", "gain_spread_db"):
            if getattr(self, name) < 0:
                raise ParameterError(f"{name}={getattr(self, name)!r} must be >= 0")
        if self.harmonics < 0:
            raise ParameterError(f"harmonics={self.harmonics!r} must be >= 0")
        if not 0 < self.peak <= 1:
            raise ParameterError(f"peak={self.peak!r} must be in (0, 1]")



@dataclass(frozen=True)
class ReadConfig(_JsonConfig):
    """Bounds on what a reader takes in, so no input can exhaust memory or time.

    Parameters
    ----------
    max_bytes : int
        Largest file (or standard input) read whole, in bytes: 2 GiB.
    """

    max_bytes: int = 2 * 1024**3

    def __post_init__(self):
        from lfkit.errors import check_positive_int

        check_positive_int("max_bytes", self.max_bytes)
