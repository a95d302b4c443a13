"""The ``lfkit`` console script: a Typer app over one module per subcommand."""

from __future__ import annotations

import os
import signal

import typer

from lfkit import __version__
from lfkit_cli import embed, eval_cmd, score, spectro, synth, train_binary, train_oneclass, train_siamese

app = typer.Typer(
    name="lfkit",
    help="Find low-feature audio signatures: narrowband tones buried in noise.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool):
    if value:
        print(f"lfkit {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Print tracebacks for errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
):
    """lfkit: synth -> spectro -> train-* -> score -> eval, each a Unix filter.

    Data goes to standard output, messages to standard error; exit codes are
    0 (ok), 1 (run-time or data failure), 2 (bad usage or parameter), 130
    (interrupted).
    """
    if debug:
        os.environ["LFKIT_DEBUG"] = "1"


for module in (synth, spectro, train_binary, train_oneclass, train_siamese, embed, score, eval_cmd):
    module.register(app)


def main() -> None:
    """Entry point: restore SIGPIPE so ``lfkit ... | head`` ends quietly, then run."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    app()


if __name__ == "__main__":
    main()
