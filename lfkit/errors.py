"""The error hierarchy of lfkit.

Every error lfkit raises on purpose derives from :class:`LfkitError`. The
command-line shell maps them to exit codes in one place:

* :class:`ParameterError` (also a ``ValueError``): a bad argument or option,
  exit code 2. Messages name the parameter and the value, for example
  ``hop_length=0 must be a positive integer``.
* :class:`DataError`: the data itself is unusable (empty, corrupt, truncated,
  NaN, missing files), exit code 1.
* :class:`LfkitError`: any other run-time failure, exit code 1.
"""

from __future__ import annotations

import math

__all__ = ["LfkitError", "ParameterError", "DataError", "check_positive_int", "check_choice", "check_number",
           "check_chunk", "check_seed", "check_device"]


class LfkitError(Exception):
    """Base class of every error lfkit raises on purpose."""

    exit_code = 1


class ParameterError(LfkitError, ValueError):
    """A parameter has a value lfkit cannot use (exit code 2)."""

    exit_code = 2


class DataError(LfkitError):
    """Input data is missing, corrupt or unusable (exit code 1)."""

    exit_code = 1


def check_positive_int(name: str, value) -> int:
    """Return ``value`` as an int, or raise :class:`ParameterError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ParameterError(f"{name}={value!r} must be a positive integer")
    return int(value)


def check_choice(name: str, value: str, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise naming them all."""
    choices = list(choices)
    if value not in choices:
        raise ParameterError(f"{name}={value!r} is not known; choose one of: {', '.join(choices)}")
    return value


def check_number(name: str, value, lo=None, hi=None, *, lo_open: bool = False, hi_open: bool = False,
                 unit: str = "") -> float:
    """Return ``value`` as a float if it is a finite number in the range, else raise naming ``name``.

    ``lo`` and ``hi`` are inclusive unless ``lo_open`` / ``hi_open``; None leaves that side open.
    NaN and infinities are always refused (the first thing ``--fmin nan`` would otherwise slip past).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{name}={value!r} must be a number")
    v = float(value)
    low = "(" if lo_open else "["
    high = ")" if hi_open else "]"
    span = f"{low}{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}{high}"
    if not math.isfinite(v):
        raise ParameterError(f"{name}={value!r} must be a finite number in {span}{unit}")
    if (lo is not None and (v < lo or (lo_open and v == lo))) or (hi is not None and (v > hi or (hi_open and v == hi))):
        raise ParameterError(f"{name}={value!r} must be in {span}{unit}")
    return v


def check_chunk(chunk_s, chunk_hop_s) -> None:
    """``--chunk`` and ``--chunk-hop``: None, or finite positive seconds (a hop only with a chunk)."""
    if chunk_s is not None:
        check_number("chunk", chunk_s, 0, 1e6, lo_open=True, unit=" s")
    if chunk_hop_s is not None:
        if chunk_s is None:
            raise ParameterError(f"chunk_hop={chunk_hop_s!r} needs --chunk")
        check_number("chunk_hop", chunk_hop_s, 0, 1e6, lo_open=True, unit=" s")


def check_seed(value) -> int:
    """A random seed: an integer in [0, 2**32 - 1] (numpy's seed sequences take no negatives)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
        raise ParameterError(f"seed={value!r} must be an integer in [0, 4294967295]")
    return int(value)


def check_device(value) -> str:
    """A torch device name lfkit runs on: ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` (checked without torch)."""
    import re

    if not isinstance(value, str) or not re.fullmatch(r"cpu|mps|cuda(:\d{1,3})?", value):
        raise ParameterError(f"device={value!r} is not a device lfkit runs on (cpu, cuda, cuda:N, mps)")
    return value
