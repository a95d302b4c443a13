"""Bounded resources: worker processes and the size of networks a model file may ask for.

A model file is data from anywhere: before anything is allocated its
architecture arguments are checked against sane limits, and the number of
parameters they imply is compared with the weights the file really holds.
"""

from __future__ import annotations

import os

from lfkit.errors import ParameterError

__all__ = ["available_cores", "cap_workers", "usable_device", "die_with_parent", "MAX_PARAMETERS", "MAX_ARCH_INT"]

#: Most parameters a model file may hold (about 2 GB of float32 weights: far above any lfkit architecture).
MAX_PARAMETERS = 500_000_000
#: Largest integer an architecture argument (channels, hidden size, layers) may take.
MAX_ARCH_INT = 65_536


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system says, else the CPU count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def cap_workers(workers, notice=None) -> int:
    """``--workers`` checked and capped at the cores available, with a notice when capped.

    Parameters
    ----------
    workers : int
        Processes the user asked for (>= 1).
    notice : callable(str) or None
        Told when the number is lowered.

    Returns
    -------
    int
        ``min(workers, available_cores())``.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"workers={workers!r} must be a positive integer")
    cores = available_cores()
    if workers > cores:
        if notice:
            notice(f"workers={workers} is more than the {cores} core(s) available; using {cores}")
        return cores
    return workers


_watching = []  # this process's parent-watching thread, once started (per process, never configuration)


def die_with_parent(interval_s: float = 0.5) -> None:
    """In a worker process: exit as soon as the process that started it is gone (even after ``kill -9``).

    joblib's loky workers otherwise outlive a killed parent. A daemon thread
    polls the parent's id; when the worker has been handed to another parent
    it leaves at once. Idempotent: call it at the start of every task.
    """
    if _watching:
        return
    import threading
    import time

    parent = os.getppid()

    def watch():
        while True:
            time.sleep(interval_s)
            if os.getppid() != parent:
                os._exit(1)

    t = threading.Thread(target=watch, name="lfkit-die-with-parent", daemon=True)
    t.start()
    _watching.append(t)


def usable_device(name: str) -> str:
    """``name`` if torch can run on that device here, else a ParameterError naming it (imports torch)."""
    import torch

    from lfkit.errors import check_device

    check_device(name)
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError(f"device={name!r}: no CUDA device is available here; use --device cpu")
    if name == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ParameterError(f"device={name!r}: no Apple GPU (MPS) is available here; use --device cpu")
    return name
