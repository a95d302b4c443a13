"""Checks of a loaded model dictionary: every field's type and range, before anything is allocated.

A model file is data from anywhere. :func:`check_model_doc` refuses wrong
types, non-finite thresholds or weights, unknown regimes and sizes beyond
:mod:`lfkit.resources`' limits with one :class:`~lfkit.errors.DataError`
line; :func:`check_network_size` builds the network on torch's ``meta``
device (no memory) and compares its parameter count and shapes with the
weights the file holds, so a tampered ``hidden=3e7`` is refused, not allocated.
"""

from __future__ import annotations

import math

from lfkit.errors import DataError
from lfkit.resources import MAX_ARCH_INT, MAX_PARAMETERS

__all__ = ["REGIMES", "check_model_doc", "check_network_size"]

#: Every regime a model file may declare.
REGIMES = ("binary", "oneclass", "siamese", "knowntone", "baseline")
#: Largest sample rate (Hz), training clip (samples) and spectrogram side a model may declare.
MAX_SR, MAX_SAMPLES, MAX_SIDE = 10_000_000, 2**31 - 1, 1_000_000


def _bad(path, what: str):
    return DataError(f"{path}: damaged lfkit model ({what})")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_kwarg(path, name: str, v, depth: int = 0) -> None:
    if depth > 3:
        raise _bad(path, f"arch_kwargs {name} is nested too deeply")
    if v is None or isinstance(v, (bool, str)):
        return
    if _is_int(v):
        if abs(v) > MAX_ARCH_INT:
            raise _bad(path, f"arch_kwargs {name}={v} is beyond the limit {MAX_ARCH_INT}")
        return
    if isinstance(v, float):
        if not math.isfinite(v) or abs(v) > MAX_ARCH_INT:
            raise _bad(path, f"arch_kwargs {name}={v!r} is not a finite number within {MAX_ARCH_INT}")
        return
    if isinstance(v, (list, tuple)):
        if len(v) > 64:
            raise _bad(path, f"arch_kwargs {name} has {len(v)} items")
        for x in v:
            _check_kwarg(path, name, x, depth + 1)
        return
    raise _bad(path, f"arch_kwargs {name} is a {type(v).__name__}, not a number, string or list")


def _check_input(path, info) -> None:
    if not isinstance(info, dict):
        raise _bad(path, "input is not a dictionary")
    if info.get("kind", "spectrogram") not in ("spectrogram", "waveform"):
        raise _bad(path, f"input kind={info.get('kind')!r} is not spectrogram or waveform")
    for key, hi in (("sr", MAX_SR), ("n_samples", MAX_SAMPLES)):
        v = info.get(key)
        if v is not None and not (_is_int(v) and 0 < v <= hi):
            raise _bad(path, f"input {key}={v!r} is not an integer in [1, {hi}]")
    shape = info.get("shape")
    if shape is not None and not (isinstance(shape, (list, tuple)) and 1 <= len(shape) <= 2
                                  and all(_is_int(s) and 0 < s <= MAX_SIDE for s in shape)):
        raise _bad(path, f"input shape={shape!r} is not one or two positive sizes")


def _check_weights(path, state) -> None:
    """Weights as loaded: a dictionary of named numpy arrays (no torch needed to check them)."""
    import numpy as np

    if not isinstance(state, dict):
        raise _bad(path, "state_dict is not a dictionary")
    total = 0
    for k, t in state.items():
        if not isinstance(k, str) or not isinstance(t, np.ndarray) or t.dtype.kind not in "biuf":
            raise _bad(path, f"state_dict entry {k!r} is not a named tensor (a numeric array)")
        total += t.size
        if t.dtype.kind == "f" and not bool(np.isfinite(t).all()):
            raise _bad(path, f"weights {k} hold NaN or Inf")
    if total > MAX_PARAMETERS:
        raise _bad(path, f"{total} weights, more than the limit {MAX_PARAMETERS}")


def check_model_doc(doc: dict, path) -> None:
    """Check the fields of a model dictionary as read (before the front end is parsed).

    Raises
    ------
    DataError
        A field of the wrong type, a non-finite threshold or weight, an
        unknown regime, or sizes beyond the limits.
    """
    regime = doc.get("regime")
    if regime not in REGIMES:
        raise DataError(f"{path}: model regime {regime!r} is not known to this lfkit (known: {', '.join(REGIMES)})")
    arch = doc.get("arch")
    if arch is not None and not isinstance(arch, str):
        raise _bad(path, f"arch is a {type(arch).__name__}, not a name")
    kwargs = doc.get("arch_kwargs") or {}
    if not isinstance(kwargs, dict):
        raise _bad(path, "arch_kwargs is not a dictionary")
    for name, v in kwargs.items():
        if not isinstance(name, str):
            raise _bad(path, f"arch_kwargs key {name!r} is not a name")
        _check_kwarg(path, name, v)
    if not isinstance(doc.get("frontend"), dict):
        raise _bad(path, "frontend is not a dictionary")
    _check_input(path, doc.get("input"))
    th = doc.get("threshold")
    if th is not None and (isinstance(th, bool) or not isinstance(th, (int, float)) or not math.isfinite(th)):
        raise _bad(path, f"threshold={th!r} is not a finite number")
    classes = doc.get("classes") or []
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise _bad(path, "classes is not a list of names")
    if doc.get("positive") is not None and not isinstance(doc["positive"], str):
        raise _bad(path, f"positive={doc['positive']!r} is not a name")
    for key in ("training", "extra"):
        if doc.get(key) is not None and not isinstance(doc[key], dict):
            raise _bad(path, f"{key} is not a dictionary")
    _check_weights(path, doc.get("state_dict") or {})


def check_network_size(doc: dict) -> None:
    """Build ``doc``'s network on the meta device and refuse it when it is too big or its shapes differ.

    Nothing is allocated: meta tensors have shapes but no storage.
    """
    import torch

    from lfkit.models import create_model

    name = doc.get("name", "model")
    try:
        with torch.device("meta"):
            net = create_model(doc["arch"], **(doc.get("arch_kwargs") or {}))
    except Exception as exc:  # untrusted arguments: any failure of the constructor is a damaged file
        detail = " ".join(str(exc).split())[:200]
        raise DataError(f"{name}: weights do not fit arch={doc['arch']!r} (its arguments cannot build it: {detail})") from None
    total = sum(p.numel() for p in net.parameters())
    if total > MAX_PARAMETERS:
        raise DataError(f"{name}: damaged lfkit model (arch_kwargs ask for {total} parameters, "
                        f"more than the limit {MAX_PARAMETERS})")
    state = doc.get("state_dict") or {}
    for k, t in net.state_dict().items():
        have = state.get(k)
        if have is not None and tuple(have.shape) != tuple(t.shape):
            raise DataError(f"{name}: weights do not fit arch={doc['arch']!r} ({k} is {tuple(have.shape)}, "
                            f"the architecture needs {tuple(t.shape)})")
