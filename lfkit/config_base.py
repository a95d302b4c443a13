"""What every configuration shares: the registries of names, the JSON mixin and the run-wide defaults.

Imported (and re-exported) by :mod:`lfkit.config`; import from there. Only
the standard library and :mod:`lfkit.errors`, so ``lfkit --help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields

from lfkit.errors import ParameterError

#: Spectrogram kinds the front end computes, in the order the docs list them.
SPECTRO_KINDS = ("linear", "log", "mel", "logmel", "pcen", "mfcc", "whiten")
#: ``FrontendConfig.kind`` may also be this: chosen at training from the labelled clips (:mod:`lfkit.autofront`).
AUTO_KIND = "auto"
#: Per-clip normalisations.
NORMS = ("none", "standard")
#: Noise colours the generator draws.
NOISE_KINDS = ("white", "pink", "brown")
#: Largest sample rate (Hz) and FFT length lfkit accepts: far above any recording, far below an overflow.
MAX_SR, MAX_N_FFT = 10_000_000, 2**20
#: Longest clip ``synth`` makes, seconds (one hour).
MAX_DURATION_S = 3600.0

#: Device a network runs on unless ``--device`` says otherwise.
DEFAULT_DEVICE = "cpu"
#: Decision threshold on a probability-like score when neither the model nor the records carry one.
DEFAULT_THRESHOLD = 0.5


class _JsonConfig:
    """Mixin: ``to_dict``/``from_dict``/``to_json``/``from_json`` for frozen dataclasses."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ParameterError(f"{cls.__name__}: unknown field(s) {', '.join(unknown)}")
        kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()}
        return cls(**kw)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str):
        return cls.from_dict(json.loads(text))

    def replace(self, **changes):
        """A copy with ``changes`` applied (``None`` is a value: ``fmax=None`` means Nyquist)."""
        return dataclasses.replace(self, **changes)



@dataclass(frozen=True)
class RunConfig(_JsonConfig):
    """Defaults of the options every command that runs over many clips shares.

    Parameters
    ----------
    workers : int
        Processes reading and transforming files.
    seed : int
        Random seed.
    device : str
        ``cpu`` or ``cuda``.
    strict : bool
        Refuse audio at another sample rate (else resampled).
    quiet : bool
        No progress bar or notices.
    """

    workers: int = 1
    seed: int = 0
    device: str = DEFAULT_DEVICE
    strict: bool = False
    quiet: bool = False
