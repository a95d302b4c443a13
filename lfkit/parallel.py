"""One parallel map and one network-over-batches loop, used by every command.

:func:`map_batches` runs a function over many items (clips to read and
transform) in batches: in this process, in joblib's loky worker processes, or
on any :class:`concurrent.futures.Executor` passed in (a thread or process
pool, or a ``dask.distributed`` client's ``get_executor()``). Results come
back one per item, in input order; an :class:`~lfkit.errors.LfkitError` met
on one item is that item's result, so one bad file never stops a batch.

:func:`net_batches` runs a network (or any array function) over slices of
``NET_BATCH`` rows; it is the one place that batch size is declared.
"""

from __future__ import annotations

import os
from collections import deque

import numpy as np

from lfkit.errors import LfkitError

__all__ = ["map_batches", "batch_size_for", "warm_workers", "net_batches", "NET_BATCH", "MAX_MAP_BATCH"]

#: Rows per forward pass of a network (scoring, embedding, validation).
NET_BATCH = 256
#: Most items one task of :func:`map_batches` carries.
MAX_MAP_BATCH = 64


def batch_size_for(n_items: int, workers: int) -> int:
    """Items per task: about four tasks per worker, between 1 and :data:`MAX_MAP_BATCH`.

    Parameters
    ----------
    n_items : int
        Items to map.
    workers : int
        Processes (or executor slots) sharing them.

    Returns
    -------
    int
        ``max(1, min(MAX_MAP_BATCH, n_items // (workers * 4)))``.
    """
    return max(1, min(MAX_MAP_BATCH, n_items // (max(1, workers) * 4)))


def _run_batch(fn, items, origin_pid: int):
    """One task: ``fn`` over ``items``; an LfkitError is that item's result, anything else propagates."""
    if os.getpid() != origin_pid:  # a worker process: leave when the process that started it is killed
        from lfkit.resources import die_with_parent

        die_with_parent()
    out = []
    for item in items:
        try:
            out.append(fn(item))
        except LfkitError as exc:
            out.append(exc)
    return out


def map_batches(fn, items, *, workers: int = 1, executor=None, batch_size: int | None = None):
    """Yield ``fn(item)`` for every item, in input order, computed in batches.

    Parameters
    ----------
    fn : callable(item)
        A picklable module-level function (extra arguments through
        :func:`functools.partial`).
    items : sequence
        What to map; each travels to a worker with its batch.
    workers : int
        Processes for the default pool; also sizes the batches.
    executor : concurrent.futures.Executor or None
        Where batches run. None: in this process when ``workers < 2`` or there
        is only one batch, else joblib's loky processes (``n_jobs=workers``).
        Otherwise each batch is ``executor.submit``-ted, with a bounded number
        in flight.
    batch_size : int or None
        Items per batch; default :func:`batch_size_for`.

    Returns
    -------
    iterator
        ``fn(item)``, or the :class:`~lfkit.errors.LfkitError` it raised, per
        item. Any other exception propagates (and ends the map). With the
        process pool, the first batches are sent when this returns, so the
        workers read while the caller does other work (``lfkit score`` imports
        torch then).
    """
    items = list(items)
    size = batch_size or batch_size_for(len(items), workers)
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    pid = os.getpid()
    if executor is not None:
        results = _submit_in_order(executor, fn, batches, pid, max(2, 2 * workers))
    elif workers > 1 and len(batches) > 1:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=workers, return_as="generator")(delayed(_run_batch)(fn, b, pid) for b in batches)
    else:
        results = (_run_batch(fn, b, pid) for b in batches)
    return (r for part in results for r in part)


def _submit_in_order(executor, fn, batches, pid: int, window: int):
    """Batches' results from ``executor``, in order, with at most ``window`` submitted and not yet taken."""
    pending = deque()
    todo = iter(batches)
    try:
        for b in todo:
            pending.append(executor.submit(_run_batch, fn, b, pid))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for f in pending:  # the consumer stopped (or a batch failed): drop what has not started
            f.cancel()


def _warm(_):
    """Worker start-up: import what reading and transforming need; leave when the parent is killed."""
    import soundfile  # noqa: F401

    from lfkit.resources import die_with_parent

    die_with_parent()

    from lfkit import features  # noqa: F401

    return 0


def warm_workers(workers: int):
    """Start joblib's reusable worker pool in a thread; returns the thread (or None for one worker).

    Called while the main process imports torch, so the readers are ready
    when the first batch is sent.
    """
    if workers < 2:
        return None
    import threading

    def run():
        from joblib import Parallel, delayed

        Parallel(n_jobs=workers)(delayed(_warm)(i) for i in range(workers))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def net_batches(fn, X, batch_size: int = NET_BATCH):
    """``fn`` over slices of ``batch_size`` rows of ``X``, concatenated.

    Parameters
    ----------
    fn : callable(X_slice)
        Returns an array with one row per input row (or a list, one item per row).
    X : array-like (numpy array or torch tensor), shape (N, ...)
    batch_size : int
        Rows per call (default :data:`NET_BATCH`).

    Returns
    -------
    np.ndarray or list
        The slices' results joined along the first axis (lists as lists);
        None when ``X`` has no rows.
    """
    parts = [fn(X[i : i + batch_size]) for i in range(0, len(X), batch_size)]
    if not parts:
        return None
    if isinstance(parts[0], list):
        return [r for p in parts for r in p]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
