"""``lfkit score``: one JSON record per clip (or chunk), higher score = more like the target."""

from __future__ import annotations

import typer

from lfkit_cli.common import Progress, boundary, channel_option, problem_reporter, reporter


@boundary("score")
def score(
    paths: list[str] = typer.Argument(..., help="Model file(s) (*.pt), then inputs: audio, folders, labels.csv, .npy, or '-'."),
    output: str = typer.Option("-", "-o", "--output", help="JSON Lines file ('-': standard output)."),
    threshold: float = typer.Option(None, "--threshold", help="Decision threshold [default: the model's]."),
    chunk: float = typer.Option(None, "--chunk", help="Score windows of this many seconds, one record each."),
    chunk_hop: float = typer.Option(None, "--chunk-hop", help="Seconds between chunk starts [default: --chunk]."),
    workers: int = typer.Option(1, "--workers", help="Processes reading and transforming files (at most the cores available)."),
    strict: bool = typer.Option(False, "--strict", help="Refuse audio at another sample rate than the model's."),
    channel: int = channel_option(),
    enroll: str = typer.Option(None, "--enroll", help="Siamese: enrolled references (dataset folder or embed output)."),
    pairs: str = typer.Option(None, "--pairs", help="Siamese: a pairs.csv (columns a,b) to verify."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    resume: bool = typer.Option(False, "--resume", help="Finish the OUTPUT.partial an interrupted run left: inputs already there are skipped."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress or notices."),
):
    """Score clips with one model, or average several (e.g. a 1-D and a 2-D network)."""
    from lfkit.scoring import run_score, split_models

    models, inputs = split_models(paths)
    return run_score(models, inputs, output, threshold=threshold, chunk_s=chunk, chunk_hop_s=chunk_hop,
                     workers=workers, strict=strict, channel=channel, device=device, enroll=enroll, pairs=pairs, resume=resume,
                     report=problem_reporter("score"), notice=reporter("score", quiet),
                     progress=Progress("score", quiet))


def register(app: typer.Typer) -> None:
    app.command("score")(score)
