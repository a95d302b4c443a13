"""``lfkit score``: one JSON record per clip (or chunk), higher score = more like the target."""

from __future__ import annotations

import typer

from lfkit_cli import options as opt
from lfkit_cli.common import Progress, boundary, problem_reporter, reporter


def _writer_names():
    from lfkit.writers import WRITERS

    return WRITERS


@boundary("score")
def score(
    paths: list[str] = typer.Argument(..., help="Model file(s) (*.pt), then inputs: audio, folders, labels.csv, .npy, or '-'."),
    output: str = opt.output("-", "Records file ('-': standard output), in --format."),
    fmt: str = typer.Option("jsonl", "--format", click_type=opt.choice(_writer_names),
                            help="Records as JSON Lines, CSV, a Raven Pro selection table or Audacity labels."),
    min_score: float = typer.Option(None, "--min-score", help="Keep only windows (or clips) scoring at least this."),
    detections: bool = typer.Option(False, "--detections", help="Merge consecutive windows at or above the "
                                    "threshold into events: begin, end, low and high frequency, peak score."),
    gap: float = typer.Option(0.0, "--gap", help="With --detections: join events separated by at most this, seconds."),
    threshold: float = typer.Option(None, "--threshold", help="Decision threshold [default: the model's]."),
    chunk: float = opt.chunk("one record"),
    chunk_hop: float = opt.chunk_hop(),
    workers: int = opt.workers(),
    scheduler: str = opt.scheduler(),
    strict: bool = opt.strict("Refuse audio at another sample rate than the model's."),
    channel: int = opt.channel(),
    enroll: str = typer.Option(None, "--enroll", help="Siamese: enrolled references (dataset folder or embed output)."),
    pairs: str = typer.Option(None, "--pairs", help="Siamese: a pairs.csv (columns a,b) to verify."),
    device: str = opt.device(),
    resume: bool = opt.resume("Finish the OUTPUT.partial an interrupted run left: inputs already there are skipped."),
    quiet: bool = opt.quiet(),
):
    """Score clips with one model, or average several (e.g. a 1-D and a 2-D network)."""
    from lfkit.scoring import run_score, split_models

    models, inputs = split_models(paths)
    return run_score(models, inputs, output, threshold=threshold, chunk_s=chunk, chunk_hop_s=chunk_hop,
                     workers=workers, strict=strict, channel=channel, device=device, enroll=enroll, pairs=pairs, resume=resume,
                     report=problem_reporter("score"), notice=reporter("score", quiet),
                     progress=Progress("score", quiet), fmt=fmt, min_score=min_score, detections=detections,
                     gap_s=gap, scheduler=scheduler)


def register(app: typer.Typer) -> None:
    app.command("score", epilog=opt.example(
        "lfkit score speccnn.pt test -o scores.jsonl",
        "lfkit score speccnn.pt long.wav --chunk 1 --chunk-hop 0.5 --workers 2 > scores.jsonl",
        "lfkit score speccnn.pt archive/ --chunk 1 --chunk-hop 0.5 --detections --format raven -o detections.txt"))(score)
