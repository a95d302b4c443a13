"""A training run's side files: the epoch log, written as epochs finish, and a checkpoint to resume from.

:func:`training_files` wraps one ``train-*`` run. It refuses a ``--log``
that is the model path (or the checkpoint's), streams one JSON line per
epoch to ``LOG.partial`` (flushed) and renames it to ``LOG`` at the end, and
hands the training loop a :class:`Checkpoint`: ``OUTPUT.ckpt``, rewritten
atomically after every epoch with everything the loop needs to go on (the
weights now and at the best epoch, the optimiser, every random generator,
the history). With ``resume`` the loop starts after the last epoch saved and
ends with the same weights as an uninterrupted run; on success the
checkpoint (lfkit's own file) is removed. Checkpoints load with
``weights_only=True`` like model files.
"""

from __future__ import annotations

import contextlib
import io as _io
import json
from pathlib import Path

from lfkit import io, outputs
from lfkit.errors import DataError, ParameterError

__all__ = ["Checkpoint", "EpochLog", "training_files", "CHECKPOINT_SUFFIX"]

#: ``model.pt`` -> ``model.pt.ckpt``.
CHECKPOINT_SUFFIX = ".ckpt"
_TAG = "lfkit-checkpoint"


class EpochLog:
    """One JSON line per epoch, appended to ``LOG.partial`` and flushed; ``finish`` renames it to ``LOG``.

    A new run starts the partial file afresh (lfkit wrote it); a resumed one
    keeps its complete lines up to the checkpoint's epoch (:meth:`keep`).
    """

    def __init__(self, path, resume: bool = False):
        import os

        from lfkit.streaming import partial_path

        self.path, self.partial = Path(path), partial_path(path)
        if self.path.is_dir():
            raise ParameterError(f"log={str(path)!r} is a directory, expected a file path")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.partial, "r+b" if resume and self.partial.exists() else "wb")
        self._fh.seek(0, os.SEEK_END)
        self.trimmed = not resume

    def keep(self, n_epochs: int) -> None:
        """Resuming after ``n_epochs``: keep the complete lines of those epochs only."""
        self._fh.seek(0)
        data = self._fh.read()
        kept = []
        for line in data[: data.rfind(b"\n") + 1].split(b"\n")[:-1]:
            try:
                if json.loads(line).get("epoch", 0) <= n_epochs:
                    kept.append(line + b"\n")
            except (ValueError, AttributeError):
                break
        self._fh.seek(0)
        self._fh.truncate(0)
        self._fh.write(b"".join(kept))
        self._fh.flush()
        self.trimmed = True

    def __call__(self, rec: dict) -> None:
        self._fh.write((io.dumps(rec) + "\n").encode("utf-8"))
        self._fh.flush()

    def finish(self) -> None:
        import os

        self._fh.close()
        outputs.check_file_replaceable("log", self.path)
        os.replace(self.partial, self.path)
        outputs.note_written(self.path)

    def close(self) -> None:
        """Interrupted or failed: keep the epochs written for ``--resume`` (an empty file is removed)."""
        empty = self._fh.seek(0, 2) == 0
        self._fh.close()
        if empty:
            self.partial.unlink(missing_ok=True)


def _plain(obj):
    """History records as plain JSON values (no numpy scalars: the checkpoint loads with weights_only)."""
    return json.loads(io.dumps(obj))


class Checkpoint:
    """``OUTPUT.ckpt``: the state of a training loop after its last finished epoch.

    The loop calls :meth:`restore` once (it returns None when starting
    fresh) and :meth:`save` after every epoch.
    """

    def __init__(self, path, resume: bool = False, notice=None):
        self.path = Path(path)
        self.resume = resume
        self.notice = notice
        self.restored_epochs = 0

    def restore(self, run: dict, net, opt, rngs):
        """Load the saved state into ``net``, ``opt`` and the numpy generators ``rngs``.

        Parameters
        ----------
        run : dict
            What identifies this run (sizes, seed, settings); a checkpoint of
            another run is refused.

        Returns
        -------
        dict or None
            ``history``, ``best``, ``best_state``, ``stale``; None to start at epoch 1.
        """
        import torch

        if not (self.resume and self.path.exists()):
            return None
        try:
            doc = torch.load(_io.BytesIO(self.path.read_bytes()), map_location="cpu", weights_only=True)
        except Exception as exc:  # a damaged or foreign file: weights_only refuses anything that runs code
            raise DataError(f"{self.path}: not a readable lfkit checkpoint ({str(exc).splitlines()[0][:200]})") from None
        if not isinstance(doc, dict) or doc.get("format") != _TAG:
            raise DataError(f"{self.path}: not an lfkit checkpoint")
        if doc.get("run") != _plain(run):
            raise ParameterError(f"resume: {self.path} was written by a run with other data or settings; "
                                 "delete it to start again")
        try:
            net.load_state_dict(doc["net"])
            opt.load_state_dict(doc["opt"])
            for g, state in zip(rngs, doc["rngs"]):
                g.bit_generator.state = json.loads(state)
            torch.set_rng_state(doc["torch_rng"])
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise DataError(f"{self.path}: damaged lfkit checkpoint ({' '.join(str(exc).split())[:200]})") from None
        best = dict(doc["best"], _key=tuple(doc["best_key"])) if doc.get("best") is not None else None
        self.restored_epochs = len(doc["history"])
        if self.notice:
            self.notice(f"resuming after epoch {self.restored_epochs} from {self.path}")
        return {"history": doc["history"], "best": best, "best_state": doc["best_state"], "stale": doc["stale"]}

    def save(self, run: dict, net, opt, rngs, history, best, best_state, stale: int) -> None:
        """Write the loop's state atomically (the previous checkpoint stays until the new one is complete)."""
        import torch

        b = None if best is None else {k: v for k, v in best.items() if k != "_key"}
        doc = {"format": _TAG, "run": _plain(run), "net": {k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
               "opt": opt.state_dict(), "rngs": [json.dumps(g.bit_generator.state) for g in rngs],
               "torch_rng": torch.get_rng_state(), "history": _plain(history), "best": _plain(b),
               "best_key": None if best is None else [float(x) for x in best["_key"]],
               "best_state": {k: v.detach().cpu().clone() for k, v in best_state.items()}, "stale": int(stale)}
        buf = _io.BytesIO()
        torch.save(doc, buf)
        io.write_bytes(buf.getvalue(), self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


@contextlib.contextmanager
def training_files(output, log_path=None, resume: bool = False, hooks: dict | None = None, notice=None,
                   checkpoint: bool = True):
    """Wrap one training run: yields the hooks to pass to the trainer (log writer and checkpoint added).

    Parameters
    ----------
    output : str
        The model file the run writes.
    log_path : str or None
        ``--log``: one JSON line per epoch.
    resume : bool
        Go on from ``OUTPUT.ckpt`` (and ``LOG.partial``).
    hooks : dict or None
        The caller's hooks (``on_epoch``); they are kept.
    checkpoint : bool
        Whether the trainer's loop saves checkpoints (False: the log only).

    Raises
    ------
    ParameterError
        ``--log`` is the model path; ``OUTPUT.ckpt`` exists without ``resume``;
        the model goes to standard output while a checkpoint is wanted.
    """
    if str(output) == io.STDIO:
        if resume:
            raise ParameterError("resume needs a model file (-o FILE), not standard output")
        yield dict(hooks or {})
        return
    ckpt_path = Path(f"{output}{CHECKPOINT_SUFFIX}")
    outs = [("output", output), ("checkpoint", ckpt_path)] + ([("log", log_path)] if log_path else [])
    io.check_outputs(outs, [])
    if resume and not checkpoint:
        raise ParameterError("resume: this trainer keeps no checkpoint")
    if ckpt_path.exists() and not resume and checkpoint:
        raise ParameterError(f"output={str(output)!r}: {ckpt_path} is left by an interrupted run; "
                             "add --resume to go on from it, or delete it to start again")
    if resume and not ckpt_path.exists() and notice:
        notice(f"no checkpoint {ckpt_path}: starting at epoch 1")
    ckpt = Checkpoint(ckpt_path, resume, notice)
    log = EpochLog(log_path, resume=resume and ckpt_path.exists()) if log_path else None
    run_hooks = dict(hooks or {})
    inner = run_hooks.get("on_epoch")

    def on_epoch(rec):
        if log is not None:
            if not log.trimmed:
                log.keep(ckpt.restored_epochs)
            log(rec)
        if inner is not None:
            inner(rec)

    run_hooks["on_epoch"] = on_epoch
    if checkpoint:
        run_hooks["checkpoint"] = ckpt
    try:
        yield run_hooks
    except BaseException:
        if log is not None:
            log.close()
        raise
    if log is not None:
        if not log.trimmed:
            log.keep(ckpt.restored_epochs)
        log.finish()
    if checkpoint:
        ckpt.remove()
