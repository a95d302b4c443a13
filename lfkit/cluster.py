"""Running lfkit's parallel map on a Dask cluster: ``--scheduler local:N``, ``ADDRESS`` or a scheduler file.

:func:`executor_for` turns the ``--scheduler`` text into a
``concurrent.futures`` executor over a ``dask.distributed`` client, checked
before any work is sent: the scheduler answers, it has workers, every worker
imports the same lfkit version, and the workers can read the inputs. The
executor is what :func:`lfkit.parallel.map_batches` takes as ``executor=``,
so one machine's processes and a cluster are the same call.

dask and distributed are an optional extra (``pip install 'lfkit[dask]'``);
they are imported only inside the functions that need them.

A worker that dies while it runs a batch loses only that batch: the scheduler
sends it to another worker (up to distributed's ``allowed-failures``), and a
batch whose task raised is run again up to :data:`RETRIES` times.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass

from lfkit.errors import DataError, LfkitError, ParameterError

__all__ = ["Scheduler", "parse_scheduler", "executor_for", "scheduled", "check_workers", "sample_paths",
           "cluster_workers", "RETRIES", "CONNECT_TIMEOUT_S", "WORKER_TIMEOUT_S", "PATH_SAMPLE", "WARM_MODULES",
           "LOCAL_WORKER_CONFIG"]

#: Times a batch whose task raised (not an lfkit per-item error, which is returned) is run again.
RETRIES = 2
#: Seconds to wait for a scheduler to answer before giving up.
CONNECT_TIMEOUT_S = 5.0
#: Seconds to wait for a remote scheduler to have at least one worker.
WORKER_TIMEOUT_S = 30.0
#: Input paths checked on every worker before the job starts (first, last and evenly between).
PATH_SAMPLE = 16
#: Modules every worker imports during the check: what reading and transforming clips needs, so the
#: first batches do not pay for the imports (and a worker that lacks one is named before work is sent).
WARM_MODULES = ("soundfile", "scipy.signal", "lfkit.features", "lfkit.segments")

#: Dask settings for ``local:N`` workers: no statistical profiler (it samples every thread's stack every
#: 10 ms), and the event-loop tick and monitors woken less often. Each wake-up takes the GIL from the
#: thread that reads clips; on a loaded 2-core machine these cut a worker's CPU per batch by about a
#: quarter (16 batches of 64 clips: 1.95 -> 1.7 CPU s; joblib's processes took 1.2 s).
LOCAL_WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
}

_NEEDS_EXTRA = "--scheduler needs the dask extra: pip install 'lfkit[dask]'"
_FORMS = "use local:N, tcp://HOST:PORT, HOST:PORT or a scheduler JSON file"


@dataclass(frozen=True)
class Scheduler:
    """A parsed ``--scheduler``: exactly one of ``n_workers`` (local), ``address`` or ``file`` is set.

    Attributes
    ----------
    text : str
        What the user typed.
    n_workers : int or None
        ``local:N``: worker processes to start on this machine (before capping at the cores).
    address : str or None
        A running scheduler, ``tcp://HOST:PORT`` (or another distributed protocol).
    file : str or None
        A scheduler file written by ``dask scheduler --scheduler-file``.
    """

    text: str
    n_workers: int | None = None
    address: str | None = None
    file: str | None = None

    @property
    def is_local(self) -> bool:
        return self.n_workers is not None


def parse_scheduler(text) -> Scheduler:
    """Read ``--scheduler``: ``local:N``, ``tcp://HOST:PORT``, ``HOST:PORT`` or a scheduler JSON file.

    Parameters
    ----------
    text : str

    Returns
    -------
    Scheduler

    Raises
    ------
    ParameterError
        Naming ``--scheduler`` and the value, for anything else.
    """
    if not isinstance(text, str) or not text.strip():
        raise ParameterError(f"--scheduler={text!r} is empty; {_FORMS}")
    t = text.strip()
    if t.lower().startswith("local"):
        m = re.fullmatch(r"local:(\d{1,4})", t, flags=re.IGNORECASE)
        if not m or int(m.group(1)) < 1:
            raise ParameterError(f"--scheduler={text!r}: a local cluster is local:N with N >= 1 workers")
        return Scheduler(text=text, n_workers=int(m.group(1)))
    m = re.fullmatch(r"(tcp|tls|ws|wss|inproc|ucx)://(.+)", t)
    if m:
        if m.group(1) != "inproc":
            _check_host_port(text, m.group(2))
        return Scheduler(text=text, address=t)
    if t.endswith(".json") or os.path.isfile(t):
        if not os.path.isfile(t):
            raise ParameterError(f"--scheduler={text!r}: no such scheduler file")
        return Scheduler(text=text, file=t)
    if re.fullmatch(r"[^\s/:]+:\d+|\[[0-9a-fA-F:]+\]:\d+", t):
        _check_host_port(text, t)
        return Scheduler(text=text, address=f"tcp://{t}")
    raise ParameterError(f"--scheduler={text!r} is not a scheduler; {_FORMS}")


def _check_host_port(text: str, hostport: str) -> None:
    m = re.fullmatch(r"(\[[0-9a-fA-F:]+\]|[^\s/:\[\]]+):(\d+)/?", hostport)
    if not m:
        raise ParameterError(f"--scheduler={text!r}: an address is HOST:PORT")
    if not 1 <= int(m.group(2)) <= 65535:
        raise ParameterError(f"--scheduler={text!r}: port {m.group(2)} is not in [1, 65535]")


def sample_paths(inputs, k: int = PATH_SAMPLE) -> list[str]:
    """Up to ``k`` of ``inputs`` (first, last and evenly between), standard input (``-``) left out."""
    paths = [os.fspath(p) for p in inputs if os.fspath(p) != "-"]
    if len(paths) <= k:
        return paths
    idx = sorted({round(i * (len(paths) - 1) / (k - 1)) for i in range(k)})
    return [paths[i] for i in idx]


def _probe_factory():
    """A worker-side check, pickled by value so that it runs on a worker that lacks lfkit.

    The function is built inside this one, so cloudpickle cannot find it by
    name and ships its code rather than a reference to ``lfkit.cluster``.
    """

    def probe(paths, modules):
        import importlib
        import os as _os

        err = ""
        try:
            import lfkit as _lf

            version = _lf.__version__
        except Exception as exc:  # noqa: BLE001  (any failure to import is the answer)
            version = None
            err = f"{type(exc).__name__}: {exc}"
        else:
            for m in modules:
                try:
                    importlib.import_module(m)
                except Exception as exc:  # noqa: BLE001
                    err = f"cannot import {m} ({type(exc).__name__}: {exc})"
                    break
        unreadable = [p for p in paths if not (_os.path.exists(p) and _os.access(p, _os.R_OK))]
        return {"version": version, "error": err, "unreadable": unreadable, "cwd": _os.getcwd()}

    return probe


def check_workers(client, scheduler_text: str, inputs=(), modules=WARM_MODULES) -> int:
    """Check every worker of ``client``: it imports this lfkit version and can read a sample of ``inputs``.

    Parameters
    ----------
    client : distributed.Client
    scheduler_text : str
        The ``--scheduler`` value, for the messages.
    inputs : iterable of path-like
        Input paths the job will send to the workers, as the workers will see them.
    modules : sequence of str
        Modules each worker imports (and must be able to).

    Returns
    -------
    int
        The number of workers.

    Raises
    ------
    DataError
        Naming ``--scheduler`` and the first worker that fails, with why.
    """
    from lfkit import __version__

    paths = sample_paths(inputs)
    answers = client.run(_probe_factory(), paths, list(modules))
    if not answers:
        raise DataError(f"--scheduler={scheduler_text!r}: the scheduler has no workers")
    for worker, a in sorted(answers.items()):
        if a["version"] is None:
            raise DataError(f"--scheduler={scheduler_text!r}: worker {worker} cannot import lfkit ({a['error']}); "
                            f"install lfkit {__version__} with its dask extra on every worker")
        if a["version"] != __version__:
            raise DataError(f"--scheduler={scheduler_text!r}: worker {worker} runs lfkit {a['version']}, "
                            f"this machine {__version__}; install the same version on every worker")
        if a["error"]:
            raise DataError(f"--scheduler={scheduler_text!r}: worker {worker} {a['error']}; "
                            f"install lfkit {__version__} with its dependencies on every worker")
    for worker, a in sorted(answers.items()):
        if a["unreadable"]:
            bad = a["unreadable"][0]
            hint = (f" (a relative path, read from the worker's folder {a['cwd']}; give absolute paths)"
                    if not os.path.isabs(bad) else " (inputs must sit on a filesystem every worker mounts at the same path)")
            raise DataError(f"--scheduler={scheduler_text!r}: worker {worker} cannot read input {bad!r}{hint}; "
                            f"{len(a['unreadable'])} of the {len(paths)} paths checked are unreadable there")
    return len(answers)


def cluster_workers(executor) -> int:
    """Workers the scheduler behind an executor from :func:`executor_for` has now (for batch sizes)."""
    client = getattr(executor, "_client", None)
    if client is None:
        return 1
    return max(1, len(client.scheduler_info().get("workers", {})))


@contextlib.contextmanager
def executor_for(scheduler, *, inputs=(), notice=None, connect_timeout_s: float = CONNECT_TIMEOUT_S,
                 worker_timeout_s: float = WORKER_TIMEOUT_S, warm_modules=WARM_MODULES):
    """A checked ``concurrent.futures`` executor on the Dask cluster ``--scheduler`` names.

    ``local:N`` starts a ``LocalCluster`` of N single-threaded worker
    processes (N capped at the cores available) and closes it on exit; an
    address or scheduler file connects to a running cluster and leaves it
    running (only the client is closed).

    Parameters
    ----------
    scheduler : str or Scheduler
        The ``--scheduler`` value.
    inputs : iterable of path-like
        Input paths, checked on every worker (a sample of them) before work is sent.
    notice : callable(str) or None
        Told when ``local:N`` is lowered to the cores available.
    connect_timeout_s : float
        Seconds to wait for the scheduler to answer.
    worker_timeout_s : float
        Seconds to wait for a remote scheduler to have a worker.
    warm_modules : sequence of str
        Modules every worker imports before work is sent (see :data:`WARM_MODULES`).

    Yields
    ------
    distributed.cfexecutor.ClientExecutor
        Its ``submit`` sends a task with ``retries=RETRIES`` and ``pure=False``;
        ``cluster_workers(executor)`` counts the workers.

    Raises
    ------
    ParameterError
        A bad ``--scheduler`` value, or the dask extra is not installed.
    DataError
        The scheduler does not answer or has no workers; a worker lacks lfkit
        (or one of ``warm_modules``), runs another version, or cannot read the inputs.
    """
    sched = scheduler if isinstance(scheduler, Scheduler) else parse_scheduler(scheduler)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ParameterError(_NEEDS_EXTRA) from None
    inputs = list(inputs)
    with contextlib.ExitStack() as stack:
        if sched.is_local:
            from lfkit.resources import cap_workers

            n = cap_workers(sched.n_workers, notice=notice)
            import logging

            import dask

            try:
                with dask.config.set(LOCAL_WORKER_CONFIG):
                    local = LocalCluster(
                        n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                        # no dashboard, and its small HTTP server on a free port (8787 may be another cluster's)
                        scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"},
                        # workers' shutdown chatter (heartbeats to a closed scheduler) would break the
                        # one-line rule; task failures still reach the client as exceptions
                        silence_logs=logging.CRITICAL)
            except Exception as exc:  # noqa: BLE001  (ports, process limits: one line, not distributed's traceback)
                raise LfkitError(f"--scheduler={sched.text!r}: could not start a local Dask cluster "
                                 f"({type(exc).__name__}: {str(exc)[:200]})") from None
            stack.enter_context(_quiet(local))
            client = stack.enter_context(_quiet(Client(local, set_as_default=False)))
        else:
            client = stack.enter_context(_quiet(_connect(Client, sched, connect_timeout_s)))
            try:
                client.wait_for_workers(1, timeout=worker_timeout_s)
            except (TimeoutError, OSError):
                raise DataError(f"--scheduler={sched.text!r}: the scheduler has no workers "
                                f"(waited {worker_timeout_s:g} s); start some with: dask worker {_where(sched)}") from None
        check_workers(client, sched.text, inputs, warm_modules)
        executor = client.get_executor(retries=RETRIES, pure=False)
        try:
            yield executor
        finally:
            executor.shutdown(wait=False)


@contextlib.contextmanager
def scheduled(scheduler, inputs, workers: int, notice=None):
    """What a command reads with: ``(executor, workers)``.

    Without ``scheduler``: ``(None, workers)``, the local map. With it: the
    checked executor of :func:`executor_for` (the inputs on disk, made
    absolute, are checked on the workers) and the cluster's worker count,
    which sizes the batches sent: one ``with`` for both.

    Examples
    --------
    >>> with scheduled(None, ["a.wav"], 2) as (ex, workers):
    ...     ex is None and workers == 2
    True
    """
    if scheduler is None:
        yield None, workers
        return
    on_disk = [os.path.abspath(i) for i in inputs if str(i) != "-"]
    with executor_for(scheduler, inputs=on_disk, notice=notice) as ex:
        yield ex, cluster_workers(ex)


def _where(sched: Scheduler) -> str:
    return f"--scheduler-file {sched.file}" if sched.file else sched.address


def _connect(Client, sched: Scheduler, timeout_s: float):
    """A client on a running scheduler, or one DataError line when it does not answer in ``timeout_s``."""
    import logging

    if sched.file:
        try:
            import json

            with open(sched.file, encoding="utf-8") as f:
                address = json.load(f)["address"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(f"--scheduler={sched.text!r}: cannot read the scheduler file "
                            f"({type(exc).__name__}: {exc})") from None
    else:
        address = sched.address
    _reachable(sched, address, timeout_s)
    try:
        with _silenced(logging.getLogger("distributed")):
            return Client(address, timeout=timeout_s, set_as_default=False)
    except Exception as exc:  # noqa: BLE001  (whatever answered is not a usable scheduler)
        why = ("did not answer" if isinstance(exc, TimeoutError) else str(exc)[:120] if isinstance(exc, OSError)
               else "what answered does not speak the Dask protocol")
        raise DataError(f"--scheduler={sched.text!r}: no Dask scheduler at {address} ({why}; "
                        f"waited {timeout_s:g} s)") from None


def _reachable(sched: Scheduler, address: str, timeout_s: float) -> None:
    """A plain TCP connect first: a refused or unroutable address fails at once, in one line."""
    import socket

    m = re.fullmatch(r"(?:tcp|tls|ws|wss)://\[?([^\]]+?)\]?:(\d+)/?", address)
    if not m:
        return
    try:
        socket.create_connection((m.group(1), int(m.group(2))), timeout=timeout_s).close()
    except OSError as exc:
        why = "timed out" if isinstance(exc, (socket.timeout, TimeoutError)) else (exc.strerror or type(exc).__name__)
        raise DataError(f"--scheduler={sched.text!r}: no Dask scheduler at {address} ({why}; "
                        f"waited at most {timeout_s:g} s)") from None


@contextlib.contextmanager
def _silenced(logger):
    level = logger.level
    logger.setLevel(100)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def _quiet(closable):
    """Enter ``closable`` and close it on exit, without distributed's shutdown chatter on standard error."""
    import logging

    try:
        yield closable
    finally:
        with _silenced(logging.getLogger("distributed")):
            closable.close()
