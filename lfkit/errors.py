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

__all__ = ["LfkitError", "ParameterError", "DataError", "check_positive_int", "check_choice"]


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
