"""The spectrogram flags shared by ``spectro`` and the ``train-*`` commands.

They are declared once here, with their defaults read from
:class:`lfkit.config.FrontendConfig`; a flag left out keeps the default (or,
for data that are already spectrograms, the settings they were made with).
Training on audio with none of these flags chooses the front end from the
data (:mod:`lfkit.autofront`); ``--kind auto`` does so keeping the flags given.
"""

from __future__ import annotations

import functools
import inspect

import typer

from lfkit.config import AUTO_KIND, NORMS, SPECTRO_KINDS, FrontendConfig
from lfkit.errors import ParameterError
from lfkit_cli.options import choice

_D = FrontendConfig()

_FLAGS = {
    "kind": (str, f"Spectrogram kind [default: {_D.kind}; train-*: chosen from the data when no spectrogram "
             "flag is given; auto: chosen, keeping the flags given]"),
    "n_fft": (int, f"FFT length in samples [default: {_D.n_fft}]"),
    "hop_length": (int, f"Samples between frames [default: {_D.hop_length}]"),
    "fmin": (float, f"Lowest frequency kept, Hz [default: {_D.fmin:g}]"),
    "fmax": (str, f"Highest frequency kept, Hz, or 'nyquist' [default: {_D.fmax:g}]"),
    "n_mels": (int, f"Mel bands (mel kinds) [default: {_D.n_mels}]"),
    "n_mfcc": (int, f"MFCC coefficients [default: {_D.n_mfcc}]"),
    "norm": (str, f"Per-clip normalisation [default: {_D.norm}]"),
    "sr": (int, "Resample to this rate (Hz) first [default: keep the file's]"),
}
#: The flags whose values are names from a fixed list, shown as choices.
_CHOICES = {"kind": SPECTRO_KINDS + (AUTO_KIND,), "norm": NORMS}


def frontend_changes(values: dict) -> dict:
    """The flags the user gave, as FrontendConfig fields (``fmax='nyquist'`` -> None)."""
    out = {k: v for k, v in values.items() if v is not None}
    if "fmax" in out:
        s = str(out["fmax"]).strip().lower()
        if s in ("nyquist", "none"):
            out["fmax"] = None
        else:
            try:
                out["fmax"] = float(s)
            except ValueError:
                raise ParameterError(f"fmax={values['fmax']!r} must be a frequency in Hz or 'nyquist'") from None
    return out


def with_frontend(fn):
    """Add the front-end flags to a command; it receives ``frontend_changes`` (a dict)."""
    sig = inspect.signature(fn)
    params = [p for p in sig.parameters.values() if p.name != "frontend_changes"]
    for name, (typ, help_) in _FLAGS.items():
        flag = "--" + name.replace("_", "-")
        params.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=typer.Option(None, flag, help=help_, rich_help_panel="Spectrogram",
                                     click_type=choice(_CHOICES[name]) if name in _CHOICES else None),
                annotation=typ | None,
            )
        )

    @functools.wraps(fn)
    def inner(*args, **kwargs):
        given = {k: kwargs.pop(k) for k in _FLAGS}
        return fn(*args, frontend_changes=frontend_changes(given), **kwargs)

    inner.__signature__ = sig.replace(parameters=params)
    return inner
