"""What every subcommand shares: the error boundary, messages and progress."""

from __future__ import annotations

import functools
import os
import sys
import traceback

import typer

from lfkit.errors import LfkitError

#: Exit codes of every command.
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _debug() -> bool:
    """Tracebacks wanted: ``lfkit --debug CMD`` (which sets ``LFKIT_DEBUG``) or ``LFKIT_DEBUG=1``."""
    return os.environ.get("LFKIT_DEBUG", "") not in ("", "0")


def error(command: str, message: str) -> None:
    """Print ``lfkit <command>: error: <message>`` on standard error."""
    print(f"lfkit {command}: error: {message}", file=sys.stderr, flush=True)


def warn(command: str, message: str) -> None:
    """Print ``lfkit <command>: <message>`` on standard error."""
    print(f"lfkit {command}: {message}", file=sys.stderr, flush=True)


def boundary(command: str):
    """Decorate a command: lfkit errors become one line and an exit code.

    ParameterError exits 2, other lfkit errors 1, Ctrl-C 130; a command that
    returns a number > 0 (a batch that met that many bad files) exits 1, never
    the count itself (2 bad files must not read as a usage error, 256 as success). Tracebacks
    are printed only with ``lfkit --debug``.
    """

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                code = fn(*args, **kwargs)
            except LfkitError as exc:
                if _debug():
                    traceback.print_exc()
                error(command, str(exc))
                raise typer.Exit(exc.exit_code) from None
            except KeyboardInterrupt:
                error(command, "interrupted")
                raise typer.Exit(EXIT_INTERRUPTED) from None
            except (typer.Exit, typer.Abort, SystemExit):
                raise
            except MemoryError:
                error(command, "out of memory")
                raise typer.Exit(EXIT_FAILURE) from None
            except OSError as exc:
                if _debug():
                    traceback.print_exc()
                error(command, f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
                raise typer.Exit(EXIT_FAILURE) from None
            except Exception as exc:  # a bug in lfkit: still one line, the traceback on request
                if _debug():
                    traceback.print_exc()
                detail = " ".join(str(exc).split())[:300]
                error(command, f"internal error, please report it with the output of 'lfkit --debug {command} ...': "
                               f"{type(exc).__name__}: {detail}")
                raise typer.Exit(EXIT_FAILURE) from None
            if code:
                raise typer.Exit(EXIT_FAILURE)

        return inner

    return wrap


class Progress:
    """A one-line progress bar on standard error, drawn only on a terminal and without ``-q``.

    Call it as ``progress(done, total)``; it is the hook the library takes.
    """

    def __init__(self, label: str, quiet: bool = False):
        self.label = label
        self.on = not quiet and sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.on or total <= 0:
            return
        width = 30
        k = int(width * done / total)
        sys.stderr.write(f"\r{self.label} [{'#' * k}{'.' * (width - k)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def reporter(command: str, quiet: bool = False):
    """A ``log(message)`` hook printing ``lfkit <command>: message`` unless quiet."""

    def log(message: str) -> None:
        if not quiet:
            warn(command, message)

    return log


def problem_reporter(command: str):
    """A hook for bad files in a batch: always printed, never silenced by ``-q``."""

    def report(message: str) -> None:
        error(command, message)

    return report


def epoch_printer(command: str, quiet: bool = False):
    """An ``on_epoch`` hook printing epoch, loss and validation numbers on standard error."""

    def on_epoch(rec: dict) -> None:
        if quiet:
            return
        parts = [f"epoch {rec['epoch']:3d}", f"loss {rec['loss']:.4f}"]
        for k in ("val_loss", "val_accuracy", "val_auc", "val_eer"):
            if rec.get(k) is not None:
                parts.append(f"{k} {rec[k]:.4f}")
        parts.append(f"{rec.get('seconds', 0):.1f}s")
        if rec.get("eta_s") is not None:
            from lfkit.eta import format_eta

            parts.append(f"eta {format_eta(rec['eta_s'])}")
        if rec.get("best"):
            parts.append("*")
        warn(command, "  ".join(parts))

    return on_epoch


def channel_option():
    """``--channel``, the same on every command that reads audio (default: the mean of all channels)."""
    return typer.Option(None, "--channel", help="Keep this channel (0-based) instead of averaging.")
