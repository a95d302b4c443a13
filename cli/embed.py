"""``lfkit embed``: a model's embeddings of clips, as an (N, D) float32 NPY and a CSV beside it."""

from __future__ import annotations

import typer

from lfkit_cli.common import boundary, channel_option, problem_reporter, reporter


@boundary("embed")
def embed(
    model: str = typer.Argument(..., help="Model file (*.pt): binary, one-class or siamese."),
    inputs: list[str] = typer.Argument(..., help="Audio files, folders, labels.csv, .npy spectrograms, or '-'."),
    output: str = typer.Option(None, "-o", "--output", help="NPY file; its CSV (row, path, start, end, labels) goes beside it [one input: standard output]."),
    chunk: float = typer.Option(None, "--chunk", help="Embed windows of this many seconds, one row each."),
    chunk_hop: float = typer.Option(None, "--chunk-hop", help="Seconds between chunk starts [default: --chunk]."),
    strict: bool = typer.Option(False, "--strict", help="Refuse audio at another sample rate than the model's."),
    channel: int = channel_option(),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    resume: bool = typer.Option(False, "--resume", help="Finish the .partial files an interrupted run left: inputs already there are skipped."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No notices."),
):
    """Write the model's embedding (penultimate layer, extractor output) of every clip or chunk."""
    from lfkit.embedding import embed as run

    return run(model, inputs, output, chunk_s=chunk, chunk_hop_s=chunk_hop, strict=strict, channel=channel, device=device, resume=resume,
               report=problem_reporter("embed"), notice=reporter("embed", quiet))


def register(app: typer.Typer) -> None:
    app.command("embed")(embed)
