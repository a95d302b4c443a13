"""The option groups every command shares, declared once, with their defaults from :mod:`lfkit.config`.

* run: ``--workers``, ``--seed``, ``--device``, ``-q/--quiet``, ``--strict``;
* training: ``--lr``, ``--lr-search``, ``--log``;
* chunking: ``--chunk``, ``--chunk-hop``;
* front end: :mod:`lfkit_cli.frontend_opts`;
* output: ``-o/--output``, ``--resume``.

Each function returns a fresh ``typer.Option`` to put in a command's
signature (``quiet: bool = options.quiet()``). Names with a fixed list of
values are shown as choices (:class:`RegistryChoice`), read from the registry
that owns them only when a command's help is printed or its value checked, so
``lfkit --help`` imports neither numpy nor torch. :class:`LfkitCommand` prints
help without the backslashes typer puts before ``[default: ...]`` when rich is
installed, and :func:`example` builds the example every command's help ends with.
"""

from __future__ import annotations

import click
import typer
from typer.core import TyperCommand

from lfkit.config import RunConfig

_RUN = RunConfig()

#: The one help text of ``-q/--quiet``.
QUIET_HELP = "No progress bar or notices (errors are always printed)."
#: The one help text of ``--workers``.
WORKERS_HELP = "Processes reading and transforming files (at most the cores available)."
#: The one help text of ``--seed``.
SEED_HELP = "Random seed: the same seed gives the same result."
#: The one help text of ``--device``.
DEVICE_HELP = "Where networks run: cpu, cuda, cuda:N or mps."


def unescape_help(lines: list[str]) -> list[str]:
    """Drop the backslash typer writes before ``[`` (rich markup escaping) from help text lines."""
    return [line.replace("\\[", "[") for line in lines]


class LfkitCommand(TyperCommand):
    """A typer command whose help shows ``[default: x]``, never ``\\[default: x]``."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_help(ctx, formatter)
        formatter.buffer[:] = unescape_help(formatter.buffer)


class RegistryChoice(click.Choice):
    """A ``click.Choice`` whose names come from a registry, looked up on first use.

    Parameters
    ----------
    loader : callable
        Returns the names (an iterable of str); called once, when the help is
        printed or a value is checked.
    """

    def __init__(self, loader, case_sensitive: bool = True):
        self._loader = loader
        self._names = None
        self.case_sensitive = case_sensitive

    @property
    def choices(self):
        if self._names is None:
            self._names = tuple(self._loader())
        return self._names

    @choices.setter
    def choices(self, value):  # click may assign; keep what it gives
        self._names = tuple(value)

    def convert(self, value, param, ctx):
        """``value`` if it is a name; else a usage error worded as the library words it (exit 2)."""
        if value in self.choices:
            return value
        from lfkit.errors import ParameterError, check_choice

        try:
            check_choice(param.name if param is not None else "value", value, self.choices)
        except ParameterError as exc:
            self.fail(str(exc), param, ctx)
        return value


def choice(loader) -> RegistryChoice:
    """A :class:`RegistryChoice` over ``loader()``'s names, or over a fixed tuple of names."""
    if isinstance(loader, (tuple, list)):
        names = tuple(loader)
        return RegistryChoice(lambda: names)
    return RegistryChoice(loader)


def example(*commands: str) -> str:
    """A help epilog: ``Example:`` and the command lines, printed as written (click's ``\\b``)."""
    title = "Example:" if len(commands) == 1 else "Examples:"
    return "\b\n" + title + "\n" + "\n".join("  " + c for c in commands)


# ----------------------------------------------------------------------------- run


def workers(default: int = _RUN.workers) -> typer.models.OptionInfo:
    """``--workers N``."""
    return typer.Option(default, "--workers", help=WORKERS_HELP)


def scheduler() -> typer.models.OptionInfo:
    """``--scheduler local:N|ADDRESS``: the same job on a Dask cluster (:func:`lfkit.cluster.scheduled`)."""
    return typer.Option(None, "--scheduler", metavar="local:N|ADDRESS",
                        help="Run on a Dask cluster: local:N or a scheduler address (pip install 'lfkit[dask]').")


def seed(default: int = _RUN.seed) -> typer.models.OptionInfo:
    """``--seed N``."""
    return typer.Option(default, "--seed", help=SEED_HELP)


def device(default: str = _RUN.device) -> typer.models.OptionInfo:
    """``--device cpu|cuda|cuda:N|mps`` (checked by the library)."""
    return typer.Option(default, "--device", help=DEVICE_HELP)


#: The one help text of ``--channel``.
CHANNEL_HELP = "Keep this channel (0-based) instead of averaging."


def channel(help: str = CHANNEL_HELP) -> typer.models.OptionInfo:
    """``--channel N``, the same on every command that reads audio (default: the mean of all channels)."""
    return typer.Option(None, "--channel", help=help)


def quiet() -> typer.models.OptionInfo:
    """``-q/--quiet``."""
    return typer.Option(_RUN.quiet, "-q", "--quiet", help=QUIET_HELP)


def strict(help: str) -> typer.models.OptionInfo:
    """``--strict``: ``help`` says what the command then refuses."""
    return typer.Option(_RUN.strict, "--strict", help=help)


# ----------------------------------------------------------------------------- chunking


def chunk(each: str) -> typer.models.OptionInfo:
    """``--chunk SECONDS``: ``each`` names what one window gives (a record, a row, an array)."""
    return typer.Option(None, "--chunk", help=f"Cut clips into windows of this many seconds, {each} each.")


def chunk_hop() -> typer.models.OptionInfo:
    """``--chunk-hop SECONDS``."""
    return typer.Option(None, "--chunk-hop", help="Seconds between chunk starts [default: --chunk].")


# ----------------------------------------------------------------------------- output


def output(default, help: str) -> typer.models.OptionInfo:
    """``-o/--output PATH``; ``default`` ``...`` makes it required."""
    return typer.Option(default, "-o", "--output", help=help)


def resume(help: str) -> typer.models.OptionInfo:
    """``--resume``: ``help`` names the leftovers of an interrupted run that it finishes."""
    return typer.Option(False, "--resume", help=help)


# ----------------------------------------------------------------------------- training


def lr(default: float) -> typer.models.OptionInfo:
    """``--lr RATE``: the training configuration's default."""
    return typer.Option(default, "--lr", help="Adam learning rate.")


def lr_search() -> typer.models.OptionInfo:
    """``--lr-search RATES``: the learning-rate search every network regime offers (:mod:`lfkit.lr_search`)."""
    return typer.Option(None, "--lr-search", metavar="RATES",
                        help="Candidate learning rates, e.g. 3e-4,1e-3,3e-3: each trains a fresh network a few epochs "
                             "from the same seed, the lowest validation loss is used (replaces --lr).")


def log() -> typer.models.OptionInfo:
    """``--log FILE``: the per-epoch history, written line by line."""
    return typer.Option(None, "--log", help="Write the per-epoch history here (JSON Lines), line by line.")


# ----------------------------------------------------------------------------- registries


def network_names() -> tuple:
    """Every architecture of :mod:`lfkit.models` (no torch imported)."""
    from lfkit.models.registry import model_names

    return model_names()


def binary_arch_names() -> tuple:
    """``train-binary --arch``: the networks, then the reference detectors."""
    from lfkit.baselines import BASELINES

    return network_names() + tuple(BASELINES)


def extractor_names() -> tuple:
    """``train-oneclass --extractor``."""
    from lfkit.oneclass import extractor_names as names

    return tuple(names())


def detector_names() -> tuple:
    """``train-oneclass --detector``."""
    from lfkit.detectors import detector_names as names

    return tuple(names())
