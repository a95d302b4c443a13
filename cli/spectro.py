"""``lfkit spectro``: audio to spectrogram arrays (.npy)."""

from __future__ import annotations

import dataclasses

import typer

from lfkit.config import ReadConfig
from lfkit_cli import options as opt
from lfkit_cli.common import Progress, boundary, problem_reporter, reporter
from lfkit_cli.frontend_opts import with_frontend

_R = ReadConfig()


@boundary("spectro")
@with_frontend
def spectro(
    inputs: list[str] = typer.Argument(
        None, help="Audio files, folders, labels.csv, or '-' (standard input; also when none are given "
        "and standard input is a pipe or file)."),
    output: str = opt.output("-", "A .npy file (or '-') for one clip; a folder for many."),
    chunk: float = opt.chunk("one (frequency, time) array"),
    chunk_hop: float = opt.chunk_hop(),
    channel: int = opt.channel(),
    workers: int = opt.workers(),
    scheduler: str = opt.scheduler(),
    strict: bool = opt.strict("Refuse a folder of mixed sample rates (else resampled)."),
    max_bytes: int = typer.Option(_R.max_bytes, "--max-bytes", help="Refuse an input file larger than this."),
    resume: bool = opt.resume("Finish the OUTPUT.partial folder an interrupted run left: clips already there "
                              "are skipped."),
    quiet: bool = opt.quiet(),
    frontend_changes: dict = None,
):
    """Compute spectrograms: float32 (frequency, time), or (chunk, frequency, time) with --chunk.

    With --kind auto and a labelled dataset: print the front end training would choose (its flags on
    standard output, the candidates on standard error), or write the spectrograms with it given -o DIR.
    """
    from lfkit.cluster import scheduled

    notice = reporter("spectro", quiet)
    with scheduled(scheduler, inputs or (), workers, notice) as (executor, workers):
        return _spectro(inputs, output, chunk, chunk_hop, channel, workers, strict, max_bytes, resume, quiet,
                        frontend_changes, notice, executor)


def _spectro(inputs, output, chunk, chunk_hop, channel, workers, strict, max_bytes, resume, quiet,
             frontend_changes, notice, executor):
    from lfkit.config import FrontendConfig
    from lfkit.frontend import run_spectro

    if frontend_changes.get("kind") == "auto":  # the choice training makes; written with it given -o DIR
        from lfkit.autofront import frontend_flags
        from lfkit.data import spectro_auto

        cfg, _, n_bad = spectro_auto(inputs, output, frontend_changes, chunk, chunk_hop, channel, workers,
                                     notice=notice, report=problem_reporter("spectro"),
                                     progress=Progress("spectro", quiet), strict=strict, max_bytes=max_bytes,
                                     resume=resume, executor=executor)
        if output in (None, "-"):
            typer.echo(frontend_flags(cfg))
        return n_bad
    # dataclasses.replace, not FrontendConfig.replace: that drops None, and fmax=None means 'nyquist'
    cfg = dataclasses.replace(FrontendConfig(), **frontend_changes)
    return run_spectro(inputs, output, cfg, chunk, chunk_hop, channel, workers,
                       report=problem_reporter("spectro"), progress=Progress("spectro", quiet),
                       notice=notice, strict=strict, max_bytes=max_bytes, resume=resume, executor=executor)


def register(app: typer.Typer) -> None:
    app.command("spectro", epilog=opt.example(
        "lfkit spectro clip.wav -o clip.npy",
        "lfkit synth --tones 120,340 --seed 7 | lfkit spectro - --kind logmel --n-mels 64 > clip.npy",
        "lfkit spectro train -o specs --workers 2",
        "lfkit spectro train -o specs --scheduler local:2"))(spectro)
