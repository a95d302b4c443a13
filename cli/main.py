"""The ``lfkit`` console script: a Typer app over one module per subcommand."""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_early(signum, frame):  # pragma: no cover - timing-dependent
    """Ctrl-C while the shell is still importing: nothing is written yet, so leave at once, quietly."""
    print("lfkit: error: interrupted", file=sys.stderr, flush=True)
    os._exit(130)


_AS_SCRIPT = __name__ == "__main__" or os.path.basename(sys.argv[0] if sys.argv else "") == "lfkit"
if _AS_SCRIPT and hasattr(signal, "SIGINT") and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted_early)  # main() restores Python's handler before any command runs

import click  # noqa: E402
import typer  # noqa: E402
from typer.core import TyperCommand, TyperGroup  # noqa: E402

from lfkit import __version__  # noqa: E402
from lfkit_cli import clips, embed, eval_cmd, export, score, spectro, synth, train_binary, train_oneclass, train_siamese  # noqa: E402
from lfkit_cli.options import LfkitCommand, example, unescape_help  # noqa: E402



def _without_debug(args: list[str]) -> list[str]:
    """Drop every ``--debug`` before a ``--`` (it may follow the subcommand) and turn tracebacks on."""
    end = args.index("--") if "--" in args else len(args)
    if "--debug" in args[:end]:
        os.environ["LFKIT_DEBUG"] = "1"
        args = [a for a in args[:end] if a != "--debug"] + args[end:]
    return args


class LfkitGroup(TyperGroup):
    """The root command: click's usage errors become one line ``lfkit CMD: error: ...`` and exit 2."""

    def format_help(self, ctx, formatter):
        super().format_help(ctx, formatter)
        formatter.buffer[:] = unescape_help(formatter.buffer)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = _without_debug(list(sys.argv[1:] if args is None else args))
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            name = ctx.info_name if ctx is not None and ctx.parent is not None else None
            message = " ".join(exc.format_message().split())
            message = message[:1].lower() + message[1:]
            print(f"lfkit{' ' + name if name else ''}: error: {message}", file=sys.stderr, flush=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            print("lfkit: error: interrupted", file=sys.stderr, flush=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)  # without standalone mode, click returns an Exit's code


app = typer.Typer(
    cls=LfkitGroup,
    name="lfkit",
    help="Find low-feature audio signatures: narrowband tones buried in noise.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=example("lfkit synth --tones 120,340,777 --snr -30 --seed 7 | lfkit spectro - > clip.npy"),
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


for module in (synth, spectro, train_binary, train_oneclass, train_siamese, embed, score, eval_cmd, clips, export):
    module.register(app)
for _command in app.registered_commands:  # every command's help: [default: x], not \[default: x]
    if _command.cls in (None, TyperCommand):
        _command.cls = LfkitCommand


def main() -> None:
    """Entry point: restore SIGPIPE so ``lfkit ... | head`` ends quietly, then run."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if signal.getsignal(signal.SIGINT) is _interrupted_early:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # commands clean up their temporary files
    app()


if __name__ == "__main__":
    main()
